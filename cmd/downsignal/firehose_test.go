package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/ingesttest"
	"github.com/downsignal/downsignal/internal/apptest"
)

// freeAddr is a loopback address for a process the test starts.
func freeAddr(t *testing.T) string { return apptest.FreeAddr(t) }

// TestRunFirehoseFromTheCommandLine runs "downsignal run --source firehose
// --relay ws://..." against a fake relay: a post becomes searchable, and
// deleting it on the relay removes it.
func TestRunFirehoseFromTheCommandLine(t *testing.T) {
	relay := ingesttest.NewRelay()
	defer relay.Close()
	carol, err := ingesttest.NewAccount("did:plc:carol")
	if err != nil {
		t.Fatal(err)
	}
	api := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- newCommand().Run(ctx, []string{"downsignal", "--log-level", "warn", "run",
			"--source", "firehose", "--relay", relay.URL(),
			"--data-dir", t.TempDir(), "--listen", api, "--broker-listen", freeAddr(t)})
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("run did not stop within 60s")
		}
	}()

	total := func() int {
		res, err := http.Get("http://" + api + "/v1/search?q=" + url.QueryEscape("AADSTS50058"))
		if err != nil {
			return -1
		}
		defer res.Body.Close()
		var body struct{ Total int }
		if json.NewDecoder(res.Body).Decode(&body) != nil {
			return -1
		}
		return body.Total
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	wait("ingest to connect to the relay", func() bool { return relay.Clients() == 1 })
	if _, err := relay.Create(carol, ingesttest.Post{RKey: "3ccc", Text: "Teams sign-in broken: AADSTS50058 for everyone", Langs: []string{"en"}}); err != nil {
		t.Fatal(err)
	}
	wait("the post to be searchable", func() bool { return total() == 1 })
	if _, err := relay.Delete(carol, "3ccc"); err != nil {
		t.Fatal(err)
	}
	wait("the deleted post to leave the index", func() bool { return total() == 0 })
}
