package wsconn_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/wsconn"
)

// server is a WebSocket endpoint on loopback that plays a script to each
// connection and records the query it was dialed with.
type server struct {
	srv *httptest.Server

	mu      sync.Mutex
	queries []url.Values
}

// newServer serves script(n) to the n-th connection (from 0), then closes
// it; a nil script keeps the connection open and silent.
func newServer(t *testing.T, script func(n int, c *websocket.Conn)) *server {
	t.Helper()
	s := &server{}
	up := websocket.Upgrader{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.queries)
		s.queries = append(s.queries, r.URL.Query())
		s.mu.Unlock()
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		script(n, c)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *server) url(t *testing.T) *url.URL {
	u, err := url.Parse("ws" + strings.TrimPrefix(s.srv.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (s *server) dials() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// handler keeps what the client hands it; each message is a number that
// becomes the cursor.
type handler struct {
	mu        sync.Mutex
	cursor    int64
	connected int
	messages  []string
	oversize  []error
	ended     []wsconn.Ended
	reason    string // returned by Ended instead of the client's own
}

func (h *handler) URL(u *url.URL) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	v := *u
	v.RawQuery = url.Values{"cursor": {strconv.FormatInt(h.cursor, 10)}}.Encode()
	return v.String()
}

func (h *handler) Cursor() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cursor
}

func (h *handler) Message(_ context.Context, b []byte, binary bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	kind := "text "
	if binary {
		kind = "binary "
	}
	h.messages = append(h.messages, kind+string(b))
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		h.cursor = n
	}
	return nil
}

func (h *handler) Connected(*url.URL) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.connected++
}

func (h *handler) Oversize(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.oversize = append(h.oversize, err)
}

func (h *handler) Ended(e wsconn.Ended) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = append(h.ended, e)
	if h.reason != "" {
		return h.reason
	}
	return e.Reason
}

func (h *handler) endings() []wsconn.Ended {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ended)
}

func (h *handler) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.messages)
}

func run(t *testing.T, c *wsconn.Client, h wsconn.Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return within 5s of ctx ending")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return stop
}

// One session's messages reach the handler in order whatever their type;
// an oversize one is skipped without losing the connection; the next
// session resumes from the handler's cursor; Run returns ctx's error.
func TestClientReadsSkipsAndReconnects(t *testing.T) {
	srv := newServer(t, func(n int, c *websocket.Conn) {
		if n > 0 {
			c.WriteMessage(websocket.TextMessage, []byte("9"))
			c.ReadMessage() // hold the connection until the client leaves
			return
		}
		c.WriteMessage(websocket.TextMessage, []byte("1"))
		c.WriteMessage(websocket.BinaryMessage, []byte(strings.Repeat("x", 100)))
		c.WriteMessage(websocket.BinaryMessage, []byte("2"))
	})
	reg := prometheus.NewRegistry()
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{srv.url(t)}, MaxMessageBytes: 10,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Metrics: ingest.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	stop := run(t, c, h)
	ingesttest.WaitFor(t, "the second session's message", 5*time.Second, func() bool { return h.Cursor() == 9 })
	if err := stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
	if got, want := h.seen(), []string{"text 1", "binary 2", "text 9"}; !slices.Equal(got, want) {
		t.Errorf("messages %q, want %q", got, want)
	}
	if d := srv.dials(); len(d) != 2 || d[0].Get("cursor") != "0" || d[1].Get("cursor") != "2" {
		t.Errorf("dialed with %v, want cursor 0 then 2", d)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_decode_errors_total", "source", "test", "reason", "oversize"); n != 1 || len(h.oversize) != 1 {
		t.Errorf("decode_errors_total{oversize} = %v, handler told %d times; want 1 and 1", n, len(h.oversize))
	}
	if h.connected != 2 {
		t.Errorf("handler told of %d connections, want 2", h.connected)
	}
	if e := h.endings(); len(e) != 1 || e[0].Reason != "read" || e[0].Messages != 2 || !e[0].Connected || e[0].Attempt != 1 {
		t.Errorf("endings %+v, want one read error after 2 messages, attempt 1", e)
	}
	if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "test", "reason", "read"); n != 1 {
		t.Errorf("reconnects_total{read} = %v, want 1", n)
	}
}

