package api

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/labels"
)

// fullServer is the API with every part a process can have.
func fullServer(t *testing.T) *Server {
	t.Helper()
	base := alertServer(t, "tok")
	x, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	st, err := labels.Open(filepath.Join(t.TempDir(), "labels.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	o := base.o
	o.Searcher, o.Labels, o.Pprof, o.Dashboard = x, st, true, http.NotFoundHandler()
	o.Status = func(context.Context) health.Status { return health.Status{} }
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// loadOpenAPI loads and validates the document once for the package's tests.
var loadOpenAPI = func() func(t *testing.T) *openapi3.T {
	var once sync.Once
	var doc *openapi3.T
	var err error
	return func(t *testing.T) *openapi3.T {
		t.Helper()
		once.Do(func() {
			if doc, err = openapi3.NewLoader().LoadFromData(OpenAPI()); err == nil {
				err = doc.Validate(context.Background())
			}
		})
		if err != nil {
			t.Fatalf("openapi document: %v", err)
		}
		return doc
	}
}()

// docPath is the path as the OpenAPI document names a route's.
func (rt route) docPath() (method, path string) {
	method, path, _ = strings.Cut(rt.pattern, " ")
	if rt.doc != "" {
		return method, rt.doc
	}
	return method, strings.ReplaceAll(path, "...}", "}")
}

// Every route the server has is in the OpenAPI document, and every
// operation the document has is a route: a route added without its
// documentation, or documented and gone, fails here.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{}
	for _, rt := range fullServer(t).routes() {
		if rt.internal {
			continue
		}
		m, p := rt.docPath()
		served[m+" "+p] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			documented[m+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, k := range missing {
		t.Errorf("route %s is not in api/openapi.json", k)
	}
	for _, k := range extra {
		t.Errorf("api/openapi.json documents %s, which no route serves", k)
	}
	if len(served) < 25 {
		t.Errorf("only %d routes: the full server lost some", len(served))
	}
}

// checkAnswer holds one real answer of a route (pattern as the mux
// matched it) to the OpenAPI document: its status is documented, and a
// JSON body matches the documented schema.
func checkAnswer(t *testing.T, s *Server, pattern string, status int, body []byte) {
	t.Helper()
	if pattern == "" {
		return // answered before routing (404, 405)
	}
	doc := loadOpenAPI(t)
	for _, rt := range s.routes() {
		if rt.pattern != pattern {
			continue
		}
		method, path := rt.docPath()
		op := doc.Paths.Find(path).GetOperation(method)
		if op == nil {
			t.Fatalf("openapi: no %s %s", method, path)
		}
		resp := op.Responses.Status(status)
		if resp == nil {
			t.Errorf("openapi: %s %s does not document status %d (body %s)", method, path, status, body)
			return
		}
		if len(body) == 0 {
			return
		}
		mt := resp.Value.Content.Get("application/json")
		if mt == nil {
			t.Errorf("openapi: %s %s %d has no JSON schema", method, path, status)
			return
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("%s %s: not JSON: %q", method, path, body)
			return
		}
		if err := mt.Schema.Value.VisitJSON(v); err != nil {
			t.Errorf("%s %s %d does not match the OpenAPI document: %v\nbody: %s", method, path, status, err, body)
		}
		return
	}
	t.Errorf("no route has pattern %q", pattern)
}
