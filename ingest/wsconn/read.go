package wsconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// errOversize marks a WebSocket message larger than a source accepts. The
// message is read and discarded, so the connection (and the stream's
// position) survives it.
var errOversize = errors.New("message too large")

// readMessage reads the next WebSocket message into buf, waiting at most
// stall for it to start and finish. A message over max bytes is drained and
// reported with errOversize and its size.
func readMessage(conn *websocket.Conn, buf *bytes.Buffer, max int, stall time.Duration) (int, []byte, error) {
	if err := conn.SetReadDeadline(time.Now().Add(stall)); err != nil {
		return 0, nil, err
	}
	mt, r, err := conn.NextReader()
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return mt, nil, err
	}
	if n > int64(max) {
		rest, err := io.Copy(io.Discard, r)
		if err != nil {
			return mt, nil, err
		}
		return mt, nil, fmt.Errorf("%w: %d bytes, limit %d", errOversize, n+rest, max)
	}
	return mt, buf.Bytes(), nil
}

// isTimeout reports whether err is a read deadline passing: the stall
// watchdog firing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
