package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/labels"
)

// binary is the downsignal binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "downsignal-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "downsignal")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("downsignal %v did not exit within 90s; stderr:\n%s", args, e.String())
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

func TestHelpDocumentsEveryFlagsEnvironmentVariable(t *testing.T) {
	out, _, code := run(t, "", nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, sub := range []string{"run", "ingest", "classify", "serve"} {
		if !strings.Contains(out, sub) {
			t.Errorf("--help does not list %q:\n%s", sub, out)
		}
	}
	for _, sub := range []string{"run", "ingest", "classify", "serve"} {
		out, _, code := run(t, "", nil, sub, "--help")
		if code != 0 {
			t.Fatalf("%s --help exit %d", sub, code)
		}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "--") || strings.HasPrefix(line, "--help") {
				continue
			}
			name := strings.Fields(line)[0][2:]
			want := "$DOWNSIGNAL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			if !strings.Contains(line, want) {
				t.Errorf("%s --help: flag --%s does not name %s: %q", sub, name, want, line)
			}
		}
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	_, stderr, code := run(t, "", []string{"DOWNSIGNAL_LOG_FORMAT=yaml"}, "run", "--data-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, `--log-format "yaml"`) {
		t.Fatalf("DOWNSIGNAL_LOG_FORMAT=yaml: exit %d, stderr %q; want a clear error naming the flag", code, stderr)
	}
	_, stderr, code = run(t, "", nil, "serve", "--data-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "--brokers") {
		t.Fatalf("serve without brokers: exit %d, stderr %q; want an error asking for --brokers", code, stderr)
	}
}

func TestClassifyStdin(t *testing.T) {
	in := `{"id":"a","text":"is Teams down for everyone? can't join any meeting"}` + "\n" + `{"id":"b"}` + "\n"
	out, stderr, code := run(t, in, nil, "classify", "--stdin")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"id":"a","outage":true`) || !strings.Contains(lines[1], `"error":`) {
		t.Fatalf("got:\n%s\nwant an outage line for a and an error line for b", out)
	}
}

func TestRunExitsAfterReplay(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "capture.jsonl")
	line := `{"did":"did:plc:bob","time_us":1769110272000000,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3bbb","cid":"bafy","record":{"text":"Outlook down? 451 4.3.2","createdAt":"2026-01-22T19:31:10Z"}}}`
	if err := os.WriteFile(capture, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "", nil, "run", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--broker-listen", "127.0.0.1:0", "--source", "replay:"+capture, "--exit-after-replay")
	if code != 0 || !strings.Contains(stderr, "every replayed post is searchable") {
		t.Fatalf("exit %d, want 0 after the replay is searchable; stderr:\n%s", code, stderr)
	}
}

// TestDeployFilesUseRealFlags keeps deploy/ honest: every DOWNSIGNAL_*
// variable it sets must be a flag of the binary, and every command it runs
// a real subcommand.
func TestDeployFilesUseRealFlags(t *testing.T) {
	known := map[string]bool{}
	for _, sub := range []string{"run", "ingest", "classify", "serve"} {
		out, _, _ := run(t, "", nil, sub, "--help")
		for _, m := range envRef.FindAllString(out, -1) {
			known[m] = true
		}
	}
	files, _ := filepath.Glob("../../deploy/*")
	k8s, _ := filepath.Glob("../../deploy/k8s/*.yaml")
	files = append(files, k8s...)
	if len(files) < 3 {
		t.Fatalf("deploy files not found: %v", files)
	}
	var envs, cmds int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if strings.HasSuffix(err.Error(), "is a directory") {
				continue
			}
			t.Fatal(err)
		}
		for _, m := range envRef.FindAllString(string(b), -1) {
			envs++
			if !known[m] {
				t.Errorf("%s sets %s, which no subcommand reads", f, m)
			}
		}
		for _, m := range commandRef.FindAllStringSubmatch(string(b), -1) {
			cmds++
			switch m[1] {
			case "run", "ingest", "classify", "serve":
			default:
				t.Errorf("%s runs unknown subcommand %q", f, m[1])
			}
		}
	}
	// compose: 3 stages; k8s: 3 workloads; Dockerfile: 1 default command.
	if envs < 10 || cmds < 7 {
		t.Errorf("found %d variables and %d commands in deploy/: the patterns no longer match the files", envs, cmds)
	}
}

var (
	envRef     = regexp.MustCompile(`DOWNSIGNAL_[A-Z_]+[A-Z]`)
	commandRef = regexp.MustCompile(`(?:command:|args:|CMD) \[\s*"([a-z-]+)"`)
)

// TestLabelsExport writes analysts' corrections from a data directory as
// corpus lines, and refuses clearly while a process holds the store.
func TestLabelsExport(t *testing.T) {
	dir := t.TempDir()
	st, err := labels.Open(app.LabelsPath(dir), 0)
	if err != nil {
		t.Fatal(err)
	}
	l := labels.Label{URI: "at://did:plc:a/app.bsky.feed.post/3k", Correction: labels.Correction{Outage: false, At: time.Now()},
		Post: labels.Post{Text: "outlook down? no, my wifi", Langs: []string{"en"}, Time: time.Now()}}
	if err := st.Put(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	// Held open, as by a running serve: the export names the way out.
	_, stderr, code := run(t, "", nil, "labels", "export", "--data-dir", dir)
	if code == 0 || !strings.Contains(stderr, "GET /v1/labels") {
		t.Errorf("export of a store in use: exit %d, stderr %q; want a failure that points to GET /v1/labels", code, stderr)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "corrections.jsonl")
	if _, stderr, code := run(t, "", nil, "labels", "export", "--data-dir", dir, "--out", out); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var e labels.Exported
	if err := json.Unmarshal(bytes.TrimSpace(b), &e); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if e.ID != "analyst:"+l.URI || e.Outage || e.Intent != "other" || e.Text != l.Post.Text {
		t.Errorf("exported %s", b)
	}
	if _, stderr, code := run(t, "", nil, "labels", "export", "--data-dir", t.TempDir()); code == 0 || !strings.Contains(stderr, "no corrections") {
		t.Errorf("export of an empty data directory: exit %d, stderr %q", code, stderr)
	}
}
