package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/downsignal/downsignal/app"
	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/labels"
	"github.com/downsignal/downsignal/notify"
)

// env names the environment variable that can set a flag.
func env(flag string) cli.ValueSourceChain {
	return cli.EnvVars("DOWNSIGNAL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
}

func stringFlag(name, value, usage string) *cli.StringFlag {
	return &cli.StringFlag{Name: name, Value: value, Usage: usage, Sources: env(name)}
}

// The flags are built per command: a flag value holds state, so sharing one
// between commands (or between tests) would leak values.
func dataDirFlag() cli.Flag {
	return stringFlag("data-dir", "./downsignal-data", "directory for the index, counters, cursors and the embedded broker's log")
}

func stallAfterFlag() cli.Flag {
	return &cli.DurationFlag{Name: "stall-after", Value: health.DefaultStallAfter, Usage: "a live source with no post for this long is stalled: /v1/status and the dashboard say so and webhooks get source.stalled", Sources: env("stall-after")}
}

func brokersFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "brokers", Usage: "Kafka bootstrap brokers, host:port (comma-separated); run without it starts an embedded broker", Sources: env("brokers")}
}

func sourceFlags() []cli.Flag {
	return []cli.Flag{
		stringFlag("source", "jetstream", "where posts come from: jetstream, firehose (the relay's subscribeRepos), or replay:PATH (a file of Jetstream v1 JSON lines)"),
		stringFlag("jetstream-url", strings.Join(jetstream.DefaultURLs, ","), "Jetstream v1 subscribe endpoints, comma-separated; ingest fails over between them"),
		stringFlag("jetstream-zstd-dict", "", "Jetstream's zstd dictionary file: ask for compressed messages (compress=true)"),
		stringFlag("relay", firehose.DefaultRelayURL, "relay for --source firehose (wss://host or the full subscribeRepos URL)"),
		&cli.BoolFlag{Name: "verify", Usage: "with --source firehose: check every commit's signature and MST proof (resolves authors' DIDs)", Sources: env("verify")},
		&cli.BoolFlag{Name: "resync", Usage: "with --source firehose: answer a relay #sync by fetching the account's repository from its PDS, so posts deleted without a commit leave the index", Sources: env("resync")},
		&cli.StringSliceFlag{Name: "resync-allow-net", Usage: "CIDR prefix a PDS may be at although private, loopback or link-local (refused otherwise); repeatable", Sources: env("resync-allow-net")},
		&cli.FloatFlag{Name: "replay-speed", Usage: "replay at N times real time (0: as fast as the pipeline takes it)", Sources: env("replay-speed")},
	}
}

// topicFlags configure the topics a process creates. retention is the
// default topic retention: a day in run, where the embedded broker holds
// the topics in its own memory and disk; a week against a real cluster.
func topicFlags(retention time.Duration) []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "topic-partitions", Value: 6, Usage: "partitions of the topics downsignal creates", Sources: env("topic-partitions")},
		&cli.IntFlag{Name: "topic-replication", Value: 1, Usage: "replication factor of the topics downsignal creates (3 on a real cluster)", Sources: env("topic-replication")},
		&cli.DurationFlag{Name: "topic-retention", Value: retention, Usage: "retention of the topics downsignal creates", Sources: env("topic-retention")},
	}
}

// alertFlags configure incidents and webhooks (run, serve).
func alertFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "webhook", Usage: "send incidents to this endpoint, [FORMAT=]URL (native, alertmanager, slack, teams, discord); repeatable", Sources: env("webhook")},
		stringFlag("webhook-secret", "", "whsec_ signing secret of the --webhook endpoints (default: generated, read it with GET /v1/webhooks/{id}/secret)"),
		stringFlag("webhook-config", "", `JSON file of webhook endpoints: {"webhooks": [{"name", "url", "format", "secret", "services", "min_severity", "routing_key"}]}`),
		&cli.DurationFlag{Name: "webhook-max-age", Value: time.Hour, Usage: "do not notify incident changes older than this, so catching up on a backlog pages nobody about last week; 0 notifies all (a replay in run notifies all)", Sources: env("webhook-max-age")},
		&cli.StringSliceFlag{Name: "webhook-allow-net", Usage: "CIDR prefix webhooks may reach although private, loopback or link-local (refused otherwise); repeatable", Sources: env("webhook-allow-net")},
	}
}

