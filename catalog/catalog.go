package catalog

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

//go:embed regions.yaml
var regionsYAML []byte

// Service is one entry of the catalog: an online service that people complain about when it fails.
type Service struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Parent     string   `json:"parent,omitempty"` // the parent's ID
	Category   string   `json:"category,omitempty"`
	StatusPage string   `json:"status_page,omitempty"`
	Aliases    []string `json:"aliases,omitempty"` // every other name, ambiguous ones included
	Hashtags   []string `json:"hashtags,omitempty"`
	Handles    []string `json:"handles,omitempty"`
	Domains    []string `json:"domains,omitempty"`

	Weak  []string `json:"-"` // names that are also ordinary words: they need a cue nearby
	Exact []string `json:"-"` // like Weak, and they must be written in exactly this case
	Langs []string `json:"-"` // Weak and Exact names count only in posts in these languages
}

// Catalog is the set of known services. It is read-only after New.
type Catalog struct {
	services []Service      // sorted by ID
	byID     map[string]int // ID -> index in services
	byName   map[string]int // folded ID, name or alias -> index in services
	children map[string][]int
	groups   []int // index of each service's group (see Group)
	regions  []Place
}

// Services returns every service, sorted by ID. The slice is a copy; the services share their
// string slices with the catalog and must not be modified.
func (c *Catalog) Services() []Service {
	return slices.Clone(c.services)
}

// Lookup finds a service by ID, canonical name or alias, ignoring case.
func (c *Catalog) Lookup(idOrName string) (Service, bool) {
	if i, ok := c.byID[idOrName]; ok {
		return c.services[i], true
	}
	if i, ok := c.byName[Fold(idOrName)]; ok {
		return c.services[i], true
	}
	return Service{}, false
}

// Children returns the services whose parent is id, sorted by ID.
func (c *Catalog) Children(id string) []Service {
	idx := c.children[id]
	out := make([]Service, 0, len(idx))
	for _, i := range idx {
		out = append(out, c.services[i])
	}
	return out
}

// VendorCategory marks catalog entries that stand for a company rather
// than a product (Microsoft, Google, Amazon). A vendor groups products that
// fail independently (Outlook and Xbox Live, GitHub and Bing), so it is
// never the group of an incident.
const VendorCategory = "vendor"

// Group returns the service an outage of idOrName is grouped under: its
// top-most ancestor below any vendor (Outlook and Teams: Microsoft 365;
// GitHub Actions: GitHub), or the service itself when it has no such
// ancestor. ok is false for names the catalog does not know.
func (c *Catalog) Group(idOrName string) (group Service, ok bool) {
	s, ok := c.Lookup(idOrName)
	if !ok {
		return Service{}, false
	}
	return c.services[c.groups[c.byID[s.ID]]], true
}

// groupIndex walks up from service i to its group. Parent cycles are
// rejected when the catalog loads; the depth bound is a second guard.
func (c *Catalog) groupIndex(i int) int {
	group := i
	for depth := 0; c.services[group].Parent != "" && depth < 16; depth++ {
		p, ok := c.byID[c.services[group].Parent]
		if !ok || c.services[p].Category == VendorCategory {
			break
		}
		group = p
	}
	return group
}

// Load parses and validates the embedded catalog and region list.
func Load() (*Catalog, error) { return load(catalogYAML, regionsYAML) }

// Len is the number of services; indexes 0..Len()-1 address them in ID
// order, which is how the classifier refers to them on its hot path.
func (c *Catalog) Len() int { return len(c.services) }

// At returns service i. The service shares its slices with the catalog
// and must not be modified.
func (c *Catalog) At(i int) *Service { return &c.services[i] }

// Index returns the index of the service with this ID.
func (c *Catalog) Index(id string) (int, bool) {
	i, ok := c.byID[id]
	return i, ok
}

// Places returns the region list. It must not be modified.
func (c *Catalog) Places() []Place { return c.regions }

// GroupName returns the canonical name of service i's group.
func (c *Catalog) GroupName(i int) string { return c.services[c.groups[i]].Name }

// ParentName returns the canonical name of service i's parent, or "".
func (c *Catalog) ParentName(i int) string {
	p := c.services[i].Parent
	if p == "" {
		return ""
	}
	return c.services[c.byID[p]].Name
}

// catalogEntry is the YAML form of a service.
type catalogEntry struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Parent   string   `yaml:"parent"`
	Category string   `yaml:"category"`
	Aliases  []string `yaml:"aliases"`
	Weak     []string `yaml:"weak"`
	Exact    []string `yaml:"exact"`
	Langs    []string `yaml:"langs"`
	Hashtags []string `yaml:"hashtags"`
	Handles  []string `yaml:"handles"`
	Domains  []string `yaml:"domains"`
	Status   string   `yaml:"status"`
}

// Place is one place from regions.yaml: a continent, country, city or
// cloud region, with its names in the languages the classifier reads.
type Place struct {
	Name    string   `yaml:"name"`
	Kind    string   `yaml:"kind"`
	Code    string   `yaml:"code"`
	Aliases []string `yaml:"aliases"`
	Exact   []string `yaml:"exact"`
}

