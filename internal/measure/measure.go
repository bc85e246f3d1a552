// Package measure reads what the soak tests and benchmarks report about a
// process: its CPU time, its memory as the kernel counts it, and the bytes
// a directory holds. Linux; elsewhere the readings are zero or an error.
package measure

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system) this process has used; zero if
// the kernel does not say.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Memory is a process's memory from /proc/<pid>/status, in bytes.
type Memory struct {
	RSS     int64 // VmRSS: resident now
	PeakRSS int64 // VmHWM: the most resident so far
	Anon    int64 // RssAnon: resident anonymous memory (heap, stacks)
	File    int64 // RssFile: resident file pages (memory-mapped files)
}

// ReadMemory reads process pid's memory; pid 0 is this process.
func ReadMemory(pid int) (Memory, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	fields := map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.PeakRSS, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || fields[f[0]] == nil {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s %s: %w", path, f[0], err)
		}
		*fields[f[0]] = kb << 10
	}
	if m.RSS == 0 {
		return Memory{}, fmt.Errorf("%s: no VmRSS", path)
	}
	return m, nil
}

// TreeBytes is the size of the regular files under dir.
func TreeBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	return n, err
}
