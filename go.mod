module github.com/downsignal/downsignal

go 1.26

require (
	github.com/coregx/ahocorasick v0.3.1
	go.yaml.in/yaml/v3 v3.0.6
)
