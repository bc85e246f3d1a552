package layout_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/downsignal/downsignal"

// stage ranks packages along the pipeline: a package may import only
// packages of a lower or equal stage. Packages not listed are at the stage
// of their longest listed prefix.
var stage = map[string]int{
	// Leaves: the wire records, the catalog, arithmetic, small stores.
	"record": 0, "catalog": 0, "baseline": 0, "health": 0, "internal/measure": 0, "labels": 0, "internal/boltkv": 0, "internal/netguard": 0,
	// Transport.
	"broker": 1,
	// Producers of the topics.
	"ingest": 2, "classify": 2, "internal/benchposts": 2,
	// Consumers of downsignal.signals.
	"index": 3, "detect": 3,
	// Delivery of what the detector found.
	"webhook": 4, "notify": 4,
	// Serving.
	"api": 5, "web": 5,
	// Wiring, test harnesses and tools.
	"app": 6, "internal/apptest": 6, "internal/synthetic": 6, "internal/layout": 6, "internal/kafkacluster": 6,
	"cmd": 7, "deploy": 7,
}

func stageOf(t *testing.T, pkg string) int {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	for p := rel; p != "" && p != "."; {
		if s, ok := stage[p]; ok {
			return s
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	t.Fatalf("package %s has no stage in internal/layout: add it", pkg)
	return 0
}

// goList runs go list over the module with a template, one line per package.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// wholeProgram are the packages whose external tests run the whole
// program (the dashboard in a browser): they may import app and its test
// harness. No other test may look downstream.
var wholeProgram = map[string]bool{module + "/web": true}

func TestDataFlowsOneWay(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} | {{join .XTestImports " "}}`, module+"/...") {
		f := strings.Fields(line)
		from := stageOf(t, f[0])
		external := false
		for _, imp := range f[1:] {
			if imp == "|" {
				external = true
				continue
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if external && wholeProgram[f[0]] && (imp == module+"/app" || imp == module+"/internal/apptest") {
				continue
			}
			if to := stageOf(t, imp); to > from {
				t.Errorf("%s (stage %d) imports %s (stage %d), which is downstream of it", f[0], from, imp, to)
			}
		}
	}
}

func TestRecordIsALeaf(t *testing.T) {
	for _, dep := range goList(t, "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, module+"/record") {
		if dep != "" && dep != module+"/record" {
			t.Errorf("record depends on %s: it must import only the standard library", dep)
		}
	}
}

func TestOnlyBrokerImportsKafka(t *testing.T) {
	for _, line := range goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/...") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/segmentio/kafka-go") && f[0] != module+"/broker" {
				t.Errorf("%s imports %s: Kafka is package broker's", f[0], imp)
			}
		}
	}
}

func TestReadModelsLinkOnlyWhatTheyUse(t *testing.T) {
	banned := []string{"github.com/gorilla/websocket", "github.com/whyrusleeping/cbor-gen", "github.com/bluesky-social/indigo",
		"github.com/coregx/ahocorasick", "github.com/segmentio/kafka-go"}
	for _, pkg := range []string{"detect", "index", "webhook", "api", "labels"} {
		for _, dep := range goList(t, "-deps", module+"/"+pkg) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s links %s", pkg, dep)
				}
			}
		}
	}
}
