package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// LoadConfig reads the endpoints of a configuration file,
// {"webhooks": [{name, url, format, secret, services, min_severity,
// event_types, routing_key, description}]}. Unknown fields are an error: a misspelt
// "min_severty" would otherwise page everyone for everything.
func LoadConfig(path string) ([]ConfigEndpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("webhook config: %w", err)
	}
	var doc struct {
		Webhooks []ConfigEndpoint `json:"webhooks"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("webhook config %s: %w", path, err)
	}
	return doc.Webhooks, nil
}

// FlagEndpoint is the endpoint of one --webhook value: a URL, or
// FORMAT=URL with a format of Formats, signed with secret.
func FlagEndpoint(value, secret string) ConfigEndpoint {
	c := ConfigEndpoint{URL: value, Secret: secret}
	if f, rest, ok := strings.Cut(value, "="); ok && slices.Contains(Formats, Format(f)) {
		c.Format, c.URL = f, rest
	}
	c.Name = "flag " + c.URL
	return c
}
