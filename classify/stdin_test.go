package classify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunStdinContract(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	long := `{"id":"big","text":"` + strings.Repeat("a", maxStdinLine) + `"}`
	input := strings.Join([]string{
		`{"id":"p1","text":"Outlook down for anyone else? 451 4.3.2 temporary server issue","lang":"en","created_at":"2026-01-22T19:31:12Z"}`,
		`{"id":"p2","text":"lovely walk in the park today"}`,
		`{"text":"no id here"}`,
		`{"id":"p4"}`,
		`{"id":"p5","text":"x","created_at":"yesterday"}`,
		`not json at all`,
		``,
		long,
		`{"id":"p9","text":"último"}`,
	}, "\n") // no newline after the last line: it still counts

	var out bytes.Buffer
	if err := RunStdin(context.Background(), c, strings.NewReader(input), &out, StdinOptions{}); err != nil {
		t.Fatalf("RunStdin: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 9 {
		t.Fatalf("got %d output lines, want one per input line (9):\n%s", len(lines), out.String())
	}

	type result struct {
		ID         *string  `json:"id"`
		Outage     *bool    `json:"outage"`
		Score      *float64 `json:"score"`
		Services   []struct{ Name string }
		ErrorCodes []struct{ Code, Family string } `json:"error_codes"`
		Error      string                          `json:"error"`
	}
	parse := func(i int) result {
		var r result
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil {
			t.Fatalf("line %d %q: %v", i+1, lines[i], err)
		}
		return r
	}

	r := parse(0)
	if r.ID == nil || *r.ID != "p1" || r.Outage == nil || !*r.Outage || r.Score == nil || *r.Score <= 0 || *r.Score > 1 {
		t.Errorf("line 1: got %s, want p1 classified as an outage with a score in (0,1]", lines[0])
	}
	if len(r.Services) == 0 || r.Services[0].Name != "Outlook" {
		t.Errorf("line 1: services %+v, want Outlook first", r.Services)
	}
	if len(r.ErrorCodes) == 0 || r.ErrorCodes[0].Code != "451 4.3.2" || r.ErrorCodes[0].Family != "smtp" {
		t.Errorf("line 1: error codes %+v, want 451 4.3.2 (smtp)", r.ErrorCodes)
	}
	if r := parse(1); r.ID == nil || *r.ID != "p2" || r.Outage == nil || *r.Outage || r.Error != "" {
		t.Errorf("line 2: got %s, want p2 not an outage", lines[1])
	}
	// services and error_codes are arrays, never null, so consumers can iterate.
	if !strings.Contains(lines[1], `"services":[]`) || !strings.Contains(lines[1], `"error_codes":[]`) {
		t.Errorf("line 2: %s, want empty arrays for services and error_codes", lines[1])
	}
	errorLines := []struct {
		line   int
		id     string // "" means null
		reason string
	}{
		{2, "", `missing "id"`},
		{3, "p4", `missing "text"`},
		{4, "p5", "created_at"},
		{5, "", "invalid JSON"},
		{6, "", "empty line"},
		{7, "", "longer than"},
	}
	for _, e := range errorLines {
		r := parse(e.line)
		gotID := ""
		if r.ID != nil {
			gotID = *r.ID
		}
		if gotID != e.id || !strings.Contains(r.Error, e.reason) || r.Outage != nil {
			t.Errorf("line %d: got %s, want an error line with id %q mentioning %q", e.line+1, lines[e.line], e.id, e.reason)
		}
	}
	if r := parse(8); r.ID == nil || *r.ID != "p9" || r.Error != "" {
		t.Errorf("last line without newline: got %s", lines[8])
	}
}

// TestRunStdinExplain checks --explain: a scored post lists the features
// that moved its score, strongest first, and their sum with the bias is
// the logit behind its score; a post that is no candidate explains nothing.
func TestRunStdinExplain(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	input := `{"id":"a","text":"is Outlook down for anyone else? can't send since 9am"}` + "\n" + `{"id":"b","text":"lovely walk in the park today"}` + "\n"
	var out bytes.Buffer
	if err := RunStdin(context.Background(), c, strings.NewReader(input), &out, StdinOptions{Explain: 5}); err != nil {
		t.Fatal(err)
	}
	var got []StdinResult
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r StdinResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2", len(got))
	}
	if !got[0].Outage || len(got[0].Explain) != 5 {
		t.Fatalf("a: outage %v with %d explained features, want an outage with 5: %+v", got[0].Outage, len(got[0].Explain), got[0].Explain)
	}
	for i := 1; i < len(got[0].Explain); i++ {
		if abs(got[0].Explain[i].Weight) > abs(got[0].Explain[i-1].Weight) {
			t.Errorf("explanation not strongest first: %+v", got[0].Explain)
		}
	}
	// The full explanation adds up to the model's logit.
	_, all := c.Explain(Input{Text: "is Outlook down for anyone else? can't send since 9am"}, 1<<20)
	var sum float64
	for _, w := range all {
		sum += w.Weight
	}
	if p := c.model.Prob(sum); abs(p-got[0].Score) > 0.01 {
		t.Errorf("contributions sum to a logit with probability %.3f, score is %.3f", p, got[0].Score)
	}
	if got[1].Outage || got[1].Explain != nil {
		t.Errorf("b: %+v, want no outage and no explanation", got[1])
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
