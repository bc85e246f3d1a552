package health

import (
	"sync"
	"time"
)

// State is what a source is doing, as /v1/status reports it.
type State string

// The states of a source. A network source goes connecting -> live, and
// reconnecting or stalled when posts stop; a replay goes replaying -> done.
const (
	// Connecting: no post has arrived yet since the process started (or
	// since a session began after an error, see Reconnecting).
	Connecting State = "connecting"
	// Live: posts arrive; the last one less than StallAfter ago.
	Live State = "live"
	// Reconnecting: the last session ended with an error and no post has
	// arrived since; the source is retrying.
	Reconnecting State = "reconnecting"
	// Stalled: no post for StallAfter or longer, whatever the connection
	// does. Results are incomplete.
	Stalled State = "stalled"
	// Replaying: a capture file is being read.
	Replaying State = "replaying"
	// Done: the capture file was read to its end.
	Done State = "done"
)

// DefaultStallAfter is how long a live source may go without a post before
// it counts as stalled. Bluesky carries tens of posts a second; five
// minutes without one is never quiet, it is broken.
const DefaultStallAfter = 5 * time.Minute

// SourceOptions configures a Source.
type SourceOptions struct {
	// Name is the source's name: "jetstream", "firehose:<host>",
	// "replay:/abs/path", or "kafka" where a process only sees the posts
	// another process produced.
	Name string
	// Replay marks a finite source read from a file: it is replaying until
	// Done, never stalled.
	Replay bool
	// StallAfter is how long without a post makes a live source stalled.
	// Default DefaultStallAfter.
	StallAfter time.Duration
	// Now is the wall clock. Default time.Now.
	Now func() time.Time
}

// Source follows one source's health: its sessions, errors and the posts
// it delivers. It is safe for concurrent use; the zero value is not usable,
// build it with NewSource. A nil *Source ignores every call, so stages and
// tests that do not report health need no tracker.
type Source struct {
	o       SourceOptions
	started time.Time

	mu          sync.Mutex
	connected   bool
	errored     bool // the last session ended with an error, no post since
	done        bool
	lastErr     string
	lastErrAt   time.Time
	lastArrival time.Time
	lastEvent   time.Time
	newestEvent time.Time
	reconnects  int64
	gaps        int64
	stall       Stall // the last stall that began
	state       State
	since       time.Time
	rate        rate
}

// NewSource starts following a source from now.
func NewSource(o SourceOptions) *Source {
	if o.StallAfter <= 0 {
		o.StallAfter = DefaultStallAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	now := o.Now()
	s := &Source{o: o, started: now, since: now, state: Connecting}
	if o.Replay {
		s.state = Replaying
	}
	return s
}

// StallAfter is how long without a post makes the source stalled.
func (s *Source) StallAfter() time.Duration {
	if s == nil {
		return DefaultStallAfter
	}
	return s.o.StallAfter
}

// SessionStarted records that a connection to the source is open.
func (s *Source) SessionStarted() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
}

// SessionEnded records that a connection ended with err and is retried.
func (s *Source) SessionEnded(err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connected = false
	s.errored = true
	s.reconnects++
	if err != nil {
		s.lastErr, s.lastErrAt = err.Error(), s.o.Now()
	}
}

