package synthetic

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/record"
)

func TestWriteIsReproducibleAndDecodes(t *testing.T) {
	var a, b bytes.Buffer
	o := Options{Seed: 42, Posts: 2000}
	if err := Write(&a, o); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote two different captures")
	}
	sc := bufio.NewScanner(&a)
	var n, named int
	var last time.Time
	uris := map[string]bool{}
	for sc.Scan() {
		ev, _, err := jetstream.Decode(sc.Bytes(), "replay")
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if ev.Kind != record.KindPost || ev.Text == "" || len(ev.Langs) != 1 {
			t.Fatalf("line %d: %+v, want a post with text and one lang", n+1, ev)
		}
		if ev.Time.Before(last) {
			t.Fatalf("line %d: event time goes backwards", n+1)
		}
		if uris[ev.URI] {
			t.Fatalf("line %d: duplicate uri %s", n+1, ev.URI)
		}
		uris[ev.URI], last = true, ev.Time
		n++
		for _, s := range services {
			if strings.Contains(ev.Text, s) {
				named++
				break
			}
		}
	}
	if n != 2000 {
		t.Fatalf("wrote %d posts, want 2000", n)
	}
	// 2% outage reports and 5% mentions by default: about 140 of 2000.
	if named < 90 || named > 200 {
		t.Errorf("%d of 2000 posts name a service, want about 140", named)
	}
}
