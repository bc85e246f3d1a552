package broker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// scrapeLag gathers the collector as a scrape would and returns its series
// by stage: value and labels.
func scrapeLag(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "downsignal_consumer_lag_records" {
			t.Errorf("unexpected metric %s", mf.GetName())
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// The lag a scrape reports is Kafka's own account of the group: the whole
// topic before the group commits anything, what is left after it commits
// part of it, zero once it commits everything, and no series (not a stale
// figure) when Kafka does not answer.
func TestLagCollectorReportsTheGroupsUncommittedRecords(t *testing.T) {
	e := startBroker(t, t.TempDir(), "127.0.0.1:0")
	brokers := []string{e.Addr()}
	const topic = "test.lag"
	ctx := context.Background()
	if err := EnsureTopics(ctx, brokers, []TopicSpec{{Name: topic, Partitions: 3, ReplicationFactor: 1, Retention: time.Hour, MaxMessageBytes: maxBatchBytes}}); err != nil {
		t.Fatal(err)
	}
	write(t, brokers, topic, 30, 0)

	c := NewLagCollector(brokers, []Hop{{Stage: "classify", Topic: topic, Group: "g"}}, slog.New(slog.NewTextHandler(t.Output(), nil)))
	const series = "group=g stage=classify topic=test.lag "
	want := func(n float64) {
		t.Helper()
		got := scrapeLag(t, c)
		if len(got) != 1 || got[series] != n {
			t.Errorf("lag: got %v, want {%s: %v}", got, series, n)
		}
	}
	want(30)
	end, err := EndOffsets(ctx, brokers, topic)
	if err != nil {
		t.Fatal(err)
	}
	reached := func(want bool) {
		t.Helper()
		if ok, err := GroupReached(ctx, brokers, "g", topic, end); err != nil || ok != want {
			t.Errorf("group reached the end: %v %v, want %v", ok, err, want)
		}
	}
	reached(false)

	r := NewReader(ReaderOptions{Brokers: brokers, Topic: topic, GroupID: "g"})
	fetchCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range 30 {
		m, err := r.FetchMessage(fetchCtx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if err := r.CommitMessages(fetchCtx, m); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		if i == 9 {
			want(20)
			reached(false)
		}
	}
	want(0)
	reached(true)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	e.Close()
	if got := scrapeLag(t, c); len(got) != 0 {
		t.Errorf("with the broker gone: %v, want no series", got)
	}
}
