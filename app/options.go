package app

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/downsignal/downsignal/index"
)

// Mode selects which stages a process runs.
type Mode string

const (
	// ModeRun runs every stage, with an embedded broker unless Brokers is set.
	ModeRun Mode = "run"
	// ModeIngest runs only ingest, against Brokers.
	ModeIngest Mode = "ingest"
	// ModeClassify runs only the classify stage, against Brokers.
	ModeClassify Mode = "classify"
	// ModeServe runs the index stage and the API, against Brokers.
	ModeServe Mode = "serve"
)

// Options is everything a process is configured with. The command line
// fills it from flags and environment variables.
type Options struct {
	Mode    Mode
	DataDir string
	// Listen is the HTTP address: the API in run and serve, metrics and
	// health checks in ingest and classify.
	Listen string
	// Brokers is a real Kafka cluster. Empty in run mode starts the
	// embedded broker on BrokerListen.
	Brokers      []string
	BrokerListen string

	// Source is "jetstream", "firehose" or "replay:PATH".
	Source          string
	JetstreamURL    string
	ReplaySpeed     float64
	ExitAfterReplay bool

	// JetstreamURL may list several endpoints, comma-separated, to fail
	// over between. JetstreamZstdDict is the path of Jetstream's zstd
	// dictionary: when set, Jetstream is asked for compressed messages.
	JetstreamZstdDict string
	// RelayURL is the relay of the firehose source (empty: bsky.network);
	// Verify checks every relay commit's signature and MST proof.
	RelayURL string
	Verify   bool
	// Resync answers a relay #sync by fetching the account's repository
	// from its PDS, so posts deleted without a commit leave the index.
	// ResyncAllowNets are CIDR prefixes a PDS may be at although private,
	// loopback or link-local (refused otherwise).
	Resync          bool
	ResyncAllowNets []string
	// Directory resolves DIDs for Verify and Resync; nil is indigo's
	// default (the PLC directory and did:web, cached).
	Directory identity.Directory

	// StallAfter is how long a live source may go without a post before
	// it is reported stalled (default health.DefaultStallAfter).
	StallAfter time.Duration

	TopicPartitions  int
	TopicReplication int
	TopicRetention   time.Duration
	// TopicSegmentBytes is the log segment size of the embedded broker's
	// topics (retention deletes whole segments); 0 means 8 MiB. A real
	// cluster's topics keep the cluster's own setting.
	TopicSegmentBytes int64

	ClassifyGroup string
	// IndexGroup defaults to one group per index directory, so a new
	// index (or another serve replica) reads the whole topic.
	IndexGroup string

	// AlertGroup defaults to one group per alert store, like IndexGroup.
	AlertGroup string
	// WebhookURLs are endpoints given on the command line, "[format=]URL".
	WebhookURLs []string
	// WebhookSecret signs the WebhookURLs endpoints (whsec_...); empty
	// generates one, readable through the admin API.
	WebhookSecret string
	// WebhookConfig is a JSON file {"webhooks": [{name, url, format,
	// secret, services, min_severity, routing_key, description}]}.
	WebhookConfig string
	// WebhookAllowNets are CIDR prefixes webhooks may reach although they
	// are private, loopback or link-local (the SSRF guard refuses them
	// otherwise).
	WebhookAllowNets []string
	// WebhookMaxAge skips incident changes older than this (event time
	// against the wall clock), so a new store catching up on days of
	// backlog does not page anyone about last week; 0 sends all. A replay
	// in run mode always sends all: its incidents are old by design.
	WebhookMaxAge time.Duration
	// NotifyGroup, in serve, is the consumer group of the one notifier
	// (notify.Notifier): the serve replicas sharing it send each webhook
	// to each configured endpoint once. Empty: this process sends every
	// webhook itself (run always does).
	NotifyGroup string
	// NotifySessionTimeout is how long the notify group waits for a
	// replica that went silent before its incidents move (default 10s).
	NotifySessionTimeout time.Duration
	// WebhookSchedule overrides the retry schedule (tests).
	WebhookSchedule []time.Duration
	// Pprof serves Go profiles at /debug/pprof/ on the HTTP address.
	Pprof bool
	// NoDashboard leaves the web dashboard out of run and serve.
	NoDashboard bool

	// Retention is how long posts stay searchable and counted (serve and
	// run); 0 means index.DefaultRetention.
	Retention time.Duration
	// IndexPosts is which posts the index keeps in Bleve (serve and run):
	// "relevant" (the default, also for "") or "all". Every post is
	// counted either way.
	IndexPosts string
	// AdminToken authorizes state-changing and administrative API
	// requests (webhooks, silences); empty refuses them.
	AdminToken string
	// RateLimit is API requests per second per client (0: the API's
	// default; negative: none).
	RateLimit float64

	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// validate fills defaults and reports options that cannot work.
func (o *Options) validate() error {
	switch o.Mode {
	case ModeRun, ModeIngest, ModeClassify, ModeServe:
	default:
		return fmt.Errorf("unknown mode %q", o.Mode)
	}
	if o.Mode != ModeRun && len(o.Brokers) == 0 {
		return fmt.Errorf("%s needs --brokers (only run starts an embedded broker)", o.Mode)
	}
	if o.DataDir == "" {
		return errors.New("empty data dir")
	}
	if o.Listen == "" {
		return errors.New("empty listen address")
	}
	if o.BrokerListen == "" {
		o.BrokerListen = "127.0.0.1:19092"
	}
	if o.Source == "" {
		o.Source = "jetstream"
	}
	if o.Source != "jetstream" && o.Source != "firehose" && !strings.HasPrefix(o.Source, "replay:") {
		return fmt.Errorf("unknown source %q (want jetstream, firehose or replay:PATH)", o.Source)
	}
	if o.Verify && o.Source != "firehose" {
		return errors.New("--verify needs --source firehose")
	}
	if o.Resync && o.Source != "firehose" {
		return errors.New("--resync needs --source firehose")
	}
	if o.ExitAfterReplay && (o.Mode != ModeRun || !strings.HasPrefix(o.Source, "replay:")) {
		return errors.New("--exit-after-replay needs run with --source replay:PATH")
	}
	if _, err := index.ParsePosts(o.IndexPosts); err != nil {
		return err
	}
	if o.ReplaySpeed < 0 {
		return fmt.Errorf("negative replay speed %v", o.ReplaySpeed)
	}
	if o.TopicSegmentBytes <= 0 && len(o.Brokers) == 0 {
		o.TopicSegmentBytes = 8 << 20
	}
	if o.ClassifyGroup == "" {
		o.ClassifyGroup = "downsignal-classify"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return nil
}

func (o *Options) runs(stage Mode) bool {
	if o.Mode == ModeRun {
		return true
	}
	return o.Mode == stage
}
