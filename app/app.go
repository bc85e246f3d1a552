package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/downsignal/downsignal/api"
	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/catalog"
	"github.com/downsignal/downsignal/classify"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/health"
	"github.com/downsignal/downsignal/index"
	"github.com/downsignal/downsignal/ingest"
	"github.com/downsignal/downsignal/ingest/firehose"
	"github.com/downsignal/downsignal/ingest/firehose/resync"
	"github.com/downsignal/downsignal/ingest/firehose/verify"
	"github.com/downsignal/downsignal/ingest/jetstream"
	"github.com/downsignal/downsignal/ingest/replay"
	"github.com/downsignal/downsignal/labels"
	"github.com/downsignal/downsignal/notify"
	"github.com/downsignal/downsignal/record"
	"github.com/downsignal/downsignal/web"
	"github.com/downsignal/downsignal/webhook"
)

// App is one downsignal process.
type App struct {
	o        Options
	log      *slog.Logger
	embedded *broker.Embedded
	brokers  []string

	// comps are the stages this process runs, upstream first: Run starts
	// them all and stops them in this order, Close releases them in the
	// reverse order, WaitReplayed follows their consuming hops. A new
	// stage is one entry, added by its build function.
	comps []component

	ingest   *ingest.Stage
	index    *index.Index
	alerts   *detect.Engine
	webhooks *webhook.Dispatcher
	notifier *notify.Notifier // nil unless a serve replica in a notify group
	api      *api.Server

	// source follows the post source's health for /v1/status; fed is set
	// once a consuming stage feeds it (see observe).
	source      *health.Source
	fed         bool
	statusCache statusCache
}

// component is one long-running part of the process.
type component struct {
	name string
	// run is nil for a component that only holds a resource (a store the
	// API reads and writes); Run skips it.
	run func(context.Context) error
	// close releases what the component's build acquired; nil if nothing.
	close func() error
	// hop is the topic and group of a consuming stage, which WaitReplayed
	// waits on; nil for the others.
	hop *hop
	// wm is a consuming stage's watermark, for /v1/status.
	wm *health.Watermark
}

// hop is a consuming stage's topic and consumer group, and how long its
// partial batches wait for more records (0: the consumer's default).
type hop struct {
	topic, group string
	linger       time.Duration
}

// signalsLinger is how long the stages that write a store per batch (the
// index and the detector) let a partial batch wait for more records. At
// Bluesky's rate (about 25 posts/s) the consumer's default of 20 ms hands
// them batches of one or two posts, each a bbolt transaction with its
// fsync (and for the index a Bleve batch, another fsync and a tiny segment
// to merge). A quarter of a second gathers a few posts per batch at that
// rate, changes nothing when posts arrive faster than batches fill, and
// keeps post to searchable well under a second. Offsets are still
// committed only after the batch is durable: the wait comes before
// Handle, never between Handle and the commit.
const signalsLinger = 250 * time.Millisecond

// add appends a component; build functions call it as they succeed, so
// Close releases exactly what was built.
func (a *App) add(c component) { a.comps = append(a.comps, c) }

