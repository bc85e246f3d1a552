package measure

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	m, err := ReadMemory(0)
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.PeakRSS < m.RSS || m.Anon <= 0 || m.Anon+m.File > m.RSS {
		t.Fatalf("memory %+v", m)
	}
	if _, err := ReadMemory(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMemory(1 << 30); err == nil {
		t.Fatal("a process that does not exist has memory")
	}
}

func TestTreeBytes(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]int{"x": 10, "a/y": 20, "a/b/z": 30} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := TreeBytes(dir); err != nil || n != 60 {
		t.Fatalf("TreeBytes = %d, %v; want 60", n, err)
	}
	if _, err := TreeBytes(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("a missing directory has a size")
	}
}

func TestCPUTime(t *testing.T) {
	before := CPUTime()
	for i := range 50_000_000 {
		sink += i
	}
	if after := CPUTime(); after <= before {
		t.Fatalf("CPU time %s then %s", before, after)
	}
}

var sink int
