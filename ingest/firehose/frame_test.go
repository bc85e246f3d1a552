package firehose_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/record"
)

// TestDecodeRecordedFramesMatchJetstream decodes the real relay frames and
// checks that they yield exactly the events production Jetstream served for
// the same moment: same posts, deletes and account change, field for field.
// Only the event time and the source differ: Jetstream stamps its own
// time_us, the relay its own time.
func TestDecodeRecordedFramesMatchJetstream(t *testing.T) {
	frames := ingesttest.RecordedFrames(t)
	var manifest struct {
		SeqFirst int64 `json:"seq_first"`
		SeqLast  int64 `json:"seq_last"`
		Frames   int   `json:"frames"`
	}
	if err := json.Unmarshal(ingesttest.SharedData(t, "manifest.json"), &manifest); err != nil {
		t.Fatal(err)
	}
	if len(frames) != manifest.Frames {
		t.Fatalf("read %d frames, manifest says %d", len(frames), manifest.Frames)
	}

	var fromRelay []record.Event
	var seqs []int64
	var d firehose.FrameDecoder
	for i, b := range frames {
		f, err := d.Decode(b, "firehose")
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for _, e := range f.OpErrors {
			t.Errorf("frame %d (seq %d): %v", i, f.Seq, e)
		}
		seqs = append(seqs, f.Seq)
		fromRelay = append(fromRelay, f.Events...)
	}
	if seqs[0] != manifest.SeqFirst || seqs[len(seqs)-1] != manifest.SeqLast || !slices.IsSorted(seqs) {
		t.Errorf("seqs from %d to %d, want %d to %d ascending", seqs[0], seqs[len(seqs)-1], manifest.SeqFirst, manifest.SeqLast)
	}

	var fromJetstream []record.Event
	for _, l := range ingesttest.RecordedJetstream(t) {
		ev, _, err := jetstream.Decode(l, "jetstream")
		switch {
		case err == nil:
			fromJetstream = append(fromJetstream, ev)
		case !errors.Is(err, jetstream.ErrIgnored):
			t.Fatalf("jetstream line: %v", err)
		}
	}
	posts := 0
	for _, ev := range fromJetstream {
		if ev.Kind == record.KindPost {
			posts++
		}
	}
	if posts != 17 || len(fromJetstream) != 19 {
		t.Fatalf("jetstream capture: %d events, %d posts; want 19 and 17", len(fromJetstream), posts)
	}

	// Jetstream emits in its own order; compare by identity.
	key := func(e record.Event) string { return string(e.Kind) + " " + e.DID + " " + e.URI }
	byKey := map[string]record.Event{}
	for _, ev := range fromJetstream {
		byKey[key(ev)] = ev
	}
	if len(fromRelay) != len(fromJetstream) {
		t.Errorf("relay frames gave %d events, Jetstream %d", len(fromRelay), len(fromJetstream))
	}
	for _, got := range fromRelay {
		want, ok := byKey[key(got)]
		if !ok {
			t.Errorf("relay event %s not in the Jetstream capture", key(got))
			continue
		}
		if got.Source != "firehose" || got.Time.IsZero() || got.Time.Sub(want.Time).Abs() > 5*time.Second {
			t.Errorf("%s: source %q time %v, Jetstream time %v", key(got), got.Source, got.Time, want.Time)
		}
		got.Time, got.Source = want.Time, want.Source
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(want)
		if string(gb) != string(wb) {
			t.Errorf("%s differs:\nrelay     %s\njetstream %s", key(got), gb, wb)
		}
	}
}