// Build prepares a process: it starts the embedded broker when there is
// one (other stages need its address), creates the topics, opens the index
// and binds the HTTP port. Nothing is consumed or produced until Run.
// A failed Build releases what it acquired; after a successful one, Close
// does.
func Build(ctx context.Context, o Options) (*App, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	a := &App{o: o, log: o.Logger, brokers: o.Brokers}
	if err := a.build(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// build acquires the process's parts in data-flow order, adding each as a
// component as it succeeds.
func (a *App) build(ctx context.Context) error {
	o := a.o
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(a.brokers) == 0 {
		if err := a.startEmbedded(); err != nil {
			return err
		}
	}
	if err := a.ensureTopics(ctx); err != nil {
		return err
	}
	clf, err := classify.New()
	if err != nil {
		return err
	}
	if o.runs(ModeIngest) {
		if err := a.buildIngest(); err != nil {
			return err
		}
	} else {
		// No source of its own: it follows the posts its first consuming
		// stage sees (observe).
		a.source = health.NewSource(health.SourceOptions{Name: "kafka", StallAfter: o.StallAfter})
	}
	if o.runs(ModeClassify) {
		if err := a.buildClassify(clf); err != nil {
			return err
		}
	}
	if o.runs(ModeServe) {
		if err := a.buildIndex(); err != nil {
			return err
		}
		if err := a.buildAlerts(ctx); err != nil {
			return err
		}
	}
	a.registerLag()
	return a.buildAPI(clf.Catalog())
}

// registerLag exports each consuming stage's consumer lag, read from Kafka
// at scrape time, so a dashboard sees a group fall behind whichever member
// is scraped.
func (a *App) registerLag() {
	var hops []broker.Hop
	for _, c := range a.comps {
		if c.hop != nil {
			hops = append(hops, broker.Hop{Stage: c.name, Topic: c.hop.topic, Group: c.hop.group})
		}
	}
	if len(hops) > 0 {
		a.o.Registry.MustRegister(broker.NewLagCollector(a.brokers, hops, a.log.With("component", "lag")))
	}
}

// startEmbedded starts the embedded broker, which every stage then uses.
func (a *App) startEmbedded() error {
	dir := filepath.Join(a.o.DataDir, "broker")
	e, err := broker.StartEmbedded(broker.EmbeddedOptions{
		DataDir:        dir,
		Addr:           a.o.BrokerListen,
		RetentionCheck: retentionCheck(a.o.TopicRetention),
		Logger:         a.o.Logger.With("component", "broker"),
	})
	if err != nil {
		return err
	}
	if err := e.RegisterMetrics(a.o.Registry, []string{broker.PostsTopic, broker.SignalsTopic}); err != nil {
		e.Close()
		return fmt.Errorf("embedded broker metrics: %w", err)
	}
	a.embedded = e
	a.brokers = []string{e.Addr()}
	a.log.Info("embedded broker started", "addr", e.Addr(), "dir", dir)
	return nil
}

// retentionCheck is how often the embedded broker drops expired records:
// a tenth of the topic retention, so the topics overshoot it by at most
// 10%, between 1s and 5m (each check reads every retained batch's index
// entry, so it is not run more often than needed).
func retentionCheck(topicRetention time.Duration) time.Duration {
	if topicRetention <= 0 {
		return 5 * time.Minute // the 7-day default
	}
	return min(max(topicRetention/10, time.Second), 5*time.Minute)
}

// buildAPI binds the HTTP server. Only a process that serves the read model
// has search, analysts' labels and the dashboard; ingest and classify serve
// health and metrics.
func (a *App) buildAPI(cat *catalog.Catalog) error {
	o := a.o
	ao := api.Options{
		Addr:     o.Listen,
		Catalog:  cat,
		Gatherer: o.Registry,
		Ready:    a.ready,
		Logger:   o.Logger.With("component", "api"),

		Alerts:     a.alertsAPI(),
		Webhooks:   a.webhooksAPI(),
		Incidents:  a.incidentStates(),
		Spans:      a.baselineSpans(),
		AdminToken: o.AdminToken,
		RateLimit:  o.RateLimit,
		Pprof:      o.Pprof,
		Registerer: o.Registry,
		Status:     a.status,
	}
	if o.runs(ModeServe) {
		ao.Searcher = a.index
		st, err := labels.Open(LabelsPath(o.DataDir), 0)
		if err != nil {
			return err
		}
		a.add(component{name: "labels", close: st.Close})
		ao.Labels = st
		if !o.NoDashboard {
			d, err := web.New()
			if err != nil {
				return err
			}
			ao.Dashboard = d
		}
	}
	var err error
	if a.api, err = api.New(ao); err != nil {
		return err
	}
	if err := a.api.Listen(); err != nil {
		return err
	}
	a.add(component{name: "api", run: a.api.Run})
	a.add(component{name: "source health", run: a.watchSource})
	return nil
}

// ensureTopics creates the topics, retrying while a real cluster is still
// starting (compose starts Kafka and downsignal together).
func (a *App) ensureTopics(ctx context.Context) error {
	specs := broker.Topics(broker.TopicOptions{
		Partitions:        a.o.TopicPartitions,
		ReplicationFactor: a.o.TopicReplication,
		Retention:         a.o.TopicRetention,
		SegmentBytes:      a.o.TopicSegmentBytes,
	})
	deadline := time.Now().Add(2 * time.Minute)
	for wait := 500 * time.Millisecond; ; wait = min(wait*2, 10*time.Second) {
		err := broker.EnsureTopics(ctx, a.brokers, specs)
		if err == nil && a.embedded != nil {
			// The embedded broker is ours: its topics follow the flags
			// even when an earlier run created them.
			err = broker.SetRetention(ctx, a.brokers, specs)
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		a.log.Warn("kafka not ready; retrying", "brokers", strings.Join(a.brokers, ","), "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (a *App) buildIngest() error {
	logger := a.o.Logger.With("component", "ingest")
	metrics := ingest.NewMetrics(a.o.Registry)
	var src ingest.Source
	var err error
	if path, ok := strings.CutPrefix(a.o.Source, "replay:"); ok {
		src, err = replay.New(replay.Options{Path: path, Speed: a.o.ReplaySpeed, Logger: logger, Metrics: metrics})
	} else if a.o.Source == "firehose" {
		src, err = a.firehoseSource(logger, metrics)
	} else {
		src, err = a.jetstreamSource(logger, metrics)
	}
	if err != nil {
		return err
	}
	// The source's health, under the name its cursor is saved by.
	_, replaying := src.(*replay.Source)
	a.source = health.NewSource(health.SourceOptions{Name: src.Name(), Replay: replaying, StallAfter: a.o.StallAfter})
	metrics.Follow(a.source)
	producer := broker.NewProducer(broker.WriterOptions{Brokers: a.brokers, Topic: broker.PostsTopic, Logger: logger})
	a.ingest, err = ingest.NewStage(ingest.StageOptions{
		Source:   src,
		Producer: producer,
		Cursors:  ingest.FileCursors{Dir: filepath.Join(a.o.DataDir, "ingest")},
		Logger:   logger,
		Metrics:  metrics,
	})
	if err != nil {
		producer.Close()
		return err
	}
	a.add(component{name: "ingest", run: a.ingest.Run, close: producer.Close})
	return nil
}

func (a *App) firehoseSource(logger *slog.Logger, metrics *ingest.Metrics) (ingest.Source, error) {
	o := firehose.Options{URL: a.o.RelayURL, Logger: logger, Metrics: firehose.NewMetrics(a.o.Registry, metrics)}
	if a.o.Verify {
		o.Verifier = verify.New(a.o.Directory)
	}
	if a.o.Resync {
		allow, err := parsePrefixes("--resync-allow-net", a.o.ResyncAllowNets)
		if err != nil {
			return nil, err
		}
		o.Resync = resync.New(resync.Options{Directory: a.o.Directory, AllowNets: allow, Verify: a.o.Verify})
	}
	return firehose.New(o)
}

func (a *App) jetstreamSource(logger *slog.Logger, metrics *ingest.Metrics) (ingest.Source, error) {
	o := jetstream.Options{Logger: logger, Metrics: metrics}
	for _, u := range strings.Split(a.o.JetstreamURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.URLs = append(o.URLs, u)
		}
	}
	if a.o.JetstreamZstdDict != "" {
		dict, err := os.ReadFile(a.o.JetstreamZstdDict)
		if err != nil {
			return nil, fmt.Errorf("jetstream zstd dictionary: %w", err)
		}
		o.ZstdDict = dict
	}
	return jetstream.New(o)
}

func (a *App) buildClassify(clf *classify.Classifier) error {
	logger := a.o.Logger.With("component", "classify")
	metrics := classify.NewMetrics(a.o.Registry)
	producer := broker.NewProducer(broker.WriterOptions{Brokers: a.brokers, Topic: broker.SignalsTopic, Logger: logger})
	// The classify stage is stateless: it turns each post event into a
	// signal and returns once Kafka acknowledged them all, so any number
	// of workers can share the group.
	handle := func(ctx context.Context, batch []record.Delivery[record.Event]) error {
		recs := make([]broker.Record, 0, len(batch))
		for _, d := range batch {
			if d.Invalid {
				continue
			}
			sig := clf.Signal(d.Value)
			if sig.Result != nil {
				metrics.Classified(sig.Result.Outage)
			}
			var err error
			if recs, err = broker.Encode(recs, &sig); err != nil {
				return err
			}
		}
		if err := producer.Produce(ctx, recs); err != nil {
			return fmt.Errorf("produce %d signals: %w", len(recs), err)
		}
		return nil
	}
	err := addConsumer(a, "classify", hop{topic: broker.PostsTopic, group: a.o.ClassifyGroup}, record.DecodeEvent, handle, metrics.Invalid, logger, producer.Close)
	if err != nil {
		producer.Close()
	}
	return err
}

func (a *App) buildIndex() error {
	logger := a.o.Logger.With("component", "index")
	var err error
	a.index, err = index.Open(index.Options{
		Dir:       filepath.Join(a.o.DataDir, "index"),
		Retention: a.o.Retention,
		Posts:     index.Posts(a.o.IndexPosts),
		Logger:    logger,
		Metrics:   index.NewMetrics(a.o.Registry),
	})
	if err != nil {
		return err
	}
	group := a.o.IndexGroup
	if group == "" {
		group = "downsignal-index-" + a.index.InstanceID()
	}
	if err := addConsumer(a, "index", hop{topic: broker.SignalsTopic, group: group, linger: signalsLinger}, record.DecodeSignal, a.index.Handle, a.index.CountInvalid, logger, a.index.Close); err != nil {
		a.index.Close()
		return err
	}
	a.add(component{name: "retention", run: a.index.Run})
	return nil
}

// addConsumer adds a consuming stage: a group reader of h.topic whose
// batches, decoded by decode, go to handle. release is closed with it,
// after its reader.
func addConsumer[T any](a *App, name string, h hop, decode func([]byte) (T, error), handle func(context.Context, []record.Delivery[T]) error, invalid func(), logger *slog.Logger, release func() error) error {
	handle, wm := observe(a, handle)
	r := broker.NewReader(broker.ReaderOptions{Brokers: a.brokers, Topic: h.topic, GroupID: h.group, Logger: logger})
	c, err := broker.NewConsumer(broker.ConsumerOptions[T]{Reader: r, Decode: decode, Handle: handle, OnInvalid: invalid, Linger: h.linger, Logger: logger})
	if err != nil {
		r.Close()
		return err
	}
	a.add(component{name: name, run: c.Run, hop: &h, wm: wm, close: func() error {
		return errors.Join(r.Close(), release())
	}})
	return nil
}

// LabelsPath is where a process keeps analysts' corrections (package
// labels) under its data directory.
func LabelsPath(dataDir string) string { return filepath.Join(dataDir, "labels.db") }

// APIAddr is the address the HTTP server is bound to.
func (a *App) APIAddr() string { return a.api.Addr() }

// Brokers are the Kafka brokers the process uses (the embedded one's
// address in run mode without --brokers).
func (a *App) Brokers() []string { return a.brokers }

// ready backs /readyz: Kafka must be reachable.
func (a *App) ready(ctx context.Context) error {
	if err := broker.Reachable(ctx, a.brokers); err != nil {
		return fmt.Errorf("kafka unreachable: %w", err)
	}
	return nil
}

// errReplayDone ends Run cleanly after --exit-after-replay.
var errReplayDone = errors.New("replay complete")

// Run runs every stage until ctx ends, a stage fails, or (with
// ExitAfterReplay) the replay is fully searchable. Shutdown goes from
// upstream to downstream, each stage finishing before the next stops, so
// in-flight work is flushed rather than redelivered.
func (a *App) Run(ctx context.Context) error {
	var comps []component
	for _, c := range a.comps {
		if c.run != nil {
			comps = append(comps, c)
		}
	}
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if a.o.ExitAfterReplay {
		go func() {
			if err := a.WaitReplayed(runCtx); err == nil {
				a.log.Info("replay complete: every replayed post is searchable")
				stop(errReplayDone)
			}
		}()
	}

	type running struct {
		cancel context.CancelFunc
		done   chan error
	}
	rs := make([]running, len(comps))
	for i, c := range comps {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan error, 1)
		rs[i] = running{cancel, done}
		go func() {
			err := c.run(cctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("%s: %w", c.name, err)
				stop(err)
			} else if cctx.Err() == nil {
				// A component that returns on its own ends the process.
				stop(fmt.Errorf("%s stopped", c.name))
			}
			done <- err
		}()
	}

	<-runCtx.Done()
	cause := context.Cause(runCtx)
	a.log.Info("shutting down", "cause", cause)
	var errs []error
	for i, c := range comps {
		rs[i].cancel()
		if err := <-rs[i].done; err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
		a.log.Debug("stopped", "component", c.name)
	}
	switch {
	case errors.Is(cause, errReplayDone), errors.Is(cause, context.Canceled) && ctx.Err() != nil:
		return errors.Join(errs...)
	default:
		return errors.Join(append([]error{cause}, errs...)...)
	}
}

// WaitReplayed returns once the replay source is exhausted and everything
// it produced went through classify and into the index: every replayed post
// is searchable. Only meaningful in run mode with a replay source.
func (a *App) WaitReplayed(ctx context.Context) error {
	if a.ingest == nil || a.index == nil {
		return errors.New("wait for replay: needs run mode")
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-a.ingest.Exhausted():
	}
	for _, c := range a.comps {
		if c.hop == nil {
			continue
		}
		hop := c.hop
		end, err := broker.EndOffsets(ctx, a.brokers, hop.topic)
		if err != nil {
			return err
		}
		for {
			if ok, err := broker.GroupReached(ctx, a.brokers, hop.group, hop.topic, end); err == nil && ok {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// Close releases everything Build acquired, downstream first: the API,
// the detector and the index before the stages that feed them, the
// embedded broker last.
func (a *App) Close() error {
	var errs []error
	for i := len(a.comps) - 1; i >= 0; i-- {
		if c := a.comps[i]; c.close != nil {
			errs = append(errs, c.close())
		}
	}
	if a.embedded != nil {
		a.embedded.Close()
	}
	return errors.Join(errs...)
}
