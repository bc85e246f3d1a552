package notify_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/notify"
	"github.com/downsignal/downsignal/record"
)

// eventLog is a hand-written detector event log.
type eventLog struct {
	id     string
	mu     sync.Mutex
	events []detect.Event
	notify chan struct{}
}

func newLog(id string) *eventLog { return &eventLog{id: id, notify: make(chan struct{})} }

func (l *eventLog) add(incident string, types ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, typ := range types {
		seq := 1
		for _, ev := range l.events {
			if ev.Incident.ID == incident {
				seq++
			}
		}
		l.events = append(l.events, detect.Event{Seq: uint64(len(l.events) + 1), Type: typ,
			Time:     time.Date(2026, 1, 22, 19, 33+seq, 0, 0, time.UTC),
			Incident: detect.Incident{ID: incident, Service: "Microsoft 365", State: detect.Firing, Seq: seq}})
	}
	close(l.notify)
	l.notify = make(chan struct{})
}

func (l *eventLog) EventsAfter(seq uint64, n int) ([]detect.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []detect.Event
	for _, ev := range l.events {
		if ev.Seq > seq && len(out) < n {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *eventLog) Notify() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}

func (l *eventLog) InstanceID() string { return l.id }

func startBroker(t testing.TB) []string {
	t.Helper()
	e, err := broker.StartEmbedded(broker.EmbeddedOptions{DataDir: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	brokers := []string{e.Addr()}
	if err := broker.EnsureTopics(context.Background(), brokers, broker.Topics(broker.TopicOptions{Partitions: 3})); err != nil {
		t.Fatal(err)
	}
	return brokers
}

// run runs a publisher on path until the returned stop is called.
func run(t *testing.T, path string, log notify.Log, brokers []string) (stop func()) {
	t.Helper()
	prod := broker.NewProducer(broker.WriterOptions{Brokers: brokers, Topic: broker.IncidentsTopic})
	p, err := notify.OpenPublisher(notify.PublisherOptions{Path: path, Log: log, Producer: prod, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			prod.Close()
			p.Close()
		})
	}
	t.Cleanup(stop)
	return stop
}

// changes reads the topic until it holds n records, or within has passed,
// and decodes them.
func changes(t *testing.T, brokers []string, n int, within time.Duration) []record.Change {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		recs, err := broker.ReadAll(context.Background(), brokers, broker.IncidentsTopic)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= n || time.Now().After(deadline) {
			var out []record.Change
			for _, r := range recs {
				c, err := record.DecodeChange(r.Value)
				if err != nil {
					t.Fatalf("record %s: %v", r.Value, err)
				}
				if string(r.Key) != c.IncidentID {
					t.Errorf("record keyed %q, want its incident %q", r.Key, c.IncidentID)
				}
				out = append(out, c)
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Each incident's changes reach downsignal.incidents keyed by the incident
// and in order; a restart publishes only what is new, and a rebuilt
// detector store is published from its start.
func TestPublisherProducesEachChangeInOrder(t *testing.T) {
	brokers := startBroker(t)
	path := filepath.Join(t.TempDir(), "publish.db")
	log := newLog("a")
	stop := run(t, path, log, brokers)
	log.add("outlook-1", detect.EventFiring)
	log.add("teams-2", detect.EventFiring, detect.EventUpdated)
	log.add("outlook-1", detect.EventUpdated, detect.EventResolved)
	got := changes(t, brokers, 5, 20*time.Second)
	stop()

	log.add("teams-2", detect.EventResolved)
	stop = run(t, path, log, brokers)
	got = changes(t, brokers, 6, 20*time.Second)
	if again := changes(t, brokers, 7, 500*time.Millisecond); len(again) != 6 {
		t.Errorf("%d records after the restart, want 6: nothing published twice", len(again))
	}
	stop()
	per := map[string][]string{}
	for _, c := range got {
		if len(per[c.IncidentID])+1 != c.Seq {
			t.Errorf("%s: change %d (%s) after %d changes", c.IncidentID, c.Seq, c.Type, len(per[c.IncidentID]))
		}
		per[c.IncidentID] = append(per[c.IncidentID], c.Type)
	}
	if len(per["outlook-1"]) != 3 || len(per["teams-2"]) != 3 || per["teams-2"][2] != detect.EventResolved {
		t.Errorf("published %v, want each incident's three changes", per)
	}

	rebuilt := newLog("b")
	rebuilt.add("outlook-1", detect.EventFiring)
	run(t, path, rebuilt, brokers)
	if again := changes(t, brokers, 7, 20*time.Second); len(again) != 7 {
		t.Errorf("%d records after a rebuilt detector store, want 7: its log is published from its start", len(again))
	}
}
