package ingesttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/klauspost/compress/zstd"
)

// Jetstream is a fake Jetstream v1 instance on loopback: /subscribe over a
// real WebSocket, with wantedCollections filtering (account and identity
// events pass every filter), cursor playback by time_us, and compress=true
// (each message a zstd frame made with the dictionary it was given).
type Jetstream struct {
	srv  *httptest.Server
	gate *gate
	enc  *zstd.Encoder

	mu      sync.Mutex
	clock   int64 // last time_us handed out
	history []jetEvent
	subs    map[*jetSub]struct{}
	queries []url.Values
}

type jetEvent struct {
	timeUS     int64
	collection string // "" for account and identity events
	msg        []byte
}

type jetSub struct {
	queue    chan wsMessage
	gone     chan struct{}
	goneOnce sync.Once
	conn     *websocket.Conn
	want     []string
	compress bool
}

func (s *jetSub) end() { s.goneOnce.Do(func() { close(s.gone) }) }

// NewJetstream starts a fake Jetstream. zstdDict, when not nil, is the
// dictionary used for clients that ask for compress=true.
func NewJetstream(zstdDict []byte) (*Jetstream, error) {
	j := &Jetstream{subs: map[*jetSub]struct{}{}}
	if zstdDict != nil {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderDict(zstdDict), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd dictionary: %w", err)
		}
		j.enc = enc
	}
	g, err := newGate()
	if err != nil {
		return nil, err
	}
	j.gate = g
	j.srv = httptest.NewUnstartedServer(http.HandlerFunc(j.serve))
	j.srv.Listener = g
	j.srv.Start()
	return j, nil
}

// Down kills the server as far as clients can tell: every connection is
// dropped and new ones are refused until Up. Posts published meanwhile are
// kept, and served to a client that resumes from a cursor before them.
func (j *Jetstream) Down() {
	j.gate.down()
	j.DropClients()
	j.srv.CloseClientConnections()
}

// Up accepts connections again, on the same address.
func (j *Jetstream) Up() error { return j.gate.reopen() }

// URL is the subscribe endpoint (ws://127.0.0.1:port/subscribe).
func (j *Jetstream) URL() string {
	return "ws" + strings.TrimPrefix(j.srv.URL, "http") + "/subscribe"
}

// Close drops every client and stops the server.
func (j *Jetstream) Close() {
	j.DropClients()
	j.srv.CloseClientConnections()
	j.srv.Close()
}

// DropClients closes every client connection.
func (j *Jetstream) DropClients() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for s := range j.subs {
		s.conn.Close()
		s.end()
		delete(j.subs, s)
	}
}

// Clients is the number of connected clients.
func (j *Jetstream) Clients() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.subs)
}

// Queries returns the query of every connection so far, in order.
func (j *Jetstream) Queries() []url.Values {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]url.Values(nil), j.queries...)
}

func (j *Jetstream) tick() int64 {
	j.clock = max(j.clock+1, time.Now().UnixMicro())
	return j.clock
}

// Post publishes a post create and returns its time_us.
func (j *Jetstream) Post(did, rkey, text string) int64 {
	rec := map[string]any{"$type": "app.bsky.feed.post", "text": text, "createdAt": time.Now().UTC().Format(time.RFC3339Nano), "langs": []string{"en"}}
	return j.commit(did, "app.bsky.feed.post", rkey, "create", rec)
}

// Delete publishes a post delete.
func (j *Jetstream) Delete(did, rkey string) int64 {
	return j.commit(did, "app.bsky.feed.post", rkey, "delete", nil)
}

// Like publishes a like: another collection, which a client filtering on
// posts never sees.
func (j *Jetstream) Like(did, rkey string) int64 {
	return j.commit(did, "app.bsky.feed.like", rkey, "create", map[string]any{"$type": "app.bsky.feed.like", "createdAt": time.Now().UTC().Format(time.RFC3339Nano)})
}

