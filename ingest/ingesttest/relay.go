package ingesttest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/gorilla/websocket"
	cbg "github.com/whyrusleeping/cbor-gen"
)

// Relay is a fake relay serving com.atproto.sync.subscribeRepos over a
// real WebSocket on loopback. It keeps every sequenced frame, so a client
// that reconnects with a cursor gets what it missed, and it behaves like a
// relay at the edges: #info OutdatedCursor when the cursor is older than
// its history, FutureCursor when it is newer than its newest seq, and
// ConsumerTooSlow (then a close) when a client lets its queue fill up.
type Relay struct {
	srv *httptest.Server

	mu      sync.Mutex
	seq     int64
	history []sequenced // ascending seq
	subs    map[*relaySub]struct{}
	cursors []string // cursor parameter of every connection, "" for none
	// QueueLimit is how many frames a client may fall behind before it is
	// dropped with ConsumerTooSlow. Default 10000.
	queueLimit int
	now        func() time.Time
}

type sequenced struct {
	seq   int64
	frame []byte
}

type relaySub struct {
	queue    chan wsMessage
	stop     chan struct{} // closed with last set: the writer sends it, then closes
	stopOnce sync.Once
	last     []byte
	gone     chan struct{}
	goneOnce sync.Once
	conn     *websocket.Conn
}

type wsMessage struct {
	mt int
	b  []byte
}

// end makes the client's writer stop.
func (s *relaySub) end() { s.goneOnce.Do(func() { close(s.gone) }) }

// fail makes the client's writer send an error frame and close.
func (s *relaySub) fail(frame []byte) {
	s.stopOnce.Do(func() {
		s.last = frame
		close(s.stop)
	})
}

// NewRelay starts a relay on 127.0.0.1. Close it when done.
func NewRelay() *Relay {
	r := &Relay{subs: map[*relaySub]struct{}{}, queueLimit: 10000, now: time.Now}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// URL is the relay's base URL (ws://127.0.0.1:port), as an operator would
// pass it to --relay.
func (r *Relay) URL() string { return "ws" + strings.TrimPrefix(r.srv.URL, "http") }

// SetQueueLimit sets how far a client may fall behind before it is dropped.
func (r *Relay) SetQueueLimit(n int) {
	r.mu.Lock()
	r.queueLimit = n
	r.mu.Unlock()
}

// Close drops every client and stops the server.
func (r *Relay) Close() {
	r.DropClients()
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// Seq is the newest sequence number the relay handed out.
func (r *Relay) Seq() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seq
}

// History returns the frames the relay holds, oldest first.
func (r *Relay) History() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]byte, len(r.history))
	for i, h := range r.history {
		out[i] = h.frame
	}
	return out
}

// Cursors lists the cursor parameter of every connection so far, in order
// ("" when a client connected without one).
func (r *Relay) Cursors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cursors...)
}

// Clients is the number of connected clients.
func (r *Relay) Clients() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs)
}

// DropClients closes every client connection without a close frame, as a
// crashing relay or a network cut would.
func (r *Relay) DropClients() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		s.conn.Close()
		s.end()
		delete(r.subs, s)
	}
}

// Forget drops the relay's history up to and including seq, so a client
// resuming from before it gets #info OutdatedCursor.
func (r *Relay) Forget(seq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := 0
	for i < len(r.history) && r.history[i].seq <= seq {
		i++
	}
	r.history = append([]sequenced(nil), r.history[i:]...)
}

// SetClock sets the clock that stamps commits' time (default time.Now),
// for relays whose clock is wrong.
func (r *Relay) SetClock(now func() time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = now
}

// Create commits a post create to the account's repo and broadcasts it.
// It returns the frame's seq.
func (r *Relay) Create(a *Account, p Post) (int64, error) {
	return r.Commit(a, []Change{{Post: &p}})
}

// Delete commits the deletion of a post and broadcasts it.
func (r *Relay) Delete(a *Account, rkey string) (int64, error) {
	return r.Commit(a, []Change{{Delete: rkey}})
}

// Change is one op of a commit: a post create or update (Post), a post
// delete (Delete is its rkey), a record of another collection (Other is
// the path, e.g. "app.bsky.feed.like/3abc"), or any DAG-CBOR bytes as the
// record at Path (Record), for records a decoder must survive.
type Change struct {
	Post   *Post
	Delete string
	Other  string
	Path   string
	Record []byte
}