// A silent connection is a stall; a dead endpoint is a dial failure; after
// each the next endpoint is tried.
func TestClientReasonsAndFailover(t *testing.T) {
	silent := newServer(t, func(n int, c *websocket.Conn) { c.ReadMessage() })
	talks := newServer(t, func(n int, c *websocket.Conn) {
		// Often enough never to stall, until the client leaves.
		for c.WriteMessage(websocket.TextMessage, []byte("5")) == nil {
			time.Sleep(20 * time.Millisecond)
		}
	})
	dead, _ := url.Parse("ws://127.0.0.1:1/")
	reg := prometheus.NewRegistry()
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{silent.url(t), dead, talks.url(t)},
		StallTimeout: 100 * time.Millisecond, MaxMessageBytes: 10, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
		Metrics: ingest.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	run(t, c, h)
	ingesttest.WaitFor(t, "the third endpoint's message", 5*time.Second, func() bool { return h.Cursor() == 5 })
	for reason, want := range map[string]float64{"stall": 1, "dial": 1} {
		if n := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "test", "reason", reason); n != want {
			t.Errorf("reconnects_total{%s} = %v, want %v", reason, n, want)
		}
	}
	// The client waits only once every endpoint failed in a row.
	e := h.endings()
	if len(e) != 2 || e[0].Next != dead || e[0].Wait != 0 || e[1].Attempt != 2 || e[1].Next.Host != talks.url(t).Host || e[1].Wait != 0 {
		t.Errorf("endings %+v, want the dead endpoint next and no wait yet", e)
	}

	if d := talks.dials(); len(d) != 1 {
		t.Errorf("the third endpoint was dialed %d times, want 1", len(d))
	}
}