func (j *Jetstream) commit(did, collection, rkey, op string, rec map[string]any) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.tick()
	c := map[string]any{"rev": "3l3qo2vutsw2b", "operation": op, "collection": collection, "rkey": rkey}
	if rec != nil {
		c["record"] = rec
		c["cid"] = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5nxy2rzvmdmmkry"
	}
	j.publishLocked(t, collection, map[string]any{"did": did, "time_us": t, "kind": "commit", "commit": c})
	return t
}

// Account publishes an account status change.
func (j *Jetstream) Account(did string, active bool, status string) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.tick()
	acc := map[string]any{"active": active, "did": did, "seq": t, "time": time.Now().UTC().Format(time.RFC3339Nano)}
	if status != "" {
		acc["status"] = status
	}
	j.publishLocked(t, "", map[string]any{"did": did, "time_us": t, "kind": "account", "account": acc})
	return t
}

// Identity publishes an identity event.
func (j *Jetstream) Identity(did, handle string) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.tick()
	j.publishLocked(t, "", map[string]any{"did": did, "time_us": t, "kind": "identity",
		"identity": map[string]any{"did": did, "handle": handle, "seq": t, "time": time.Now().UTC().Format(time.RFC3339Nano)}})
	return t
}

// Raw sends one message to the connected clients as is (compressed for
// clients that asked for compression when compress is true).
func (j *Jetstream) Raw(messageType int, b []byte, compress bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for s := range j.subs {
		out := b
		if compress && s.compress && j.enc != nil {
			out = j.enc.EncodeAll(b, nil)
		}
		j.enqueueLocked(s, wsMessage{messageType, out})
	}
}

func (j *Jetstream) publishLocked(t int64, collection string, m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	ev := jetEvent{timeUS: t, collection: collection, msg: b}
	j.history = append(j.history, ev)
	for s := range j.subs {
		if wanted(s.want, ev.collection) {
			j.enqueueLocked(s, j.message(s, ev.msg))
		}
	}
}

func (j *Jetstream) message(s *jetSub, b []byte) wsMessage {
	if s.compress && j.enc != nil {
		return wsMessage{websocket.BinaryMessage, j.enc.EncodeAll(b, nil)}
	}
	return wsMessage{websocket.TextMessage, b}
}

func (j *Jetstream) enqueueLocked(s *jetSub, m wsMessage) {
	select {
	case s.queue <- m:
	default:
		// Jetstream drops a client that falls this far behind.
		s.conn.Close()
		s.end()
		delete(j.subs, s)
	}
}

// wanted applies Jetstream's wantedCollections: exact NSIDs or prefixes
// ending in ".*"; no filter means everything.
func wanted(want []string, collection string) bool {
	if collection == "" || len(want) == 0 {
		return true
	}
	for _, w := range want {
		if w == collection || (strings.HasSuffix(w, ".*") && strings.HasPrefix(collection, strings.TrimSuffix(w, "*"))) {
			return true
		}
	}
	return false
}

func (j *Jetstream) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/subscribe" {
		http.NotFound(w, req)
		return
	}
	q := req.URL.Query()
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s := &jetSub{queue: make(chan wsMessage, 10000), gone: make(chan struct{}), conn: conn,
		want: q["wantedCollections"], compress: q.Get("compress") == "true"}
	go func() {
		for {
			if _, _, err := conn.NextReader(); err != nil {
				s.end()
				return
			}
		}
	}()

	j.mu.Lock()
	j.queries = append(j.queries, q)
	var backlog []wsMessage
	if c := q.Get("cursor"); c != "" {
		cursor, err := strconv.ParseInt(c, 10, 64)
		if err == nil {
			for _, ev := range j.history {
				if ev.timeUS >= cursor && wanted(s.want, ev.collection) {
					backlog = append(backlog, j.message(s, ev.msg))
				}
			}
		}
	}
	j.subs[s] = struct{}{}
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.subs, s)
		j.mu.Unlock()
	}()

	write := func(m wsMessage) error {
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return conn.WriteMessage(m.mt, m.b)
	}
	for _, m := range backlog {
		if write(m) != nil {
			return
		}
	}
	for {
		select {
		case <-s.gone:
			return
		case m := <-s.queue:
			if write(m) != nil {
				return
			}
		}
	}
}