// Connected reports whether a network source has a session open now
// (false for a replay, and for a process that only sees Kafka).
func (s *Source) Connected() bool {
	if s == nil || s.o.Replay {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Posts records posts that arrived now, with their event times in the
// order the source delivered them. In a replay, a jump in event time of
// more than StallAfter between two posts counts as a gap in the stream.
func (s *Source) Posts(times []time.Time) {
	if s == nil || len(times) == 0 {
		return
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// A stall that elapsed since the last look is a stall, even if this
	// post ends it before anyone asked.
	s.update(now)
	for _, t := range times {
		if s.o.Replay && !s.lastEvent.IsZero() && t.Sub(s.lastEvent) > s.o.StallAfter {
			s.gaps++
		}
		s.lastEvent = t
		if t.After(s.newestEvent) {
			s.newestEvent = t
		}
	}
	s.lastArrival = now
	s.errored = false
	s.rate.add(now, len(times))
	s.update(now)
}

// Finished records that a replay was read to its end.
func (s *Source) Finished() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.done = true
	s.update(s.o.Now())
	s.mu.Unlock()
}

// SourceStatus is a source's health at one moment: the "source" object of
// GET /v1/status.
type SourceStatus struct {
	Name            string     `json:"name"`
	State           State      `json:"state"`
	Since           time.Time  `json:"since"`
	LastError       string     `json:"last_error"`
	LastErrorAt     *time.Time `json:"last_error_at"`
	LastEventAt     *time.Time `json:"last_event_at"`
	LastEventTime   *time.Time `json:"last_event_time"`
	EventsPerSecond float64    `json:"events_per_second"`
	Reconnects      int64      `json:"reconnects"`
	Gaps            int64      `json:"gaps"`
	StallAfter      float64    `json:"stall_after_seconds"`
	AwaySeconds     float64    `json:"away_seconds"`

	// NewestEventTime is the newest event time the source delivered (a
	// replay's posts need not be in order); it feeds stream_time.
	NewestEventTime time.Time `json:"-"`
	// LastStall is the last stall that began, however short; its N counts
	// the stalls so far (0: none).
	LastStall Stall `json:"-"`
}

// Stall is one stall of a live source.
type Stall struct {
	N int64
	// Since is when it began: StallAfter after LastPost.
	Since time.Time
	// LastPost is when the last post before it arrived (when following
	// began, if none had); LastEventTime is that post's event time.
	LastPost      time.Time
	LastEventTime time.Time
	LastError     string
}

// Status reports the source's health now.
func (s *Source) Status() SourceStatus {
	if s == nil {
		return SourceStatus{}
	}
	now := s.o.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.update(now)
	st := SourceStatus{
		Name:            s.o.Name,
		State:           s.state,
		Since:           s.since.UTC(),
		LastError:       s.lastErr,
		LastErrorAt:     timePtr(s.lastErrAt),
		LastEventAt:     timePtr(s.lastArrival),
		LastEventTime:   timePtr(s.lastEvent),
		EventsPerSecond: s.rate.perSecond(now),
		Reconnects:      s.reconnects,
		Gaps:            s.gaps,
		StallAfter:      s.o.StallAfter.Seconds(),
		NewestEventTime: s.newestEvent,
		LastStall:       s.stall,
	}
	if st.State != Live && st.State != Replaying && st.State != Done {
		st.AwaySeconds = now.Sub(s.lastSeen()).Round(time.Second).Seconds()
	}
	return st
}

// lastSeen is when the source last delivered a post, or when following it
// began if it never did.
func (s *Source) lastSeen() time.Time {
	if s.lastArrival.IsZero() {
		return s.started
	}
	return s.lastArrival
}

// update moves the state machine to now.
func (s *Source) update(now time.Time) {
	next := s.compute(now)
	if next == s.state {
		return
	}
	if next == Stalled {
		s.gaps++
		// The stall began StallAfter after the last post; since says so.
		s.since = s.lastSeen().Add(s.o.StallAfter)
		s.stall = Stall{N: s.stall.N + 1, Since: s.since, LastPost: s.lastSeen(), LastEventTime: s.lastEvent, LastError: s.lastErr}
	} else {
		s.since = now
	}
	s.state = next
}

func (s *Source) compute(now time.Time) State {
	switch {
	case s.o.Replay && s.done:
		return Done
	case s.o.Replay:
		return Replaying
	case now.Sub(s.lastSeen()) >= s.o.StallAfter:
		return Stalled
	case s.errored && !s.connected:
		return Reconnecting
	case s.lastArrival.IsZero() || s.errored:
		return Connecting
	default:
		return Live
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// rate counts posts in one-second buckets over the last minute.
type rate struct {
	secs   [60]int64
	counts [60]int64
}

func (r *rate) add(now time.Time, n int) {
	sec := now.Unix()
	i := sec % 60
	if r.secs[i] != sec {
		r.secs[i], r.counts[i] = sec, 0
	}
	r.counts[i] += int64(n)
}

// perSecond is the mean rate over the 60 seconds before now.
func (r *rate) perSecond(now time.Time) float64 {
	sec := now.Unix()
	var total int64
	for i := range r.secs {
		if sec-r.secs[i] < 60 {
			total += r.counts[i]
		}
	}
	return float64(total) / 60
}
