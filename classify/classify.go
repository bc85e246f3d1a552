package classify

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

//go:embed catalog.json
var catalogJSON []byte

// Service is one entry of the catalog.
type Service struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Parent     string   `json:"parent,omitempty"`
	Category   string   `json:"category,omitempty"`
	StatusPage string   `json:"status_page,omitempty"`
	Aliases    []string `json:"aliases,omitempty"`
	Hashtags   []string `json:"hashtags,omitempty"`
	Handles    []string `json:"handles,omitempty"`
	Domains    []string `json:"domains,omitempty"`
}

// Catalog is the set of services the classifier knows.
type Catalog struct {
	services []Service
	byKey    map[string]int
}

// Services returns every service, sorted by ID.
func (c *Catalog) Services() []Service { return c.services }

// Lookup finds a service by ID, name or alias, ignoring case.
func (c *Catalog) Lookup(s string) (Service, bool) {
	i, ok := c.byKey[strings.ToLower(s)]
	if !ok {
		return Service{}, false
	}
	return c.services[i], true
}

// Children returns the services whose parent is id.
func (c *Catalog) Children(id string) []Service {
	var out []Service
	for _, s := range c.services {
		if s.Parent == id {
			out = append(out, s)
		}
	}
	return out
}

// Input is one post to classify.
type Input struct {
	Text  string
	Langs []string
}

// Result is what the classifier found in a post.
type Result struct {
	Outage     bool         `json:"outage"`
	Score      float64      `json:"score"`
	Intent     string       `json:"intent"`
	Services   []ServiceHit `json:"services"`
	ErrorCodes []ErrorCode  `json:"error_codes"`
	Regions    []Region     `json:"regions,omitempty"`
}

// ServiceHit is a service named in a post.
type ServiceHit struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Parent   string `json:"parent,omitempty"`
	Category string `json:"category,omitempty"`
	Matched  string `json:"matched"`
}

// ErrorCode is an error code quoted in a post.
type ErrorCode struct {
	Code    string `json:"code"`
	Family  string `json:"family"`
	Meaning string `json:"meaning,omitempty"`
}

// Region is a place a post names.
type Region struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Code string `json:"code,omitempty"`
}

// Classifier finds services, outage intent and error codes in posts.
type Classifier struct {
	catalog *Catalog
	names   []nameKey
}

type nameKey struct {
	lower string
	svc   int
}

// New loads the embedded catalog.
func New() (*Classifier, error) {
	var doc struct {
		Services []Service `json:"services"`
	}
	if err := json.Unmarshal(catalogJSON, &doc); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	sort.Slice(doc.Services, func(i, j int) bool { return doc.Services[i].ID < doc.Services[j].ID })
	cat := &Catalog{services: doc.Services, byKey: make(map[string]int)}
	c := &Classifier{catalog: cat}
	for i, s := range doc.Services {
		for _, k := range append([]string{s.ID, s.Name}, s.Aliases...) {
			cat.byKey[strings.ToLower(k)] = i
		}
		for _, k := range append([]string{s.Name}, s.Aliases...) {
			c.names = append(c.names, nameKey{lower: strings.ToLower(k), svc: i})
		}
	}
	// Longer names first so "Microsoft Teams" wins over "Teams".
	sort.SliceStable(c.names, func(i, j int) bool { return len(c.names[i].lower) > len(c.names[j].lower) })
	return c, nil
}

// Catalog returns the catalog the classifier uses.
func (c *Classifier) Catalog() *Catalog { return c.catalog }

var (
	outagePhrases   = regexp.MustCompile(`(?i)\b(is|are)\s+\S+\s+down\b|\bdown\b.*\?|\bdown for (anyone|everyone)|\bnot working\b|\boutage\b|\bcan'?t (log ?in|connect|sign in)|\bisn'?t working|\bnot loading\b|\bbroken\b`)
	recoveryPhrases = regexp.MustCompile(`(?i)\bback (up|online)\b|\bworking again\b|\bresolved\b`)
	smtpRe          = regexp.MustCompile(`\b([245][0-5]\d)[ -]([245]\.\d{1,3}\.\d{1,3})\b`)
	httpRe          = regexp.MustCompile(`(?i)\b(?:http|error|status)\s*([1-5]\d\d)\b`)
)

// Classify classifies one post.
func (c *Classifier) Classify(in Input) Result {
	text := in.Text
	if len(text) > 8<<10 {
		text = text[:8<<10]
	}
	lower := strings.ToLower(text)
	res := Result{Services: []ServiceHit{}, ErrorCodes: []ErrorCode{}, Intent: "none"}
	seen := map[int]bool{}
	taken := make([]bool, len(lower))
	for _, n := range c.names {
		from := 0
		for {
			i := strings.Index(lower[from:], n.lower)
			if i < 0 {
				break
			}
			i += from
			j := i + len(n.lower)
			from = j
			if !boundary(lower, i, j) || taken[i] {
				continue
			}
			for k := i; k < j; k++ {
				taken[k] = true
			}
			if !seen[n.svc] {
				seen[n.svc] = true
				s := c.catalog.services[n.svc]
				matched := lower[i:j]
				if len(text) == len(lower) {
					matched = text[i:j]
				}
				hit := ServiceHit{ID: s.ID, Name: s.Name, Category: s.Category, Matched: matched}
				if p, ok := c.catalog.Lookup(s.Parent); ok {
					hit.Parent = p.Name
				}
				res.Services = append(res.Services, hit)
			}
		}
	}
	for _, m := range smtpRe.FindAllStringSubmatch(text, 8) {
		res.ErrorCodes = append(res.ErrorCodes, ErrorCode{Code: m[1] + " " + m[2], Family: "smtp"})
	}
	for _, m := range httpRe.FindAllStringSubmatch(text, 8) {
		res.ErrorCodes = append(res.ErrorCodes, ErrorCode{Code: "HTTP " + m[1], Family: "http"})
	}
	switch {
	case recoveryPhrases.MatchString(text):
		res.Intent = "recovery"
	case outagePhrases.MatchString(text) || len(res.ErrorCodes) > 0:
		res.Intent = "outage"
	}
	if res.Intent == "outage" {
		res.Score = 0.6
		if len(res.ErrorCodes) > 0 {
			res.Score = 0.85
		}
		res.Outage = len(res.Services) > 0
	}
	return res
}

// boundary reports whether s[i:j] is a whole word.
func boundary(s string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	if j < len(s) {
		r, _ := utf8.DecodeRuneInString(s[j:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
