package labels_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/labels"
)

func label(uri string, outage bool, services ...string) labels.Label {
	return labels.Label{
		URI:        uri,
		Correction: labels.Correction{Outage: outage, Services: services, At: time.Date(2026, 1, 22, 20, 0, 0, 0, time.UTC)},
		Post:       labels.Post{Author: "did:plc:a", Text: "outlook down?", Langs: []string{"en"}, Time: time.Date(2026, 1, 22, 19, 31, 0, 0, time.UTC), Outage: !outage, Score: 0.7},
	}
}

// A correction is durable: it survives closing and reopening the file, a
// second correction of the same post replaces the first, and Get returns
// only the posts that have one.
func TestStoreKeepsCorrections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "labels.db")
	st, err := labels.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, l := range []labels.Label{label("at://a/1", true, "Outlook"), label("at://a/2", false), label("at://a/1", false)} {
		if err := st.Put(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = labels.Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Get([]string{"at://a/1", "at://a/2", "at://a/3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["at://a/1"].Outage || len(got["at://a/1"].Services) != 0 || got["at://a/2"].Outage {
		t.Fatalf("after reopening: %+v, want a/1 replaced by 'not an outage' and a/2 'not an outage'", got)
	}
	var n int
	if err := st.Each(func(l labels.Label) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("Each saw %d labels (%v), want 2", n, err)
	}
}

func TestStoreRefusesBadLabels(t *testing.T) {
	st, err := labels.Open(filepath.Join(t.TempDir(), "labels.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	many := make([]string, labels.MaxServices+1)
	for i := range many {
		many[i] = "x"
	}
	for name, l := range map[string]labels.Label{
		"no uri":        label("", true),
		"empty service": label("at://a/1", true, ""),
		"too many":      label("at://a/1", true, many...),
		"long service":  label("at://a/1", true, strings.Repeat("s", 200)),
	} {
		if err := st.Put(context.Background(), l); err == nil {
			t.Errorf("%s: stored, want an error", name)
		}
	}
}

// The export is one corpus line per correction, with the post's text and
// the analyst's verdict (the fields classify/learn reads).
func TestWriteExport(t *testing.T) {
	st, err := labels.Open(filepath.Join(t.TempDir(), "labels.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Put(context.Background(), label("at://a/1", true, "Outlook")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := st.WriteExport(&buf)
	if err != nil || n != 1 {
		t.Fatalf("exported %d (%v), want 1", n, err)
	}
	var e labels.Exported
	if err := json.Unmarshal(buf.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if e.ID != "analyst:at://a/1" || e.Source != "analyst" || e.Text != "outlook down?" || !e.Outage || e.Intent != "outage" ||
		e.Lang != "en" || e.Ref != "at://a/1" || len(e.Services) != 1 {
		t.Errorf("export line %s", buf.Bytes())
	}
}
