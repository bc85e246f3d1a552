package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// URL is the API's base URL, http://127.0.0.1:port.
func (p *Process) URL() string { return "http://" + p.App.APIAddr() }

// Get sends GET path to the API and returns the status code. Unless out
// is nil, the body must be JSON and is decoded into out.
func (p *Process) Get(tb testing.TB, path string, out any) int {
	tb.Helper()
	return p.Do(tb, http.MethodGet, path, "", nil, out)
}

// Do sends a request to the API and returns the status code. A non-nil
// body is sent as JSON (a json.RawMessage as it is); a non-empty token as
// a bearer token. Unless out is nil, the answer must be JSON and is
// decoded into out. A request that cannot be sent fails the test.
func (p *Process) Do(tb testing.TB, method, path, token string, body, out any) int {
	tb.Helper()
	code, b := p.do(tb, method, path, token, body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return code
}

// GetJSON is Get for an answer that must be 200 OK.
func (p *Process) GetJSON(tb testing.TB, path string, out any) {
	tb.Helper()
	code, b := p.do(tb, http.MethodGet, path, "", nil)
	if code != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatalf("GET %s: decode %q: %v", path, b, err)
	}
}

// PostJSON is Do for a POST whose answer must be a success (2xx); the
// answer is not read.
func (p *Process) PostJSON(tb testing.TB, path, token string, body any) {
	tb.Helper()
	if code, b := p.do(tb, http.MethodPost, path, token, body); code/100 != 2 {
		tb.Fatalf("POST %s: %d %s", path, code, b)
	}
}

func (p *Process) do(tb testing.TB, method, path, token string, body any) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatalf("%s %s: encode body: %v", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.URL()+path, rd)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	return res.StatusCode, b
}
