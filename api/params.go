package api

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// paramError is a bad query parameter; it becomes a 400.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{msg: fmt.Sprintf(format, args...)}
}

// maxParamLen bounds any one query parameter.
const maxParamLen = 4096

// params reads query parameters, refusing unknown, repeated or oversized
// ones: a typo like "sevice=" must not silently widen a search.
type params struct {
	v   url.Values
	now time.Time
}

func newParams(u *url.URL, now time.Time, known ...string) (*params, error) {
	v, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, badParam("query string: %v", err)
	}
	allowed := make(map[string]bool, len(known))
	for _, k := range known {
		allowed[k] = true
	}
	for k, vals := range v {
		if !allowed[k] {
			if len(known) == 0 {
				return nil, badParam("unknown parameter %q: this endpoint takes none", truncate(k, 64))
			}
			return nil, badParam("unknown parameter %q (known: %s)", truncate(k, 64), strings.Join(known, ", "))
		}
		if len(vals) > 1 {
			return nil, badParam("parameter %q given %d times", k, len(vals))
		}
		if len(vals[0]) > maxParamLen {
			return nil, badParam("parameter %q longer than %d bytes", k, maxParamLen)
		}
	}
	return &params{v: v, now: now}, nil
}

func (p *params) str(k string) string { return strings.TrimSpace(p.v.Get(k)) }

// service reads a service name, ID or alias and returns its canonical
// name ("" when the parameter is absent). Every endpoint resolves services
// this way, and refuses an unknown one with the same 400.
func (p *params) service(k string, cat Catalog) (string, error) {
	name := p.str(k)
	if name == "" {
		return "", nil
	}
	return canonicalService(cat, name)
}

// canonicalService resolves a service name, ID or alias in a query or a
// body to the catalog's canonical name.
func canonicalService(cat Catalog, name string) (string, error) {
	name = strings.TrimSpace(name)
	if cat != nil && name != "" {
		if svc, ok := cat.Lookup(name); ok {
			return svc.Name, nil
		}
	}
	return "", badParam("unknown service %s (GET /v1/services lists them)", quote(name))
}

// time accepts RFC 3339 ("2026-01-22T14:30:00Z"), or a duration before now
// ("-90m", "-2h").
func (p *params) time(k string) (time.Time, error) {
	s := p.str(k)
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s[1:])
		if err != nil || d <= 0 {
			return time.Time{}, badParam("%s=%q: want RFC 3339 or a duration before now like -2h", k, truncate(s, 64))
		}
		return p.now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badParam("%s=%q: want RFC 3339 (2026-01-22T14:30:00Z) or a duration before now like -2h", k, truncate(s, 64))
	}
	return t.UTC(), nil
}

func (p *params) int(k string, def, min, max int) (int, error) {
	s := p.str(k)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		return 0, badParam("%s=%q: want an integer from %d to %d", k, truncate(s, 32), min, max)
	}
	return n, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (p *params) bool(k string) (bool, error) {
	switch strings.ToLower(p.str(k)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, badParam("%s=%q: want true or false", k, truncate(p.str(k), 16))
}

func (p *params) float(k string, min, max float64) (float64, error) {
	s := p.str(k)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < min || f > max || f != f {
		return 0, badParam("%s=%q: want a number from %g to %g", k, truncate(s, 32), min, max)
	}
	return f, nil
}

// oneOf reads an enumerated parameter; empty gives def.
func (p *params) oneOf(k, def string, allowed ...string) (string, error) {
	s := p.str(k)
	if s == "" {
		return def, nil
	}
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return a, nil
		}
	}
	return "", badParam("%s=%q: want one of %s", k, truncate(s, 32), strings.Join(allowed, ", "))
}