var regionKinds = map[string]bool{"continent": true, "country": true, "city": true, "cloud-region": true}

// loadCatalog parses and validates the embedded catalog and region list.
func load(servicesYAML, placesYAML []byte) (*Catalog, error) {
	var entries []catalogEntry
	if err := yaml.Unmarshal(servicesYAML, &entries); err != nil {
		return nil, fmt.Errorf("parse catalog: %w", err)
	}
	var regions []Place
	if err := yaml.Unmarshal(placesYAML, &regions); err != nil {
		return nil, fmt.Errorf("parse regions: %w", err)
	}
	c := &Catalog{
		byID:     make(map[string]int, len(entries)),
		byName:   make(map[string]int, len(entries)*6),
		children: make(map[string][]int),
		regions:  regions,
	}
	slices.SortFunc(entries, func(a, b catalogEntry) int { return strings.Compare(a.ID, b.ID) })
	var errs []error
	for _, e := range entries {
		s := Service{
			ID:         e.ID,
			Name:       e.Name,
			Parent:     e.Parent,
			Category:   e.Category,
			StatusPage: e.Status,
			Aliases:    dedupe(e.Name, e.Aliases, e.Weak, e.Exact),
			Hashtags:   dedupe("", e.Hashtags, []string{Compact(e.Name) + "Down"}),
			Handles:    e.Handles,
			Domains:    e.Domains,
			Weak:       e.Weak,
			Exact:      e.Exact,
			Langs:      e.Langs,
		}
		if _, dup := c.byID[s.ID]; dup {
			errs = append(errs, fmt.Errorf("service %q: duplicate id", s.ID))
			continue
		}
		c.byID[s.ID] = len(c.services)
		c.services = append(c.services, s)
	}
	for i, s := range c.services {
		errs = append(errs, validateService(c, s)...)
		if s.Parent != "" {
			c.children[s.Parent] = append(c.children[s.Parent], i)
		}
		for _, n := range append([]string{s.ID, s.Name}, s.Aliases...) {
			k := Fold(n)
			if j, ok := c.byName[k]; ok && j != i {
				errs = append(errs, fmt.Errorf("service %q: name %q is already claimed by %q", s.ID, n, c.services[j].ID))
				continue
			}
			c.byName[k] = i
		}
	}
	for _, s := range c.services {
		if err := parentCycle(c, s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range regions {
		if r.Name == "" || !regionKinds[r.Kind] {
			errs = append(errs, fmt.Errorf("region %q: bad name or kind %q", r.Name, r.Kind))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("invalid catalog: %w", err)
	}
	c.groups = make([]int, len(c.services))
	for i := range c.services {
		c.groups[i] = c.groupIndex(i)
	}
	return c, nil
}

func validateService(c *Catalog, s Service) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("service %q: "+format, append([]any{s.ID}, args...)...))
	}
	if s.ID == "" || s.ID != strings.ToLower(s.ID) || strings.ContainsAny(s.ID, " _./") {
		bad("id must be a lower-case slug")
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("no name")
	}
	if s.Category == "" {
		bad("no category")
	}
	if s.Parent != "" {
		if _, ok := c.byID[s.Parent]; !ok {
			bad("parent %q does not exist", s.Parent)
		}
	}
	if s.StatusPage != "" {
		u, err := url.Parse(s.StatusPage)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			bad("status page %q is not an https URL", s.StatusPage)
		}
	}
	for _, d := range s.Domains {
		if d == "" || d != strings.ToLower(d) || !strings.Contains(d, ".") || strings.ContainsAny(d, " /:@") {
			bad("domain %q is not a lower-case host name", d)
		}
	}
	for _, h := range append(slices.Clone(s.Handles), s.Hashtags...) {
		if h == "" || strings.ContainsAny(h, " #@") {
			bad("handle or hashtag %q has a space, '#' or '@'", h)
		}
	}
	for _, a := range s.Aliases {
		if len(Fold(a)) < 2 && !slices.Contains(s.Exact, a) {
			bad("alias %q is too short to match safely", a)
		}
	}
	return errs
}

func parentCycle(c *Catalog, s Service) error {
	seen := map[string]bool{s.ID: true}
	for p := s.Parent; p != ""; {
		if seen[p] {
			return fmt.Errorf("service %q: parent cycle through %q", s.ID, p)
		}
		seen[p] = true
		i, ok := c.byID[p]
		if !ok {
			return nil
		}
		p = c.services[i].Parent
	}
	return nil
}

// dedupe joins lists of names, dropping empty names, first (when given) and repeats that fold equal.
func dedupe(first string, lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	if first != "" {
		seen[Fold(first)] = true
	}
	for _, l := range lists {
		for _, s := range l {
			k := Fold(s)
			if s == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// Compact removes everything but letters and digits: "Microsoft 365" -> "Microsoft365".
func Compact(s string) string {
	var b strings.Builder
	for _, r := range s {
		if IsWordRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
