package deploy_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// topology is the split deployment deploy/ describes and
// TestSplitDeploymentSurvivesAWorkerDeathAndAReplicaRestart runs: replicas
// of each stage.
var topology = map[string]int{"ingest": 1, "classify": 2, "serve": 2}

// object is the part of a Kubernetes object these checks read.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		// A workload's and a budget's {matchLabels: ...}; a Service's labels.
		Selector map[string]any `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
		MaxUnavailable *int `yaml:"maxUnavailable"`
		MinAvailable   *int `yaml:"minAvailable"`
		Ports          []struct {
			Name       string `yaml:"name"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type podSpec struct {
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name string `yaml:"name"`
	} `yaml:"volumes"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		ConfigMapRef struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// buildK8s builds deploy/k8s as kubectl apply -k would.
func buildK8s(t *testing.T) []object {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "k8s")
	if err != nil {
		t.Fatalf("kustomize build deploy/k8s: %v", err)
	}
	var out []object
	for _, r := range res.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		var o object
		if err := yaml.Unmarshal(b, &o); err != nil {
			t.Fatalf("%s/%s: %v", r.GetKind(), r.GetName(), err)
		}
		out = append(out, o)
	}
	return out
}

// commandFlags reads `downsignal CMD --help`: the command's flags and the
// environment variables that set them.
func commandFlags(t *testing.T, cmd string) (flags, env map[string]bool) {
	t.Helper()
	out, err := exec.Command(bin+"/downsignal", cmd, "--help").Output()
	if err != nil {
		t.Fatalf("downsignal %s --help: %v", cmd, err)
	}
	flags, env = map[string]bool{}, map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "--") {
			flags[strings.TrimSuffix(f[0], ",")] = true
		}
		for _, m := range envVar.FindAllString(line, -1) {
			env[m[1:]] = true
		}
	}
	if len(flags) < 3 || len(env) < 3 {
		t.Fatalf("downsignal %s --help: found %d flags and %d variables; the help format changed:\n%s", cmd, len(flags), len(env), out)
	}
	return flags, env
}

var envVar = regexp.MustCompile(`\$DOWNSIGNAL_[A-Z_]+`)

// The manifests build with kustomize, and what they run can work: the
// topology of the split test, real subcommands, flags and variables; the
// probes on the real health routes; every volume mounted; every budget and
// Service selecting real pods; requests and limits on every container.
func TestKubernetesManifestsBuildAndHold(t *testing.T) {
	objs := buildK8s(t)
	byKind := map[string][]object{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
		if o.Kind != "Namespace" && o.Metadata.Namespace != "downsignal" {
			t.Errorf("%s/%s in namespace %q, want downsignal", o.Kind, o.Metadata.Name, o.Metadata.Namespace)
		}
	}
	configMaps := map[string]map[string]string{}
	for _, o := range byKind["ConfigMap"] {
		configMaps[o.Metadata.Name] = o.Data
	}
	workloads := append(slices.Clone(byKind["Deployment"]), byKind["StatefulSet"]...)
	replicas := map[string]int{}
	images := map[string]bool{}
	for _, w := range workloads {
		name := w.Kind + "/" + w.Metadata.Name
		if w.Spec.Replicas == nil {
			t.Errorf("%s: no replicas", name)
			continue
		}
		if !selects(w.Spec.Selector["matchLabels"], w.Spec.Template.Metadata.Labels) {
			t.Errorf("%s: selector %v does not select its own pods %v", name, w.Spec.Selector, w.Spec.Template.Metadata.Labels)
		}
		for _, c := range w.Spec.Template.Spec.Containers {
			images[c.Image] = true
			if len(c.Args) == 0 {
				t.Errorf("%s: container %s runs no subcommand", name, c.Name)
				continue
			}
			replicas[c.Args[0]] += *w.Spec.Replicas
			checkContainer(t, name, w, c, configMaps)
		}
	}
	if !maps.Equal(replicas, topology) {
		t.Errorf("stages run with replicas %v, want the tested topology %v", replicas, topology)
	}
	if len(images) != 1 || !images["downsignal:latest"] {
		t.Errorf("images %v, want every container on the one image kustomization.yaml names (downsignal:latest)", slices.Collect(maps.Keys(images)))
	}
	if len(byKind["PodDisruptionBudget"]) == 0 {
		t.Error("no PodDisruptionBudget")
	}
	for _, b := range byKind["PodDisruptionBudget"] {
		checkBudget(t, b, workloads)
	}
	for _, s := range byKind["Service"] {
		checkService(t, s, workloads)
	}
}

func checkContainer(t *testing.T, name string, w object, c container, configMaps map[string]map[string]string) {
	t.Helper()
	cmd := c.Args[0]
	if _, ok := topology[cmd]; !ok {
		t.Errorf("%s runs %q, not a stage of the split deployment", name, cmd)
		return
	}
	flags, envs := commandFlags(t, cmd)
	for _, a := range c.Args[1:] {
		if f, _, _ := strings.Cut(a, "="); strings.HasPrefix(f, "--") && !flags[f] {
			t.Errorf("%s: downsignal %s has no flag %s", name, cmd, f)
		}
	}
	// The environment as the container sees it: the ConfigMaps, then env.
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		data, ok := configMaps[ef.ConfigMapRef.Name]
		if !ok {
			t.Errorf("%s: envFrom ConfigMap %q does not exist", name, ef.ConfigMapRef.Name)
		}
		maps.Copy(env, data)
	}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for k := range env {
		if strings.HasPrefix(k, "DOWNSIGNAL_") && !envs[k] {
			t.Errorf("%s: sets %s, which downsignal %s does not read", name, k, cmd)
		}
	}
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	_, listenPort, _ := strings.Cut(env["DOWNSIGNAL_LISTEN"], ":")
	if strconv.Itoa(ports["http"]) != listenPort {
		t.Errorf("%s: containerPort http %d, but DOWNSIGNAL_LISTEN is %q", name, ports["http"], env["DOWNSIGNAL_LISTEN"])
	}
	if a := w.Spec.Template.Metadata.Annotations["prometheus.io/port"]; a != listenPort {
		t.Errorf("%s: prometheus.io/port %q, but the metrics are on %q", name, a, listenPort)
	}
	for _, pr := range []struct {
		p    *probe
		want string
	}{{c.LivenessProbe, "/healthz"}, {c.ReadinessProbe, "/readyz"}} {
		if pr.p == nil || pr.p.HTTPGet.Path != pr.want || ports[pr.p.HTTPGet.Port] == 0 {
			t.Errorf("%s: want a probe GET %s on a named container port, got %+v", name, pr.want, pr.p)
		}
	}
	checkResources(t, name, c)
	checkMounts(t, name, w, c, env["DOWNSIGNAL_DATA_DIR"])
}

func checkResources(t *testing.T, name string, c container) {
	t.Helper()
	req, err1 := mebibytes(c.Resources.Requests["memory"])
	lim, err2 := mebibytes(c.Resources.Limits["memory"])
	if err1 != nil || err2 != nil || c.Resources.Requests["cpu"] == "" {
		t.Errorf("%s: want cpu and memory requests and a memory limit, got %+v (%v, %v)", name, c.Resources, err1, err2)
		return
	}
	if req > lim {
		t.Errorf("%s: memory request %v MiB above its limit %v MiB", name, req, lim)
	}
}

// checkMounts: the root filesystem is read-only, so the data directory must
// be a mount, and every mount a volume of the pod.
func checkMounts(t *testing.T, name string, w object, c container, dataDir string) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range w.Spec.Template.Spec.Volumes {
		vols[v.Name] = true
	}
	for _, v := range w.Spec.VolumeClaimTemplates {
		vols[v.Metadata.Name] = true
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if !vols[m.Name] {
			t.Errorf("%s: mounts volume %q, which the pod does not have", name, m.Name)
		}
		mounted = mounted || m.MountPath == dataDir
	}
	if !mounted {
		t.Errorf("%s: data directory %q is not a mounted volume (the root filesystem is read-only)", name, dataDir)
	}
}

func checkBudget(t *testing.T, b object, workloads []object) {
	t.Helper()
	n := 0
	for _, w := range workloads {
		if selects(b.Spec.Selector["matchLabels"], w.Spec.Template.Metadata.Labels) {
			n++
			if w.Spec.Replicas == nil || *w.Spec.Replicas < 2 {
				t.Errorf("PodDisruptionBudget/%s covers %s/%s, which has fewer than 2 replicas: a budget there only blocks drains", b.Metadata.Name, w.Kind, w.Metadata.Name)
			}
			if b.Spec.MaxUnavailable == nil || *b.Spec.MaxUnavailable >= *w.Spec.Replicas {
				t.Errorf("PodDisruptionBudget/%s: maxUnavailable %v does not keep one of %d replicas up", b.Metadata.Name, b.Spec.MaxUnavailable, *w.Spec.Replicas)
			}
		}
	}
	if n != 1 {
		t.Errorf("PodDisruptionBudget/%s selects the pods of %d workloads, want exactly 1", b.Metadata.Name, n)
	}
}

func checkService(t *testing.T, s object, workloads []object) {
	t.Helper()
	for _, w := range workloads {
		if !selects(s.Spec.Selector, w.Spec.Template.Metadata.Labels) {
			continue
		}
		for _, p := range s.Spec.Ports {
			found := false
			for _, c := range w.Spec.Template.Spec.Containers {
				found = found || slices.ContainsFunc(c.Ports, func(cp struct {
					Name          string `yaml:"name"`
					ContainerPort int    `yaml:"containerPort"`
				}) bool {
					return cp.Name == p.TargetPort
				})
			}
			if !found {
				t.Errorf("Service/%s: targetPort %q is no container port of %s", s.Metadata.Name, p.TargetPort, w.Metadata.Name)
			}
		}
		return
	}
	t.Errorf("Service/%s selects no pods: %v", s.Metadata.Name, s.Spec.Selector)
}

// selects reports whether a label selector (a map of label to value)
// matches labels; an empty selector matches nothing here.
func selects(selector any, labels map[string]string) bool {
	sel, ok := selector.(map[string]any)
	if !ok || len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

// mebibytes reads a Kubernetes memory quantity in Mi or Gi.
func mebibytes(q string) (float64, error) {
	for suffix, mul := range map[string]float64{"Mi": 1, "Gi": 1024} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return v * mul, err
		}
	}
	return 0, fmt.Errorf("memory quantity %q: want Mi or Gi", q)
}

// compose.yaml runs the same topology as the manifests and the split test.
func TestComposeRunsTheTestedTopology(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
			Deploy  struct {
				Replicas *int `yaml:"replicas"`
			} `yaml:"deploy"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	replicas := map[string]int{}
	volumes := map[string]string{}
	for name, s := range compose.Services {
		if len(s.Command) == 0 {
			continue
		}
		n := 1
		if s.Deploy.Replicas != nil {
			n = *s.Deploy.Replicas
		}
		replicas[s.Command[0]] += n
		for _, v := range s.Volumes {
			if strings.HasSuffix(v, ":ro") {
				continue // configuration read by every replica alike
			}
			vol, _, _ := strings.Cut(v, ":")
			if other, ok := volumes[vol]; ok {
				t.Errorf("services %s and %s share volume %s: each serve replica and ingest owns its data", name, other, vol)
			}
			volumes[vol] = name
		}
	}
	if !maps.Equal(replicas, topology) {
		t.Errorf("compose runs %v, want the tested topology %v", replicas, topology)
	}
}
