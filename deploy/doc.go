// Package deploy holds what a user needs to run downsignal for real: the
// container image (Dockerfile: static binary, distroless, non-root), a
// compose file that runs each stage against a real Apache Kafka in KRaft
// mode, Kubernetes manifests (k8s/, applied with kubectl -k), a Grafana
// dashboard (grafana/) and Prometheus alerting rules (prometheus/).
//
// It has no Go code, only tests that keep those files honest:
//   - the split deployment they describe (one ingest, two classify
//     workers, two serve replicas) runs as separate OS processes of the
//     built binary against a three-broker cluster, survives a worker's
//     SIGKILL and a replica's restart, and ends with every post indexed
//     once on each replica (split_test.go);
//   - the manifests build with kustomize and run real flags, probes,
//     volumes and selectors (k8s_test.go);
//   - the dashboard and the rules read metrics the binary exports
//     (observe_test.go).
//
// cmd/downsignal's tests check that every DOWNSIGNAL_* variable and
// subcommand named here exists in the binary.
package deploy