// serveFlags are serve's own flags.
func serveFlags() []cli.Flag {
	return []cli.Flag{
		dataDirFlag(), listenFlag("127.0.0.1:8080"), pprofFlag(), stallAfterFlag(), brokersFlag(),
		stringFlag("group", "", "consumer group (default: one per index directory, so each replica reads everything)"),
		stringFlag("notify-group", notify.DefaultGroup, "consumer group of the one notifier: of the serve replicas sharing it, one sends each incident's webhooks to the endpoints of --webhook-config and --webhook; empty: this replica sends all its webhooks itself"),
		&cli.DurationFlag{Name: "notify-session-timeout", Value: 10 * time.Second, Usage: "how long the notify group waits for a replica that went silent (killed) before another sends its incidents' webhooks", Sources: env("notify-session-timeout")},
		noDashboardFlag(),
	}
}

func flags(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func noDashboardFlag() cli.Flag {
	return &cli.BoolFlag{Name: "no-dashboard", Usage: "do not serve the web dashboard at / (the API stays)", Sources: env("no-dashboard")}
}

func listenFlag(def string) *cli.StringFlag {
	return stringFlag("listen", def, "HTTP address (API, /metrics, /healthz, /readyz)")
}

func pprofFlag() cli.Flag {
	return &cli.BoolFlag{Name: "pprof", Usage: "serve Go profiles at /debug/pprof/ on the HTTP address (keep that address private)", Sources: env("pprof")}
}

// apiFlags configure the index and the API (run and serve).
func apiFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "retention", Value: 30 * 24 * time.Hour, Usage: "how long posts stay searchable and counted; whole days older are dropped", Sources: env("retention")},
		stringFlag("index-posts", "relevant", "which posts are searchable: relevant (those that name a service, quote an error code or carry a failure cue) or all; every post is counted either way"),
		stringFlag("admin-token", "", "bearer token for administrative and state-changing API requests (webhooks, silences); without it they are refused, the read API stays open"),
		&cli.FloatFlag{Name: "rate-limit", Value: 50, Usage: "API requests per second per client address (negative: no limit)", Sources: env("rate-limit")},
	}
}

func newCommand() *cli.Command {
	return &cli.Command{
		Name:  "downsignal",
		Usage: "find outages in what people post on Bluesky",
		Description: "Every flag can also be set with an environment variable DOWNSIGNAL_<FLAG_NAME>, " +
			"e.g. --data-dir with DOWNSIGNAL_DATA_DIR; the variable is shown next to each flag.",
		Flags: []cli.Flag{
			stringFlag("log-level", "info", "debug, info, warn or error"),
			stringFlag("log-format", "text", "text or json"),
		},
		Commands: []*cli.Command{
			{
				Name:  "run",
				Usage: "run the whole pipeline on this machine (embedded broker unless --brokers)",
				Flags: flags(
					[]cli.Flag{dataDirFlag(), listenFlag("127.0.0.1:8080"), pprofFlag(), stallAfterFlag(), brokersFlag(),
						stringFlag("broker-listen", "127.0.0.1:19092", "address of the embedded broker (only without --brokers)")},
					sourceFlags(),
					[]cli.Flag{&cli.BoolFlag{Name: "exit-after-replay", Usage: "exit 0 once every replayed post is searchable", Sources: env("exit-after-replay")}, noDashboardFlag()},
					topicFlags(24*time.Hour),
					apiFlags(),
					alertFlags(),
				),
				Action: runMode(app.ModeRun),
			},
			{
				Name:   "ingest",
				Usage:  "read Bluesky posts into Kafka",
				Flags:  flags([]cli.Flag{dataDirFlag(), listenFlag("127.0.0.1:8081"), pprofFlag(), stallAfterFlag(), brokersFlag()}, sourceFlags(), topicFlags(7*24*time.Hour)),
				Action: runMode(app.ModeIngest),
			},
			{
				Name:  "classify",
				Usage: "classify posts from Kafka into signals, or JSON lines from stdin with --stdin",
				Flags: flags([]cli.Flag{
					dataDirFlag(), listenFlag("127.0.0.1:8082"), pprofFlag(), stallAfterFlag(), brokersFlag(),
					stringFlag("group", "downsignal-classify", "consumer group shared by classify workers"),
					&cli.BoolFlag{Name: "stdin", Usage: `no Kafka: read {"id","text","lang","created_at"} JSON lines from stdin, write one result line each`, Sources: env("stdin")},
					&cli.BoolFlag{Name: "explain", Usage: `with --stdin: add "explain", the features that moved each post's score most`, Sources: env("explain")},
				}, topicFlags(7*24*time.Hour)),
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if cmd.Bool("stdin") {
						c, err := classify.New()
						if err != nil {
							return err
						}
						o := classify.StdinOptions{}
						if cmd.Bool("explain") {
							o.Explain = 8
						}
						return classify.RunStdin(ctx, c, os.Stdin, os.Stdout, o)
					}
					return runMode(app.ModeClassify)(ctx, cmd)
				},
			},
			{
				Name:  "labels",
				Usage: "analysts' corrections of the classifier",
				Commands: []*cli.Command{{
					Name:  "export",
					Usage: "write every correction as a JSON line in the corpus format (train with: go run ./classify/cmd/train -labels FILE); a running serve answers GET /v1/labels instead",
					Flags: []cli.Flag{dataDirFlag(), stringFlag("out", "-", "file to write, - for stdout")},
					Action: func(ctx context.Context, cmd *cli.Command) error {
						return exportLabels(app.LabelsPath(cmd.String("data-dir")), cmd.String("out"))
					},
				}},
			},
			{
				Name:   "serve",
				Usage:  "index signals from Kafka and serve the API",
				Flags:  flags(serveFlags(), topicFlags(7*24*time.Hour), apiFlags(), alertFlags()),
				Action: runMode(app.ModeServe),
			},
		},
	}
}

