package api

import (
	"context"
	"net/http"
	"time"
)

// statusTimeout bounds how long GET /v1/status waits for the brokers'
// offsets; a status page that hangs with the cluster says nothing.
const statusTimeout = 2 * time.Second

// status answers GET /v1/status: the source's state and each stage's lag
// and watermark (see package health).
func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), statusTimeout)
	defer cancel()
	writeJSON(w, http.StatusOK, s.o.Status(ctx))
}
