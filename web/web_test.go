package web_test

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/downsignal/downsignal/api"
	"github.com/downsignal/downsignal/web"
)

// server mounts the dashboard on the API server, as app does, and serves
// it on loopback.
func server(t *testing.T) string {
	t.Helper()
	d, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Options{Addr: "127.0.0.1:0", Dashboard: d})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api run: %v", err)
		}
	})
	return "http://" + s.Addr()
}

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestServesPageAndAssets(t *testing.T) {
	base := server(t)
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script type="module" src="assets/js/main.js">`},
		{"/assets/app.css", "text/css; charset=utf-8", "--firing"},
		{"/assets/js/main.js", "text/javascript; charset=utf-8", "hashchange"},
		{"/assets/js/pages/overview.js", "text/javascript; charset=utf-8", "v1/incidents"},
		{"/assets/icon.svg", "image/svg+xml", "<svg"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, base+tc.path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", res.Header.Get("X-Content-Type-Options"))
			}
			etag := res.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			again, body2 := get(t, base+tc.path, map[string]string{"If-None-Match": etag})
			if again.StatusCode != http.StatusNotModified || body2 != "" {
				t.Errorf("revalidation: status %d with %d bytes, want 304 and no body", again.StatusCode, len(body2))
			}
		})
	}
}

func TestUnknownPathsStayAPIErrors(t *testing.T) {
	base := server(t)
	for _, p := range []string{"/assets/nope.js", "/assets/", "/index.html", "/v1/nothing", "/favicon.ico"} {
		res, body := get(t, base+p, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, res.StatusCode)
		}
		if strings.Contains(body, "<html") {
			t.Errorf("GET %s answered the page", p)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader("x"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		t.Errorf("POST /: status %d, want a refusal", res.StatusCode)
	}
}

func TestDashboardOffLeavesRootToAPI(t *testing.T) {
	s, err := api.New(api.Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	res, _ := get(t, "http://"+s.Addr()+"/", nil)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET / without a dashboard: %d, want 404", res.StatusCode)
	}
}

// The page must work with no internet: nothing in the assets may load
// from another origin, and every module import must resolve to an
// embedded file (a typo would only show in a browser otherwise).
func TestAssetsAreSelfContained(t *testing.T) {
	root := "assets"
	allowedURL := regexp.MustCompile(`^(https://bsky\.app/profile/|http://www\.w3\.org/2000/svg)`)
	anyURL := regexp.MustCompile(`https?://[^\s'"` + "`" + `)]+`)
	importRe := regexp.MustCompile(`(?m)^\s*import\s+(?:[^'"]+\s+from\s+)?['"]([^'"]+)['"]`)
	refRe := regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	files := 0
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := string(b)
		for _, u := range anyURL.FindAllString(s, -1) {
			if !allowedURL.MatchString(u) {
				t.Errorf("%s refers to %s: the dashboard must not load anything from another origin", p, u)
			}
		}
		if strings.Contains(s, "@import") || strings.Contains(s, "innerHTML") || strings.Contains(s, "eval(") {
			t.Errorf("%s uses @import, innerHTML or eval", p)
		}
		if strings.HasSuffix(p, ".js") {
			for _, m := range importRe.FindAllStringSubmatch(s, -1) {
				target := path.Join(path.Dir(filepath.ToSlash(p)), m[1])
				if _, err := os.Stat(filepath.FromSlash(target)); err != nil {
					t.Errorf("%s imports %s: %v", p, m[1], err)
				}
			}
		}
		if strings.HasSuffix(p, ".html") {
			for _, m := range refRe.FindAllStringSubmatch(s, -1) {
				if strings.HasPrefix(m[1], "v1/") {
					continue // the API, not a file
				}
				if _, err := os.Stat(m[1]); err != nil {
					t.Errorf("%s refers to %s: %v", p, m[1], err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 10 {
		t.Fatalf("walked %d files, want the whole dashboard", files)
	}
}
