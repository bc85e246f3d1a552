package classify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/downsignal/downsignal/record"
)

// StdinLine is one input line of "downsignal classify --stdin".
type StdinLine struct {
	ID        *string  `json:"id"`
	Text      *string  `json:"text"`
	Lang      string   `json:"lang,omitempty"`
	Langs     []string `json:"langs,omitempty"`
	CreatedAt string   `json:"created_at,omitempty"`
}

// StdinResult is one output line for a line that classified.
type StdinResult struct {
	ID         string              `json:"id"`
	Outage     bool                `json:"outage"`
	Score      float64             `json:"score"`
	Intent     string              `json:"intent"`
	Services   []record.ServiceHit `json:"services"`
	ErrorCodes []record.ErrorCode  `json:"error_codes"`
	Regions    []record.Region     `json:"regions,omitempty"`
	// Explain lists the features that moved the score most, strongest
	// first, with --explain (and only for posts the model scored).
	Explain []Contribution `json:"explain,omitempty"`
}

// StdinOptions configures RunStdin.
type StdinOptions struct {
	// Explain is how many features each result explains its score with; 0
	// explains nothing.
	Explain int
}

// StdinError is the output line for a line that did not. ID is null when
// the line had no readable id.
type StdinError struct {
	ID    *string `json:"id"`
	Error string  `json:"error"`
}

// maxStdinLine bounds one input line; a longer line gets an error line.
const maxStdinLine = 1 << 20

// RunStdin reads JSON lines from r and writes exactly one JSON line per
// input line to w, in order. A bad line gets an error line and the run goes
// on; only I/O errors stop it. Output is flushed whenever the input has no
// more buffered data, so it works as a streaming filter.
func RunStdin(ctx context.Context, c *Classifier, r io.Reader, w io.Writer, o StdinOptions) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := readStdinLine(br)
		if errors.Is(err, io.EOF) {
			return bw.Flush()
		}
		var out any
		switch {
		case errors.Is(err, errStdinTooLong):
			out = StdinError{Error: err.Error()}
		case err != nil:
			return fmt.Errorf("read input: %w", err)
		case len(strings.TrimSpace(string(line))) == 0:
			out = StdinError{Error: "empty line"}
		default:
			out = classifyLine(c, line, o)
		}
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
	}
}

func classifyLine(c *Classifier, line []byte, o StdinOptions) any {
	var in StdinLine
	if err := json.Unmarshal(line, &in); err != nil {
		// Still try to echo the id, so the caller can match the error.
		var idOnly struct {
			ID *string `json:"id"`
		}
		_ = json.Unmarshal(line, &idOnly)
		return StdinError{ID: idOnly.ID, Error: "invalid JSON: " + err.Error()}
	}
	switch {
	case in.ID == nil || *in.ID == "":
		return StdinError{ID: in.ID, Error: `missing "id"`}
	case in.Text == nil:
		return StdinError{ID: in.ID, Error: `missing "text"`}
	}
	if in.CreatedAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, in.CreatedAt); err != nil {
			return StdinError{ID: in.ID, Error: fmt.Sprintf("created_at %q is not RFC 3339", truncateRunes(in.CreatedAt, 64))}
		}
	}
	langs := in.Langs
	if in.Lang != "" {
		langs = append([]string{in.Lang}, langs...)
	}
	var r record.Result
	var why []Contribution
	if o.Explain > 0 {
		r, why = c.Explain(Input{Text: *in.Text, Langs: langs}, o.Explain)
	} else {
		r = c.Classify(Input{Text: *in.Text, Langs: langs})
	}
	return StdinResult{
		ID: *in.ID, Outage: r.Outage, Score: r.Score, Intent: r.Intent,
		Services: r.Services, ErrorCodes: r.ErrorCodes, Regions: r.Regions, Explain: why,
	}
}

var errStdinTooLong = fmt.Errorf("line longer than %d bytes", maxStdinLine)

func readStdinLine(br *bufio.Reader) ([]byte, error) {
	line, isPrefix, err := br.ReadLine()
	if err != nil || !isPrefix {
		return line, err
	}
	buf := append([]byte(nil), line...)
	for isPrefix {
		line, isPrefix, err = br.ReadLine()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(buf) <= maxStdinLine {
			buf = append(buf, line...)
		}
	}
	if len(buf) > maxStdinLine {
		return nil, errStdinTooLong
	}
	return buf, nil
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}