// Commit applies several changes in one signed commit and broadcasts it.
func (r *Relay) Commit(a *Account, changes []Change) (int64, error) {
	var ops []op
	for _, c := range changes {
		switch {
		case c.Post != nil:
			var b bytes.Buffer
			if err := c.Post.record().MarshalCBOR(&b); err != nil {
				return 0, err
			}
			ops = append(ops, op{path: "app.bsky.feed.post/" + c.Post.RKey, record: b.Bytes()})
		case c.Delete != "":
			ops = append(ops, op{path: "app.bsky.feed.post/" + c.Delete})
		case c.Other != "":
			// A minimal like record: what matters is that it is not a post.
			ops = append(ops, op{path: c.Other, record: otherRecord(c.Other)})
		case c.Path != "":
			ops = append(ops, op{path: c.Path, record: c.Record})
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	msg, err := a.commit(ops, r.now())
	if err != nil {
		return 0, err
	}
	r.seq++
	msg.Seq = r.seq
	return r.seq, r.publishLocked(msg.Seq, "#commit", msg)
}

func otherRecord(path string) []byte {
	var b bytes.Buffer
	cw := cbg.NewCborWriter(&b)
	cw.WriteMajorTypeHeader(cbg.MajMap, 2)
	writeString(cw, "$type")
	writeString(cw, path[:strings.IndexByte(path+"/", '/')])
	writeString(cw, "createdAt")
	writeString(cw, time.Now().UTC().Format("2006-01-02T15:04:05.000Z"))
	return b.Bytes()
}

// Identity broadcasts an #identity event for the account.
func (r *Relay) Identity(a *Account, handle string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	msg := &comatproto.SyncSubscribeRepos_Identity{Did: a.DID, Seq: r.seq, Time: r.stamp()}
	if handle != "" {
		msg.Handle = &handle
	}
	r.publishLocked(r.seq, "#identity", msg)
	return r.seq
}

// AccountStatus broadcasts an #account event (status: takendown,
// suspended, deleted, deactivated; "" when active).
func (r *Relay) AccountStatus(a *Account, active bool, status string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	msg := &comatproto.SyncSubscribeRepos_Account{Did: a.DID, Active: active, Seq: r.seq, Time: r.stamp()}
	if status != "" {
		msg.Status = &status
	}
	r.publishLocked(r.seq, "#account", msg)
	return r.seq
}

// Sync broadcasts a #sync event with the account's current signed commit.
func (r *Relay) Sync(a *Account) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg, err := a.syncMessage(r.now())
	if err != nil {
		return 0, err
	}
	r.seq++
	msg.Seq = r.seq
	return r.seq, r.publishLocked(r.seq, "#sync", msg)
}

// Info broadcasts an #info frame to the connected clients (it has no seq
// and is not kept).
func (r *Relay) Info(name, message string) {
	f, _ := Frame("#info", &comatproto.SyncSubscribeRepos_Info{Name: name, Message: &message})
	r.Raw(websocket.BinaryMessage, f)
}

// Raw sends one WebSocket message to the connected clients as is: a
// malformed frame, a text message. It is not kept.
func (r *Relay) Raw(messageType int, b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		r.enqueueLocked(s, wsMessage{messageType, b})
	}
}

// Fail sends an error frame to every client, then closes their
// connections, as a relay does.
func (r *Relay) Fail(name, message string) {
	f := ErrorFrame(name, message)
	r.mu.Lock()
	defer r.mu.Unlock()
	for s := range r.subs {
		s.fail(f)
		delete(r.subs, s)
	}
}

func (r *Relay) stamp() string { return r.now().UTC().Format("2006-01-02T15:04:05.000Z") }

func (r *Relay) publishLocked(seq int64, typ string, body cbg.CBORMarshaler) error {
	f, err := Frame(typ, body)
	if err != nil {
		return err
	}
	r.history = append(r.history, sequenced{seq, f})
	for s := range r.subs {
		r.enqueueLocked(s, wsMessage{websocket.BinaryMessage, f})
	}
	return nil
}

func (r *Relay) enqueueLocked(s *relaySub, m wsMessage) {
	select {
	case s.queue <- m:
	default:
		s.fail(ErrorFrame("ConsumerTooSlow", "Stream consumer too slow"))
		delete(r.subs, s)
	}
}

