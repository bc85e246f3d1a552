package deploy_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/downsignal/downsignal/internal/apptest"
	"github.com/downsignal/downsignal/internal/measure"
)

// bin is where TestMain built the downsignal binary and the test cluster.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "downsignal-deploy")
	if err != nil {
		panic(err)
	}
	bin = dir
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/downsignal/downsignal/cmd/downsignal", "github.com/downsignal/downsignal/internal/kafkacluster")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one OS process a test started: a downsignal stage or the cluster.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *apptest.LogBuffer
	done chan struct{} // closed once the process exited
	err  error         // Wait's result, once done
	// addr is the HTTP address of a downsignal stage.
	addr string
}

// start runs name (a binary of bin) with args. The process is stopped with
// SIGTERM when the test ends (SIGKILL if it has not exited 60 s later); if
// the test failed, the end of its output goes to the test log.
func start(t *testing.T, label, name string, stdout io.Writer, args ...string) *proc {
	t.Helper()
	p := &proc{name: label, logs: &apptest.LogBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(bin, name), args...)
	p.cmd.Stderr = p.logs
	p.cmd.Stdout = p.logs
	if stdout != nil {
		p.cmd.Stdout = io.MultiWriter(p.logs, stdout)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", label, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("%s output (end):\n%s", label, p.tail())
		}
	})
	return p
}

// stage starts one downsignal subcommand with its HTTP API on a free
// loopback port and waits until /readyz says it reaches Kafka.
func stage(t *testing.T, label string, args ...string) *proc {
	t.Helper()
	return stageAt(t, label, freeAddr(t), args...)
}

func stageAt(t *testing.T, label, addr string, args ...string) *proc {
	t.Helper()
	p := start(t, label, "downsignal", nil, append(args, "--listen", addr)...)
	p.addr = addr
	waitFor(t, 60*time.Second, label+" ready", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v\n%s", label, p.err, p.tail())
		default:
		}
		code, body, err := get(p.addr, "/readyz")
		return err == nil && code == http.StatusOK, fmt.Sprintf("%d %s %v", code, body, err)
	})
	return p
}

// tail is the end of the process's output without the Kafka client's
// retried warnings, which would crowd out everything else, and their count.
func (p *proc) tail() string {
	var keep []string
	noisy := 0
	for _, line := range strings.Split(p.logs.String(), "\n") {
		if strings.Contains(line, `msg="kafka client"`) {
			noisy++
			continue
		}
		keep = append(keep, line)
	}
	out := strings.Join(keep, "\n")
	if len(out) > 4000 {
		out = out[len(out)-4000:]
	}
	return fmt.Sprintf("%s\n(%d Kafka client warnings left out)", out, noisy)
}

// stop ends the process with SIGTERM, as an orchestrator does, and returns
// once it exited; after 60 s (the in-process tests' bound) it is killed.
func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Errorf("%s did not stop within 60s of SIGTERM", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process with SIGKILL: no shutdown, no flush, no commit.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// peakRSS is the process's peak resident set (VmHWM), in MiB.
func (p *proc) peakRSS() (float64, error) {
	m, err := measure.ReadMemory(p.cmd.Process.Pid)
	return float64(m.PeakRSS) / (1 << 20), err
}

// startCluster starts the test-only Kafka-protocol cluster of n brokers and
// returns their addresses, comma-separated.
func startCluster(t *testing.T, n int) (*proc, string) {
	t.Helper()
	r, w := io.Pipe()
	p := start(t, "kafkacluster", "kafkacluster", w, "-brokers", strconv.Itoa(n), "-data-dir", t.TempDir())
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "brokers "); ok {
				addrs <- a
			}
		}
	}()
	t.Cleanup(func() { w.Close() })
	select {
	case a := <-addrs:
		if got := len(strings.Split(a, ",")); got != n {
			t.Fatalf("cluster listens on %q: %d brokers, want %d", a, got, n)
		}
		return p, a
	case <-p.done:
		t.Fatalf("cluster exited: %v\n%s", p.err, p.logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("cluster did not print its addresses within 30s:\n%s", p.logs.String())
	}
	return nil, ""
}

// freeAddr is a loopback address for a process the test starts.
func freeAddr(t *testing.T) string { return apptest.FreeAddr(t) }

// waitFor polls cond until it holds, failing the test after timeout with
// cond's last account of what it saw.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last: %s", what, timeout, status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 20 * time.Second}

func get(addr, path string) (int, []byte, error) {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sample is one series of a Prometheus text exposition.
type sample struct {
	name, labels string
	value        float64
}

// scrape reads a process's /metrics.
func scrape(addr string) ([]sample, error) {
	code, b, err := get(addr, "/metrics")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %d %s", code, b)
	}
	return parseMetrics(string(b))
}

// parseMetrics reads the series of the Prometheus text format (comments
// skipped); label values here never hold braces.
func parseMetrics(text string) ([]sample, error) {
	var out []sample
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		// The value is the last field: downsignal exports no timestamps.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("metrics line %q", line)
		}
		series, val := line[:i], line[i+1:]
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", line, err)
		}
		name, labels, _ := strings.Cut(series, "{")
		out = append(out, sample{name: name, labels: strings.TrimSuffix(labels, "}"), value: v})
	}
	return out, nil
}

// sum adds the series of name whose labels contain every one of match.
func sum(ss []sample, name string, match ...string) (total float64, n int) {
	for _, s := range ss {
		if s.name != name {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(s.labels, m)
		}
		if ok {
			total += s.value
			n++
		}
	}
	return total, n
}
