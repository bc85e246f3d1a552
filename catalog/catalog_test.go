package catalog

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// Names that two services may both claim. Empty: every name in the catalog belongs to one service.
var sharedNames = map[string]bool{}

func TestCatalogValid(t *testing.T) {
	cat := loaded(t)
	services := cat.Services()
	t.Logf("catalog: %d services", len(services))
	if len(services) < 500 {
		t.Errorf("catalog has %d services, want at least 500", len(services))
	}
	if !slices.IsSortedFunc(services, func(a, b Service) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Services() is not sorted by ID")
	}
	owner := map[string]string{}
	for _, s := range services {
		if s.ID == "" || s.Name == "" || s.Category == "" {
			t.Errorf("service %+v lacks id, name or category", s)
		}
		if s.Parent != "" {
			if _, ok := cat.byID[s.Parent]; !ok {
				t.Errorf("service %q: parent %q does not exist", s.ID, s.Parent)
			}
		}
		if s.StatusPage != "" {
			if u, err := url.Parse(s.StatusPage); err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("service %q: status page %q does not parse as an https URL", s.ID, s.StatusPage)
			}
		}
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			k := Fold(n)
			if o, ok := owner[k]; ok && o != s.ID && !sharedNames[k] {
				t.Errorf("name %q is claimed by %q and %q", n, o, s.ID)
			}
			owner[k] = s.ID
		}
		if len(s.Hashtags) == 0 {
			t.Errorf("service %q has no hashtag", s.ID)
		}
	}
}

// TestCatalogRejects checks that loadCatalog refuses the mistakes a reviewer could miss.
func TestCatalogRejects(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"duplicate id", "- {id: a, name: A, category: x}\n- {id: a, name: B, category: x}", "duplicate id"},
		{"missing parent", "- {id: a, name: A, category: x, parent: nope}", "parent"},
		{"parent cycle", "- {id: a, name: A, category: x, parent: b}\n- {id: b, name: B, category: x, parent: a}", "cycle"},
		{"shared alias", "- {id: a, name: A1, category: x, aliases: [Same]}\n- {id: b, name: B1, category: x, aliases: [same]}", "already claimed"},
		{"bad status url", "- {id: a, name: A, category: x, status: 'status.example.com'}", "https"},
		{"bad domain", "- {id: a, name: A, category: x, domains: [Example.COM/x]}", "domain"},
		{"bad id", "- {id: Not A Slug, name: A, category: x}", "slug"},
		{"no category", "- {id: a, name: A}", "category"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load([]byte(tt.yaml), []byte("[]"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("load error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCatalogLookup(t *testing.T) {
	cat := loaded(t)
	for _, tt := range []struct{ in, id string }{
		{"outlook", "outlook"}, {"Hotmail", "outlook"}, {"O365", "microsoft-365"}, {"m365", "microsoft-365"},
		{"Twitter", "x"}, {"MobileMe", "icloud"}, {"PSN", "playstation-network"}, {"xfinity", "comcast"},
		{"アウトルック", "outlook"}, {"ＧＭＡＩＬ", "gmail"}, {"Crédit Agricole", "credit-agricole"}, {"credit agricole", "credit-agricole"},
	} {
		s, ok := cat.Lookup(tt.in)
		if !ok || s.ID != tt.id {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, s.ID, ok, tt.id)
		}
	}
	if _, ok := cat.Lookup("no such service"); ok {
		t.Error("Lookup of an unknown name succeeded")
	}
	var kids []string
	for _, s := range cat.Children("microsoft-365") {
		kids = append(kids, s.ID)
	}
	for _, want := range []string{"outlook", "teams", "onedrive", "sharepoint", "exchange-online", "microsoft-defender", "microsoft-purview", "m365-admin-center"} {
		if !slices.Contains(kids, want) {
			t.Errorf("Children(microsoft-365) = %v, lacks %q", kids, want)
		}
	}
	if s, _ := cat.Lookup("entra-id"); s.Parent != "microsoft" {
		t.Errorf("entra-id parent = %q, want microsoft", s.Parent)
	}
}

// TestCatalogCoverage names services the brief and the alerts notes say users complain about.
func TestCatalogCoverage(t *testing.T) {
	cat := loaded(t)
	for _, id := range []string{"microsoft-365", "outlook", "exchange-online", "teams", "onedrive", "sharepoint", "microsoft-defender",
		"microsoft-purview", "entra-id", "m365-admin-center", "azure", "aws", "aws-s3", "aws-ec2", "gmail", "google-workspace",
		"google-cloud", "youtube", "google-search", "icloud", "siri", "app-store", "imessage", "apple-id", "bluesky", "x", "facebook",
		"instagram", "whatsapp", "threads", "reddit", "tiktok", "slack", "zoom", "discord", "webex", "github", "gitlab", "npm",
		"docker-hub", "cloudflare", "akamai", "fastly", "paypal", "chase", "netflix", "spotify", "steam", "playstation-network",
		"xbox-live", "epic-games", "comcast", "verizon", "att", "t-mobile", "bt", "vodafone", "delta", "irs", "gov-uk"} {
		if _, ok := cat.byID[id]; !ok {
			t.Errorf("catalog lacks %q", id)
		}
	}
}

func TestCatalogGroup(t *testing.T) {
	c := loaded(t)
	tests := []struct{ in, want string }{
		{"Outlook", "Microsoft 365"},
		{"teams", "Microsoft 365"},
		{"Microsoft 365", "Microsoft 365"},
		{"github-actions", "GitHub"},
		{"GitHub", "GitHub"},
		{"Microsoft", "Microsoft"},
		{"azure-devops", "Microsoft Azure"},
	}
	for _, tt := range tests {
		g, ok := c.Group(tt.in)
		if !ok || g.Name != tt.want {
			t.Errorf("Group(%q) = %q, %v; want %q", tt.in, g.Name, ok, tt.want)
		}
	}
	if _, ok := c.Group("no such service"); ok {
		t.Error("Group of an unknown name: ok = true")
	}
	// Every service's group must be the service itself or one of its
	// ancestors, and never a vendor unless the service is one.
	for _, s := range c.Services() {
		g, ok := c.Group(s.ID)
		if !ok {
			t.Fatalf("Group(%q): not found", s.ID)
		}
		if g.Category == VendorCategory && g.ID != s.ID {
			t.Errorf("Group(%q) = vendor %q", s.ID, g.ID)
		}
	}
}

func loaded(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
