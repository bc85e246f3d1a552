package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// net/http answers a request it cannot parse (431 for headers over
// MaxHeaderBytes, 400 for a malformed request line or header, 501 for an
// unknown transfer encoding) itself, before any handler runs, in plain
// text, and offers no hook to change that. jsonErrorListener rewrites those
// answers on the connection so every error the API gives is JSON. They are
// told apart by their header block, which only that code path writes:
// Content-Type before Connection and no Date (http.Header.Write sorts keys
// and the server adds a Date to every response a handler writes).
type jsonErrorListener struct {
	net.Listener
	maxHeaderBytes int
}

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c, maxHeaderBytes: l.maxHeaderBytes}, nil
}

type jsonErrorConn struct {
	net.Conn
	maxHeaderBytes int
}

// plainErrorHeaders is the header block net/http writes with its own
// error answers.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *jsonErrorConn) Write(b []byte) (int, error) {
	if j, ok := jsonServerError(b, c.maxHeaderBytes); ok {
		if _, err := c.Conn.Write(j); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// CloseWrite keeps the half-close net/http does after a 431.
func (c *jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// jsonServerError turns one of net/http's own plain-text error answers
// into the same answer with a JSON body; ok is false for anything else.
func jsonServerError(b []byte, maxHeaderBytes int) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(b, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 4 || rest[3] != ' ' {
		return nil, false
	}
	// The status first: a handler's answer (nearly all writes) is let
	// through without scanning its headers and body.
	code, err := strconv.Atoi(string(rest[:3]))
	if err != nil || code < 400 {
		return nil, false
	}
	i := bytes.Index(rest, []byte(plainErrorHeaders))
	if i < 0 || bytes.IndexByte(rest[:i], '\n') >= 0 {
		return nil, false
	}
	reason, detail, _ := strings.Cut(string(rest[4:i]), ": ")
	var msg string
	switch code {
	case 431:
		msg = fmt.Sprintf("request line and headers larger than %d bytes, the server's limit", maxHeaderBytes)
	case 501:
		msg = "unsupported transfer encoding"
	default:
		msg = "malformed HTTP request"
		if detail != "" {
			msg += ": " + detail
		}
	}
	body, _ := json.Marshal(map[string]string{"error": msg})
	body = append(body, '\n')
	out := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", code, reason, len(body))
	return append([]byte(out), body...), true
}