// runMode builds Options from the flags and runs the process.
func runMode(mode app.Mode) cli.ActionFunc {
	return func(ctx context.Context, cmd *cli.Command) error {
		logger, err := newLogger(cmd.String("log-level"), cmd.String("log-format"))
		if err != nil {
			return err
		}
		o := app.Options{
			Mode:             mode,
			DataDir:          cmd.String("data-dir"),
			Listen:           cmd.String("listen"),
			Brokers:          splitList(cmd.StringSlice("brokers")),
			TopicPartitions:  cmd.Int("topic-partitions"),
			TopicReplication: cmd.Int("topic-replication"),
			TopicRetention:   cmd.Duration("topic-retention"),
			StallAfter:       cmd.Duration("stall-after"),
			Pprof:            cmd.Bool("pprof"),
			Logger:           logger,
			Registry:         prometheus.NewRegistry(),
		}
		if mode == app.ModeRun || mode == app.ModeIngest {
			o.Source = cmd.String("source")
			o.JetstreamURL = cmd.String("jetstream-url")
			o.JetstreamZstdDict = cmd.String("jetstream-zstd-dict")
			o.RelayURL = cmd.String("relay")
			o.Verify = cmd.Bool("verify")
			o.Resync = cmd.Bool("resync")
			o.ResyncAllowNets = splitList(cmd.StringSlice("resync-allow-net"))
			o.ReplaySpeed = cmd.Float("replay-speed")
		}
		if mode == app.ModeRun || mode == app.ModeServe {
			o.Retention = cmd.Duration("retention")
			o.IndexPosts = cmd.String("index-posts")
			o.AdminToken = cmd.String("admin-token")
			o.RateLimit = cmd.Float("rate-limit")
			o.NoDashboard = cmd.Bool("no-dashboard")
			o.WebhookURLs = cmd.StringSlice("webhook")
			o.WebhookSecret = cmd.String("webhook-secret")
			o.WebhookConfig = cmd.String("webhook-config")
			o.WebhookAllowNets = splitList(cmd.StringSlice("webhook-allow-net"))
			o.WebhookMaxAge = cmd.Duration("webhook-max-age")
		}
		switch mode {
		case app.ModeRun:
			o.BrokerListen = cmd.String("broker-listen")
			o.ExitAfterReplay = cmd.Bool("exit-after-replay")
		case app.ModeClassify:
			o.ClassifyGroup = cmd.String("group")
		case app.ModeServe:
			o.IndexGroup = cmd.String("group")
			o.NotifyGroup = cmd.String("notify-group")
			o.NotifySessionTimeout = cmd.Duration("notify-session-timeout")
		}
		a, err := app.Build(ctx, o)
		if err != nil {
			return err
		}
		runErr := a.Run(ctx)
		return joinErr(runErr, a.Close())
	}
}

func joinErr(run, closeErr error) error {
	if run != nil {
		return run
	}
	if closeErr != nil {
		return fmt.Errorf("close: %w", closeErr)
	}
	return nil
}

// splitList accepts both repeated flags and comma-separated values.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
}

// exportLabels writes the corrections of a stopped serve or run process.
func exportLabels(path, out string) (err error) {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no corrections at %s: %w", path, err)
	}
	st, err := labels.Open(path, 2*time.Second)
	if err != nil {
		return fmt.Errorf("%w (is downsignal running on this data directory? ask it: GET /v1/labels)", err)
	}
	defer st.Close()
	w := os.Stdout
	if out != "-" {
		if w, err = os.Create(out); err != nil {
			return err
		}
		defer func() {
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}()
	}
	n, err := st.WriteExport(w)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d corrections\n", n)
	return nil
}
