package detect

import (
	"errors"
	"log/slog"
	"time"

	"github.com/downsignal/downsignal/baseline"
)

// Options configures an Engine. Zero values take the defaults.
type Options struct {
	// Path of the bbolt file (created on first use).
	Path    string
	Logger  *slog.Logger
	Metrics *Metrics
	// EndOffsets returns the end offset of every partition of the signals
	// topic. The watermark waits for partitions that still hold unread
	// records; nil treats unseen partitions as empty.
	EndOffsets func() (map[int]int64, error)

	// Window is the sliding window of an evaluation, in minutes. Default 5.
	Window int
	// MinAuthors is the fewest distinct voices in a window that can fire.
	// Default 5.
	MinAuthors int
	// FireScore is the anomaly score (-log10 p) needed to fire. Default 4.
	FireScore float64
	// Ratio is how many times the expected voices a window must reach to
	// fire. Default 3.
	Ratio float64
	// Confirm is how many evaluations in a row must cross the firing level
	// before a pending incident fires (an error-code cluster fires at
	// once). Default 2.
	Confirm int
	// ExitAuthors and ExitRatio are the lower level a firing incident must
	// stay under (voices per window) to count a quiet minute. Defaults 3
	// and 1.5.
	ExitAuthors int
	ExitRatio   float64
	// QuietMinutes below the exit level resolve an incident. Default 15.
	QuietMinutes int
	// CodeAuthors distinct voices quoting one error code in a window make
	// a code cluster. Default 3.
	CodeAuthors int
	// MajorAuthors and CriticalAuthors are the peak voices per window that
	// make an incident major or critical. Defaults 25 and 100.
	MajorAuthors    int
	CriticalAuthors int
	// Warmup is how many minutes of stream the detector must have seen
	// before it opens incidents. Default 60.
	Warmup int
	// GapRatio: a minute whose total post volume falls under GapRatio x
	// its expected volume is an ingest gap (only when at least GapVolume
	// posts per minute were expected). Defaults 0.1 and 20.
	GapRatio  float64
	GapVolume float64
	// DropRatio, DropMinutes, RecoverRatio and RecoverMinutes set when the
	// whole stream's volume is a Bluesky outage (see volume.go). Defaults
	// 0.25, 5, 0.5 and 3.
	DropRatio      float64
	DropMinutes    int
	RecoverRatio   float64
	RecoverMinutes int
	// SourceLive reports whether the source feeding the stream is live (a
	// replay counts as live); a volume drop while it is not is our outage,
	// not Bluesky's. nil: always live.
	SourceLive func() bool
	// FollowClock reports whether the source is a live network source
	// that is connected: then an idle, caught-up stream's watermark
	// follows the wall clock (a minute behind), so a silent stream is
	// evaluated while it is silent (see Tick). nil: event time only.
	FollowClock func() bool
	// GlobalGroups is the fewest service groups crossing the firing level
	// in one minute that count as "everything spikes at once" and suppress
	// new incidents. Default 5.
	GlobalGroups int
	// IdleAfter is how long (wall clock) a caught-up partition must stay
	// silent before the watermark stops waiting for it. Default 5s.
	IdleAfter time.Duration
	// RetentionDays of per-minute history and resolved incidents. Default 35.
	RetentionDays int
	// Baseline tunes the seasonal/EWMA baseline.
	Baseline baseline.Options
}

func (o *Options) validate() error {
	if o.Path == "" {
		return errors.New("alert: empty store path")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Window, 5)
	def(&o.MinAuthors, 5)
	deff(&o.FireScore, 4)
	deff(&o.Ratio, 3)
	def(&o.Confirm, 2)
	def(&o.ExitAuthors, 3)
	deff(&o.ExitRatio, 1.5)
	def(&o.QuietMinutes, 15)
	def(&o.CodeAuthors, 3)
	def(&o.MajorAuthors, 25)
	def(&o.CriticalAuthors, 100)
	def(&o.Warmup, 60)
	deff(&o.GapRatio, 0.1)
	deff(&o.GapVolume, 20)
	deff(&o.DropRatio, 0.25)
	def(&o.DropMinutes, 5)
	deff(&o.RecoverRatio, 0.5)
	def(&o.RecoverMinutes, 3)
	def(&o.GlobalGroups, 5)
	def(&o.RetentionDays, 35)
	if o.IdleAfter <= 0 {
		o.IdleAfter = 5 * time.Second
	}
	if o.Window > 60 {
		return errors.New("alert: window longer than 60 minutes")
	}
	if o.ExitAuthors > o.MinAuthors {
		return errors.New("alert: exit level above the firing level")
	}
	return nil
}