// serve is one subscribeRepos connection: the frames after its cursor,
// then every new one, until either side ends it.
func (r *Relay) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/xrpc/com.atproto.sync.subscribeRepos" {
		http.NotFound(w, req)
		return
	}
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 64 << 10}
	conn, err := up.Upgrade(w, req, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s := &relaySub{stop: make(chan struct{}), gone: make(chan struct{}), conn: conn}
	go s.readUntilGone()

	backlog, refusal := r.subscribe(s, req.URL.Query().Get("cursor"))
	if refusal != nil {
		conn.WriteMessage(websocket.BinaryMessage, refusal)
		return
	}
	defer func() {
		r.mu.Lock()
		delete(r.subs, s)
		r.mu.Unlock()
	}()
	s.write(backlog)
}

// readUntilGone reads (and drops) client messages so pings and closes are
// handled, and ends the subscription when the connection fails.
func (s *relaySub) readUntilGone() {
	for {
		if _, _, err := s.conn.NextReader(); err != nil {
			s.end()
			return
		}
	}
}

// subscribe records a connection's cursor parameter and registers s,
// returning the frames after the cursor. The backlog is taken and s
// registered under one lock, so no frame falls between the two. A cursor
// the relay refuses returns the error frame to send instead, and s is not
// registered.
func (r *Relay) subscribe(s *relaySub, cursorParam string) (backlog [][]byte, refusal []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cursors = append(r.cursors, cursorParam)
	if cursorParam != "" {
		if backlog, refusal = r.backlogLocked(cursorParam); refusal != nil {
			return nil, refusal
		}
	}
	s.queue = make(chan wsMessage, r.queueLimit)
	r.subs[s] = struct{}{}
	return backlog, nil
}

// backlogLocked is what a client reconnecting with cursor missed, led by
// #info OutdatedCursor when the history no longer reaches back to it; or
// the error frame for a bad or future cursor.
func (r *Relay) backlogLocked(cursorParam string) (backlog [][]byte, refusal []byte) {
	cursor, err := strconv.ParseInt(cursorParam, 10, 64)
	if err != nil || cursor < 0 {
		return nil, ErrorFrame("InvalidRequest", "bad cursor")
	}
	if cursor > r.seq {
		return nil, ErrorFrame("FutureCursor", "Cursor in the future.")
	}
	if len(r.history) > 0 && cursor < r.history[0].seq-1 {
		info, _ := Frame("#info", &comatproto.SyncSubscribeRepos_Info{Name: "OutdatedCursor", Message: ptr("Requested cursor exceeded limit. Possibly missing events")})
		backlog = append(backlog, info)
	}
	for _, h := range r.history {
		if h.seq > cursor {
			backlog = append(backlog, h.frame)
		}
	}
	return backlog, nil
}

// write sends the backlog, then queued frames as they come, until the
// client goes away, a write fails, or the relay ends the subscription
// (fail), whose last frame it sends before returning.
func (s *relaySub) write(backlog [][]byte) {
	write := func(mt int, f []byte) error {
		s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		return s.conn.WriteMessage(mt, f)
	}
	for _, f := range backlog {
		if write(websocket.BinaryMessage, f) != nil {
			return
		}
	}
	for {
		select {
		case <-s.gone:
			return
		case m := <-s.queue:
			if write(m.mt, m.b) != nil {
				return
			}
		case <-s.stop:
			s.conn.SetWriteDeadline(time.Now().Add(time.Second))
			s.conn.WriteMessage(websocket.BinaryMessage, s.last)
			return
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Frame encodes a relay message: the {t, op: 1} header, then the body.
func Frame(typ string, body cbg.CBORMarshaler) ([]byte, error) {
	var b bytes.Buffer
	cw := cbg.NewCborWriter(&b)
	// {"t": typ, "op": 1}, keys in DAG-CBOR order (shorter first).
	cw.WriteMajorTypeHeader(cbg.MajMap, 2)
	writeString(cw, "t")
	writeString(cw, typ)
	writeString(cw, "op")
	cw.WriteMajorTypeHeader(cbg.MajUnsignedInt, 1)
	if err := body.MarshalCBOR(&b); err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return b.Bytes(), nil
}

// ErrorFrame encodes an error frame: {op: -1} then {error, message}.
func ErrorFrame(name, message string) []byte {
	var b bytes.Buffer
	cw := cbg.NewCborWriter(&b)
	cw.WriteMajorTypeHeader(cbg.MajMap, 1)
	writeString(cw, "op")
	cw.WriteMajorTypeHeader(cbg.MajNegativeInt, 0)
	cw.WriteMajorTypeHeader(cbg.MajMap, 2)
	writeString(cw, "error")
	writeString(cw, name)
	writeString(cw, "message")
	writeString(cw, message)
	return b.Bytes()
}
