package wsconn

import (
	"testing"
	"time"
)

func TestBackoffCapsLowAfterAHealthySession(t *testing.T) {
	o := Options{MinBackoff: time.Second, MaxBackoff: 2 * time.Minute, HealthyMaxBackoff: 5 * time.Second, HealthyWindow: 10 * time.Minute}
	t0 := time.Date(2026, 1, 22, 14, 0, 0, 0, time.UTC)

	b := newBackoff(o)
	b.healthy(t0)
	var waited, longest time.Duration
	for waited < 9*time.Minute {
		d := b.next(t0.Add(waited))
		if d > o.HealthyMaxBackoff {
			t.Fatalf("%s after a healthy session: wait %s, want at most %s", waited, d, o.HealthyMaxBackoff)
		}
		longest = max(longest, d)
		waited += d
	}
	if longest < o.HealthyMaxBackoff/2 {
		t.Errorf("longest wait %s in 9 minutes of failures, want it grown to the cap (%s)", longest, o.HealthyMaxBackoff)
	}
	// Away past the window: the source is really down; spare it.
	for range 12 {
		longest = max(longest, b.next(t0.Add(11*time.Minute)))
	}
	if longest < o.MaxBackoff/2 || longest > o.MaxBackoff {
		t.Errorf("longest wait %s after 11 minutes away, want between %s and %s", longest, o.MaxBackoff/2, o.MaxBackoff)
	}

	// A fresh healthy session starts over from the minimum.
	b.healthy(t0.Add(time.Hour))
	if d := b.next(t0.Add(time.Hour)); d > o.MinBackoff {
		t.Errorf("first wait after a healthy session %s, want at most %s", d, o.MinBackoff)
	}

	// Never reached: grows to MaxBackoff.
	never := newBackoff(o)
	longest = 0
	for range 12 {
		longest = max(longest, never.next(t0))
	}
	if longest < o.MaxBackoff/2 {
		t.Errorf("a source never reached: longest wait %s, want at least %s", longest, o.MaxBackoff/2)
	}
}
