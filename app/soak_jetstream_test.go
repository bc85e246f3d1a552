package app_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/downsignal/downsignal/internal/benchposts"
)

// soakJetstream is a live Jetstream on loopback for the soak: it makes
// posts at a fixed rate whether or not anyone listens (Bluesky does not
// stop while the source is away), keeps the last few minutes for cursor
// playback like the real one, and can be killed (listener and connections
// closed: dials are refused) and restarted on the same port. Its memory is
// bounded (a ring of recent posts), so it does not blur the process's.
type soakJetstream struct {
	t    *testing.T
	addr string
	rate int // posts per second

	mu       sync.Mutex
	ring     []soakEvent // the last len(ring) posts, oldest at next
	next     int
	clock    int64
	subs     map[*websocket.Conn]chan []byte
	ln       net.Listener
	srv      *http.Server
	up       bool
	returned time.Time // when the source last came back
	// firstAfterReturn is when the first post after returned was written to
	// a client: resumption.
	firstAfterReturn time.Time

	made atomic.Int64 // posts made so far
	stop chan struct{}
	done chan struct{}
}

type soakEvent struct {
	timeUS int64
	msg    []byte
}

func newSoakJetstream(t *testing.T, rate int, keep time.Duration) *soakJetstream {
	j := &soakJetstream{t: t, rate: rate, ring: make([]soakEvent, max(rate*int(keep/time.Second), 1000)),
		subs: map[*websocket.Conn]chan []byte{}, stop: make(chan struct{}), done: make(chan struct{})}
	j.start("127.0.0.1:0")
	t.Cleanup(func() { j.halt(); j.kill() })
	return j
}

func (j *soakJetstream) URL() string { return "ws://" + j.addr + "/subscribe" }

// run makes posts at the fixed rate until halt, in steps of 10ms.
func (j *soakJetstream) run() {
	defer close(j.done)
	gen, err := benchposts.New(1, time.Now(), time.Millisecond)
	if err != nil {
		j.t.Errorf("post generator: %v", err)
		return
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-j.stop:
			return
		case now := <-tick.C:
			due := int64(now.Sub(start).Seconds() * float64(j.rate))
			for j.made.Load() < due {
				j.publish(gen)
			}
		}
	}
}

func (j *soakJetstream) halt() {
	select {
	case <-j.stop:
	default:
		close(j.stop)
		<-j.done
	}
}

func (j *soakJetstream) publish(gen *benchposts.Generator) {
	n := j.made.Add(1)
	ev := gen.Next()
	j.mu.Lock()
	defer j.mu.Unlock()
	j.clock = max(j.clock+1, time.Now().UnixMicro())
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": ev.Text + " soakpost", "createdAt": time.Now().UTC().Format(time.RFC3339Nano), "langs": []string{"en"}}
	c := map[string]any{"rev": "3l3qo2vutsw2b", "operation": "create", "collection": "app.bsky.feed.post",
		"rkey": fmt.Sprintf("3soak%09d", n), "record": rec, "cid": "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry"}
	b, err := json.Marshal(map[string]any{"did": ev.DID, "time_us": j.clock, "kind": "commit", "commit": c})
	if err != nil {
		panic(err)
	}
	j.ring[j.next] = soakEvent{timeUS: j.clock, msg: b}
	j.next = (j.next + 1) % len(j.ring)
	for conn, q := range j.subs {
		select {
		case q <- b:
		default: // a client this far behind is dropped, as Jetstream does
			j.dropLocked(conn)
		}
	}
}

func (j *soakJetstream) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		j.t.Fatalf("soak jetstream: listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(j.serve), ReadHeaderTimeout: 5 * time.Second}
	j.mu.Lock()
	j.ln, j.srv, j.addr, j.up = ln, srv, ln.Addr().String(), true
	j.returned, j.firstAfterReturn = time.Now(), time.Time{}
	j.mu.Unlock()
	go srv.Serve(ln)
}

// kill closes the listener and every connection: the source is gone.
func (j *soakJetstream) kill() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !j.up {
		return
	}
	j.up = false
	j.srv.Close()
	for conn := range j.subs {
		j.dropLocked(conn)
	}
}

func (j *soakJetstream) dropLocked(conn *websocket.Conn) {
	if q, ok := j.subs[conn]; ok {
		conn.Close()
		close(q)
		delete(j.subs, conn)
	}
}

// resumedAfter is how long after its last return the source delivered a
// post to a client; false if it has not yet.
func (j *soakJetstream) resumedAfter() (time.Duration, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.firstAfterReturn.IsZero() {
		return 0, false
	}
	return j.firstAfterReturn.Sub(j.returned), true
}

func (j *soakJetstream) serve(w http.ResponseWriter, req *http.Request) {
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	go func() { // notice the client going away
		for {
			if _, _, err := conn.NextReader(); err != nil {
				conn.Close()
				return
			}
		}
	}()
	cursor, _ := strconv.ParseInt(req.URL.Query().Get("cursor"), 10, 64)
	q := make(chan []byte, 20_000)
	j.mu.Lock()
	var backlog [][]byte
	for i := range len(j.ring) {
		ev := j.ring[(j.next+i)%len(j.ring)]
		if ev.msg != nil && cursor > 0 && ev.timeUS >= cursor {
			backlog = append(backlog, ev.msg)
		}
	}
	j.subs[conn] = q
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		j.dropLocked(conn)
		j.mu.Unlock()
	}()
	write := func(b []byte) bool {
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if conn.WriteMessage(websocket.TextMessage, b) != nil {
			return false
		}
		j.mu.Lock()
		if j.firstAfterReturn.IsZero() {
			j.firstAfterReturn = time.Now()
		}
		j.mu.Unlock()
		return true
	}
	for _, b := range backlog {
		if !write(b) {
			return
		}
	}
	for b := range q {
		if !write(b) {
			return
		}
	}
}
