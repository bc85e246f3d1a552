// Package deploy holds what a user needs to run downsignal for real: the
// container image (Dockerfile: static binary, distroless, non-root), a
// compose file that runs each stage against a real Apache Kafka in KRaft
// mode, and Kubernetes manifests (k8s/, applied with kubectl -k). It has
// no Go code; cmd/downsignal's tests check that every DOWNSIGNAL_*
// variable and subcommand named here exists in the binary.
package deploy
