package web_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite docs/dashboard.png (the README's screenshot) from the overview the browser test draws")

// browserEnv set to "required" turns a missing Chromium into a failure
// (CI sets it); elsewhere the browser tests skip without one.
const browserEnv = "DOWNSIGNAL_BROWSER_TESTS"

// chromium finds the browser or skips the test with what to install.
func chromium(t *testing.T) string {
	t.Helper()
	required := os.Getenv(browserEnv) == "required"
	if testing.Short() && !required {
		t.Skip("browser tests do not run with -short")
	}
	if p := os.Getenv("DOWNSIGNAL_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "browser tests need Chromium: install it (Debian: apt-get install chromium) or set DOWNSIGNAL_CHROMIUM to the browser's path"
	if required {
		t.Fatal(msg + " (" + browserEnv + "=required)")
	}
	t.Skip(msg)
	return ""
}

// artifacts is where screenshots go: $DOWNSIGNAL_ARTIFACTS or a new
// temporary directory that outlives the test, so they can be looked at.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DOWNSIGNAL_ARTIFACTS")
	var err error
	if dir == "" {
		dir, err = os.MkdirTemp("", "downsignal-browser-")
	} else {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots are saved in %s", dir)
	return dir
}

// browser is one headless Chromium tab that records every console error,
// uncaught exception and failed load (CSP violations included).
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string

	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, execPath, base, dir string) *browser {
	t.Helper()
	b := &browser{t: t, base: base, dir: dir}
	// On a busy machine Chromium now and then exits while starting; a
	// second try with a fresh profile tells that from a broken install.
	var err error
	for attempt := 1; attempt <= 2; attempt++ {
		if err = b.start(t, execPath); err == nil {
			return b
		}
		t.Logf("start chromium %s (attempt %d): %v", execPath, attempt, err)
	}
	t.Fatalf("start chromium %s: %v", execPath, err)
	return nil
}

func (b *browser) start(t *testing.T, execPath string) error {
	// Without a user-data-dir flag the allocator makes a fresh profile
	// directory and removes it, waiting for Chromium's helpers to let go.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// This network refuses Chromium's own connections; without these
		// it would try them anyway.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 900)); err != nil {
		cancelTab()
		cancelAlloc()
		return err
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	b.ctx = ctx
	return nil
}

func (b *browser) listen(ev any) {
	var p string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Description != "" {
				args = append(args, a.Description)
			} else {
				args = append(args, string(a.Value))
			}
		}
		p = "console." + string(ev.Type) + ": " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		p = "uncaught: " + d.Text
		if d.Exception != nil {
			p += " " + d.Exception.Description
		}
		p += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		p = "log " + string(ev.Entry.Source) + ": " + ev.Entry.Text + " " + ev.Entry.URL
	default:
		return
	}
	b.mu.Lock()
	b.problems = append(b.problems, p)
	b.mu.Unlock()
}

// noProblems fails the test for anything the page logged as an error
// since the last call.
func (b *browser) noProblems(t *testing.T, where string) {
	t.Helper()
	b.noProblemsBut(t, where, "")
}

// noProblemsBut is noProblems that lets through what contains expected:
// failures a test causes on purpose.
func (b *browser) noProblemsBut(t *testing.T, where, expected string) {
	t.Helper()
	b.mu.Lock()
	ps := b.problems
	b.problems = nil
	b.mu.Unlock()
	for _, p := range ps {
		if expected == "" || !strings.Contains(p, expected) {
			t.Errorf("%s: browser reported %s", where, p)
		}
	}
}

// open loads the dashboard at a route ("#/search?q=x"), waits for the page
// to settle and returns nothing; a fragment change on a loaded page is a
// hashchange, not a load.
func (b *browser) open(t *testing.T, hash string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(loc, b.base+"/") {
		err = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)))
	} else {
		err = chromedp.Do(ctx, chromedp.Navigate(b.base+"/"+hash))
	}
	if err != nil {
		t.Fatalf("open %s: %v", hash, err)
	}
}

