package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/downsignal/downsignal/api"
	"github.com/downsignal/downsignal/broker"
	"github.com/downsignal/downsignal/detect"
	"github.com/downsignal/downsignal/notify"
	"github.com/downsignal/downsignal/record"
	"github.com/downsignal/downsignal/webhook"
)

// buildAlerts opens the detector's store and the webhook outbox, and
// wires the detector as its own consumer of downsignal.signals.
func (a *App) buildAlerts(ctx context.Context) error {
	logger := a.o.Logger.With("component", "alert")
	dir := filepath.Join(a.o.DataDir, "alerts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("alerts dir: %w", err)
	}
	var err error
	a.alerts, err = detect.Open(detect.Options{
		Path:    filepath.Join(dir, "alerts.db"),
		Logger:  logger,
		Metrics: detect.NewMetrics(a.o.Registry),
		// A collapse of the stream while our own source is down is ours.
		SourceLive:  a.sourceLive,
		FollowClock: a.sourceConnected,
		EndOffsets: func() (map[int]int64, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return broker.EndOffsets(ctx, a.brokers, broker.SignalsTopic)
		},
	})
	if err != nil {
		return err
	}
	group := a.o.AlertGroup
	if group == "" {
		group = "downsignal-alert-" + a.alerts.InstanceID()
	}
	if err := addConsumer(a, "alert", hop{topic: broker.SignalsTopic, group: group, linger: signalsLinger}, record.DecodeSignal, a.alerts.Handle, a.alerts.CountInvalid, logger, a.alerts.Close); err != nil {
		a.alerts.Close()
		return err
	}
	a.add(component{name: "alert clock", run: a.tickAlerts})
	return a.buildWebhooks(ctx, dir)
}

// buildWebhooks opens the webhook outbox on the detector's changes, with
// its notifier in a serve replica, and the publisher of the changes.
func (a *App) buildWebhooks(ctx context.Context, dir string) error {
	wlog := a.o.Logger.With("component", "webhook")
	allow, err := parsePrefixes("--webhook-allow-net", a.o.WebhookAllowNets)
	if err != nil {
		return err
	}
	var owner webhook.Owner
	if a.notifies() {
		owner = webhook.OwnerFunc(func(key string) bool { return a.notifier.Owns(key) })
	}
	a.webhooks, err = webhook.Open(webhook.Options{
		Path:     filepath.Join(dir, "webhooks.db"),
		Source:   a.alerts,
		Owner:    owner,
		Logger:   wlog,
		Metrics:  webhook.NewMetrics(a.o.Registry),
		Guard:    webhook.NewGuard(allow),
		Schedule: a.o.WebhookSchedule,
		MaxAge:   a.webhookMaxAge(),
	})
	if err != nil {
		return err
	}
	metrics := notify.NewMetrics(a.o.Registry)
	if owner == nil {
		metrics.SendsAll(max(a.o.TopicPartitions, 1))
	} else {
		// Added before the dispatcher, so it stops first: on shutdown
		// the replica stops owning incidents and lets its requests in
		// flight finish before the dispatcher stops.
		if a.notifier, err = a.buildNotifier(metrics); err != nil {
			a.webhooks.Close()
			return err
		}
	}
	a.add(component{name: "webhook", run: a.webhooks.Run, close: a.webhooks.Close})
	if err := a.buildPublish(dir, metrics); err != nil {
		return err
	}
	cfg, err := a.webhookConfig()
	if err != nil {
		return err
	}
	if err := a.webhooks.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("configured webhooks: %w", err)
	}
	for _, c := range cfg {
		wlog.Info("webhook configured", "name", c.Name, "id", webhook.ConfigID(c.Name), "format", c.Format)
	}
	return nil
}

// buildPublish produces the detector's incident changes to
// downsignal.incidents, the topic the one notifier of several serve
// replicas reads (notify's doc).
func (a *App) buildPublish(dir string, metrics *notify.Metrics) error {
	logger := a.o.Logger.With("component", "publish")
	prod := broker.NewProducer(broker.WriterOptions{Brokers: a.brokers, Topic: broker.IncidentsTopic, Logger: logger})
	pub, err := notify.OpenPublisher(notify.PublisherOptions{Path: filepath.Join(dir, "publish.db"), Log: a.alerts,
		Producer: prod, Logger: logger, Metrics: metrics})
	if err != nil {
		prod.Close()
		return err
	}
	a.add(component{name: "publish", run: pub.Run, close: func() error { return errors.Join(prod.Close(), pub.Close()) }})
	return nil
}

// notifies reports whether this process is one of several serve replicas
// of which one sends each webhook.
func (a *App) notifies() bool { return a.o.Mode == ModeServe && a.o.NotifyGroup != "" }

// buildNotifier makes this replica a member of the one notifier's group;
// the dispatcher asks it which incidents' webhooks are this replica's to
// send.
func (a *App) buildNotifier(metrics *notify.Metrics) (*notify.Notifier, error) {
	logger := a.o.Logger.With("component", "notify")
	prod := broker.NewProducer(broker.WriterOptions{Brokers: a.brokers, Topic: broker.NotifyStateTopic, Logger: logger})
	n, err := notify.NewNotifier(notify.NotifierOptions{Brokers: a.brokers, Group: a.o.NotifyGroup, SessionTimeout: a.o.NotifySessionTimeout,
		Outbox: a.webhooks, Producer: prod, Logger: logger, Metrics: metrics})
	if err != nil {
		prod.Close()
		return nil, err
	}
	a.add(component{name: "notify", run: n.Run, close: prod.Close})
	return n, nil
}

// webhookConfig gathers the endpoints of --webhook-config and --webhook.
func (a *App) webhookConfig() ([]webhook.ConfigEndpoint, error) {
	var out []webhook.ConfigEndpoint
	if path := a.o.WebhookConfig; path != "" {
		cfg, err := webhook.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		out = append(out, cfg...)
	}
	for _, v := range a.o.WebhookURLs {
		out = append(out, webhook.FlagEndpoint(v, a.o.WebhookSecret))
	}
	return out, nil
}

// alertsAPI is the detector for the API, or nil (not a typed nil) when
// this process does not run it.
func (a *App) alertsAPI() api.Alerts {
	if a.alerts == nil {
		return nil
	}
	return a.alerts
}

// webhooksAPI is the dispatcher for the API, or nil.
func (a *App) webhooksAPI() api.Webhooks {
	if a.webhooks == nil {
		return nil
	}
	return a.webhooks
}

// incidentStates lets /v1/services show pending and firing services, or
// is nil without alerting.
func (a *App) incidentStates() api.IncidentStates {
	if a.alerts == nil {
		return nil
	}
	return a.alerts
}

// baselineSpans gives the trends the detector's incident spans, or is nil
// without alerting.
func (a *App) baselineSpans() api.BaselineSpans {
	if a.alerts == nil {
		return nil
	}
	return a.alerts
}

// webhookMaxAge is the configured limit, lifted for a replay in run mode.
func (a *App) webhookMaxAge() time.Duration {
	if a.o.Mode == ModeRun && strings.HasPrefix(a.o.Source, "replay:") {
		return 0
	}
	return a.o.WebhookMaxAge
}

// parsePrefixes parses the CIDR prefixes given to flag.
func parsePrefixes(flag string, list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s %q: want a CIDR prefix like 10.0.0.0/8", flag, s)
		}
		out = append(out, p)
	}
	return out, nil
}
