package apptest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
)

// Timeouts: generous, because the machines that run the tests are shared.
const (
	stopTimeout   = 60 * time.Second
	replayTimeout = 90 * time.Second
)

// Process is one downsignal process running inside the test binary.
type Process struct {
	App *app.App
	// Logs holds everything the process logged, at debug level.
	Logs *LogBuffer

	cancel context.CancelFunc // nil once stopped
	done   chan error         // Run's result; nil until Run
}

// Start builds a process from o and runs it, as Build then Run. The process
// is stopped when the test ends, if it was not before.
func Start(tb testing.TB, o app.Options) *Process {
	tb.Helper()
	p := Build(tb, o)
	p.Run()
	return p
}

// Build builds a process from o without running it (a benchmark times Run
// alone). Unset, o gets loopback defaults: run mode, a temporary data
// directory, the API on 127.0.0.1:0 and, without Brokers, the embedded
// broker on 127.0.0.1:0. Its Logger is replaced by one writing to Logs.
// The process is stopped and closed when the test ends; if the test failed,
// the end of its logs goes to the test log.
func Build(tb testing.TB, o app.Options) *Process {
	tb.Helper()
	logs := &LogBuffer{}
	o.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.Mode == "" {
		o.Mode = app.ModeRun
	}
	if o.DataDir == "" {
		o.DataDir = tb.TempDir()
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.BrokerListen == "" && len(o.Brokers) == 0 {
		o.BrokerListen = "127.0.0.1:0"
	}
	// Not the test's context: that one ends before cleanups run, and the
	// process must stop only when Stop says so.
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Build(ctx, o)
	if err != nil {
		cancel()
		tb.Fatalf("build: %v\n%s", err, logs.Tail(4000))
	}
	p := &Process{App: a, Logs: logs, cancel: cancel}
	tb.Cleanup(func() {
		p.Stop(tb)
		if tb.Failed() {
			tb.Logf("process logs (end):\n%s", logs.Tail(6000))
		}
	})
	return p
}

// Run starts the process's stages; it does not wait for anything.
func (p *Process) Run() {
	p.done = make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	build := p.cancel
	p.cancel = func() { cancel(); build() }
	go func() { p.done <- p.App.Run(ctx) }()
}

// Stop shuts the process down as SIGTERM would (Run's context ends, then
// Close) and fails the test unless Run returned no error within a minute
// and Close succeeded. Stopping a stopped process does nothing.
func (p *Process) Stop(tb testing.TB) {
	tb.Helper()
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	if p.done != nil {
		select {
		case err := <-p.done:
			if err != nil {
				tb.Errorf("run: %v", err)
			}
		case <-time.After(stopTimeout):
			tb.Fatalf("run did not stop within %v; logs:\n%s", stopTimeout, p.Logs.Tail(6000))
		}
	}
	if err := p.App.Close(); err != nil {
		tb.Errorf("close: %v", err)
	}
}

// WaitReplayed waits until everything the replay source held is
// searchable (app.App.WaitReplayed), failing the test after 90 s.
func (p *Process) WaitReplayed(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replayTimeout)
	defer cancel()
	if err := p.App.WaitReplayed(ctx); err != nil {
		tb.Fatalf("wait for the replay: %v; logs:\n%s", err, p.Logs.Tail(4000))
	}
}