// A reason the handler names is the one counted, and the handler sees the
// error that ended the session.
func TestClientCountsTheHandlersReason(t *testing.T) {
	srv := newServer(t, func(n int, c *websocket.Conn) {}) // closes at once
	reg := prometheus.NewRegistry()
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{srv.url(t)}, MaxMessageBytes: 10,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Metrics: ingest.NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{reason: "error_frame"}
	stop := run(t, c, h)
	ingesttest.WaitFor(t, "two sessions", 5*time.Second, func() bool { return len(srv.dials()) >= 2 })
	stop()
	ended := h.endings()
	if len(ended) == 0 || ended[0].Err == nil || !strings.HasPrefix(ended[0].Err.Error(), "read: ") || ended[0].Reason != "read" {
		t.Errorf("Ended saw %+v, want the read error", ended)
	}
	if len(ended) > 1 && ended[1].Wait == 0 {
		t.Errorf("no wait between sessions on the one endpoint: %+v", ended[1])
	}
	got := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "test", "reason", "error_frame")
	if read := ingesttest.MetricValue(t, reg, "downsignal_ingest_reconnects_total", "source", "test", "reason", "read"); got != float64(len(ended)) || read != 0 {
		t.Errorf("reconnects_total{error_frame} = %v, {read} = %v; want %d and 0", got, read, len(ended))
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	u, _ := url.Parse("ws://127.0.0.1:1/")
	for name, o := range map[string]wsconn.Options{
		"no endpoint":         {Source: "x", MaxMessageBytes: 1},
		"no size limit":       {Source: "x", URLs: []*url.URL{u}},
		"backoff upside down": {Source: "x", URLs: []*url.URL{u}, MaxMessageBytes: 1, MinBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		if _, err := wsconn.New(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// Without Metrics the client counts nothing and still skips and reconnects.
func TestClientWithoutMetrics(t *testing.T) {
	srv := newServer(t, func(n int, c *websocket.Conn) {
		c.WriteMessage(websocket.BinaryMessage, []byte(strings.Repeat("x", 100)))
	})
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{srv.url(t)}, MaxMessageBytes: 10,
		MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	run(t, c, h)
	ingesttest.WaitFor(t, "two sessions", 5*time.Second, func() bool { return len(srv.dials()) >= 2 })
	if e := h.endings(); len(e) == 0 || e[0].Reason != "read" {
		t.Errorf("endings %+v, want a read error first", e)
	}
}

// restartable is a WebSocket endpoint that can be killed (every connection
// and the listener closed: dials are refused) and brought back on the same
// port. Each connection gets one message, its cursor, then stays open.
type restartable struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	srv   *httptest.Server
	conns map[*websocket.Conn]bool // hijacked: Close does not end them
}

func newRestartable(t *testing.T) *restartable {
	r := &restartable{t: t, conns: map[*websocket.Conn]bool{}}
	r.start("127.0.0.1:0")
	t.Cleanup(r.kill)
	return r
}

func (r *restartable) start(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatalf("listen %s: %v", addr, err)
	}
	up := websocket.Upgrader{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		defer c.Close()
		r.mu.Lock()
		r.conns[c] = true
		r.mu.Unlock()
		if err := c.WriteMessage(websocket.TextMessage, []byte("7")); err != nil {
			return
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	srv.Listener = l
	srv.Start()
	r.mu.Lock()
	r.srv, r.addr = srv, l.Addr().String()
	r.mu.Unlock()
}

func (r *restartable) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Listener.Close() // refuse dials from now on
		for c := range r.conns {
			c.Close()
			delete(r.conns, c)
		}
		r.srv.Close()
		r.srv = nil
	}
}

func (r *restartable) url() *url.URL { return &url.URL{Scheme: "ws", Host: r.addr, Path: "/"} }

// A source that was streaming is rejoined within HealthyMaxBackoff of its
// return however long it was away (within HealthyWindow); the delay still
// grows while it keeps failing.
func TestClientRejoinsAHealthySourceWithinTheCap(t *testing.T) {
	src := newRestartable(t)
	const capWait = 100 * time.Millisecond
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{src.url()}, MaxMessageBytes: 100,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Second, HealthyMaxBackoff: capWait, HealthyWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	run(t, c, h)
	ingesttest.WaitFor(t, "the first message", 5*time.Second, func() bool { return len(h.seen()) == 1 })

	src.kill()
	// With the cap at MaxBackoff, 1.5s of failures would grow the wait
	// past 600ms.
	time.Sleep(1500 * time.Millisecond)
	src.start(src.addr)
	ingesttest.WaitFor(t, "the message after the source returned", 5*time.Second, func() bool { return len(h.seen()) == 2 })

	var longest time.Duration
	for _, e := range h.endings() {
		if e.Wait > capWait {
			t.Errorf("waited %s after a %s failure (attempt %d), want at most %s", e.Wait, e.Reason, e.Attempt, capWait)
		}
		longest = max(longest, e.Wait)
	}
	if longest < capWait/2 {
		t.Errorf("longest wait %s over %d failures, want it grown toward %s", longest, len(h.endings()), capWait)
	}
}

// A refused dial after a long wait is retried at once: the server's host
// is up and the server is starting.
func TestClientRetriesARefusedDialAtOnceAfterALongWait(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &url.URL{Scheme: "ws", Host: l.Addr().String(), Path: "/"}
	l.Close() // nothing listens: every dial is refused
	const healthyCap = 20 * time.Millisecond
	c, err := wsconn.New(wsconn.Options{Source: "test", URLs: []*url.URL{u}, MaxMessageBytes: 100,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, HealthyMaxBackoff: healthyCap})
	if err != nil {
		t.Fatal(err)
	}
	h := &handler{}
	stop := run(t, c, h)
	ingesttest.WaitFor(t, "a dozen refused dials", 10*time.Second, func() bool { return len(h.endings()) >= 12 })
	stop()
	e := h.endings()
	at0 := 0
	for i := 1; i < len(e); i++ {
		if !errors.Is(e[i].Err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %d: %v, want connection refused", i, e[i].Err)
		}
		long := e[i-1].Wait > healthyCap
		if long && e[i].Wait != 0 {
			t.Errorf("refused after a %s wait: waited %s, want a retry at once", e[i-1].Wait, e[i].Wait)
		}
		if !long && e[i].Wait == 0 {
			t.Errorf("refused after a %s wait: retried at once, want a wait (no spinning)", e[i-1].Wait)
		}
		if e[i].Wait == 0 {
			at0++
		}
	}
	if at0 == 0 {
		t.Errorf("no refused dial was retried at once in %d", len(e))
	}
}