// wait polls a JavaScript expression until it is truthy and returns its
// value decoded into T.
func wait[T any](t *testing.T, b *browser, what, expr string, timeout time.Duration) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText.slice(0, 1500) : ''`))
		b.shot(t, "failed-"+strings.NewReplacer(" ", "-", "/", "-").Replace(what))
		b.noProblems(t, what)
		t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, text)
	}
	return v
}

func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.80s: %v", expr, err)
	}
	return v
}

func (b *browser) keys(t *testing.T, keys string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(keys)); err != nil {
		t.Fatal(err)
	}
}

// shot saves a screenshot of the whole page as name.png in the artifacts.
func (b *browser) shot(t *testing.T, name string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	// From the top (the header is sticky), once charts drawn on layout
	// have settled.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return nil
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
	}
	return png
}

// a11yCheck returns what a page gets wrong for people who cannot see it
// well: text under the WCAG AA contrast ratio against what is really behind
// it (4.5:1, 3:1 for large text), form fields without a label, controls
// and charts without a name.
const a11yCheck = `(() => {
  const out = [];
  const parse = (c) => {
    const m = /rgba?\(([^)]+)\)/.exec(c || '');
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  const lum = (c) => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  const over = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const behind = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const visible = (el) => {
    if (el.closest('.visually-hidden, [hidden], dialog:not([open]), option, noscript')) return false;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || el.getAttribute('title') || '').trim();
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !visible(el)) continue;
    const s = getComputedStyle(el);
    const svgText = el instanceof SVGElement;
    const fg = parse(svgText ? s.fill : s.color);
    if (!fg) continue;
    const bg = behind(el);
    const c = over(fg, bg);
    const l1 = lum(c), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    if (ratio < need) {
      const key = el.tagName + '.' + el.getAttribute('class') + ':' + ratio.toFixed(2);
      if (!seen.has(key)) {
        seen.add(key);
        out.push('contrast ' + ratio.toFixed(2) + ' < ' + need + ' for <' + el.tagName.toLowerCase() + ' class="' + (el.getAttribute('class') || '') + '">' + el.textContent.trim().slice(0, 40));
      }
    }
  }
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) out.push('unlabelled ' + el.tagName.toLowerCase() + ' name=' + el.name + ' id=' + el.id);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (visible(el) && !name(el)) out.push('control without a name: ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('svg[role="img"]')) {
    if (!(el.getAttribute('aria-label') || '').trim()) out.push('chart without a label: ' + el.outerHTML.slice(0, 80));
  }
  if (document.querySelectorAll('h1').length !== 1) out.push(document.querySelectorAll('h1').length + ' h1 headings, want one');
  return out.slice(0, 25);
})()`

// viewport saves what the window shows, from the top of the page, as
// name.png in the artifacts.
func (b *browser) viewport(t *testing.T, name string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0); document.activeElement && document.activeElement.blur();
		new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
	return png
}

// checkerWorks shows that a11yCheck finds what it looks for: faint text
// and a field without a label, put into the page for a moment.
func (b *browser) checkerWorks(t *testing.T) {
	t.Helper()
	found := eval[[]string](t, b, `(() => {
		const p = document.createElement('p');
		p.textContent = 'faint text';
		p.style.color = '#d4d4d4';
		p.style.background = '#ffffff';
		const i = document.createElement('input');
		i.id = 'probe-input';
		document.querySelector('main').append(p, i);
		const found = `+a11yCheck+`;
		p.remove();
		i.remove();
		return found;
	})()`)
	joined := strings.Join(found, "\n")
	if !strings.Contains(joined, "contrast") || !strings.Contains(joined, "faint text") || !strings.Contains(joined, "probe-input") {
		t.Errorf("the accessibility check missed planted faults; it found:\n%s", joined)
	}
}

// accessible runs a11yCheck in both themes.
func (b *browser) accessible(t *testing.T, page string) {
	t.Helper()
	for _, theme := range []string{"light", "dark"} {
		eval[chromedp.Void](t, b, fmt.Sprintf(`document.documentElement.dataset.theme = %q`, theme))
		for _, p := range eval[[]string](t, b, a11yCheck) {
			t.Errorf("%s, %s theme: %s", page, theme, p)
		}
	}
	eval[chromedp.Void](t, b, `document.documentElement.dataset.theme = localStorage.getItem('downsignal.theme') || 'light'`)
}
