package broker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// RegisterMetrics registers gauges of what the embedded broker retains,
// read when scraped: retained records and bytes per topic (topics is the
// fixed list downsignal creates) and the bytes of its data directory.
// They show that the topic retention holds memory and disk.
func (e *Embedded) RegisterMetrics(reg prometheus.Registerer, topics []string) error {
	return reg.Register(&embeddedCollector{e: e, topics: topics})
}

var (
	retainedRecordsDesc = prometheus.NewDesc("downsignal_broker_retained_records",
		"Records the embedded broker holds (end offset minus log start offset, summed over partitions).", []string{"topic"}, nil)
	retainedBytesDesc = prometheus.NewDesc("downsignal_broker_retained_bytes",
		"Record batch bytes the embedded broker holds.", []string{"topic"}, nil)
	diskBytesDesc = prometheus.NewDesc("downsignal_broker_disk_bytes",
		"Bytes of the files in the embedded broker's data directory.", nil, nil)
)

type embeddedCollector struct {
	e      *Embedded
	topics []string
}

func (c *embeddedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- retainedRecordsDesc
	ch <- retainedBytesDesc
	ch <- diskBytesDesc
}

func (c *embeddedCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.topics {
		r := c.e.Retained(t)
		ch <- prometheus.MustNewConstMetric(retainedRecordsDesc, prometheus.GaugeValue, float64(r.Records), t)
		ch <- prometheus.MustNewConstMetric(retainedBytesDesc, prometheus.GaugeValue, float64(r.Bytes), t)
	}
	if n, err := c.e.DiskBytes(); err == nil {
		ch <- prometheus.MustNewConstMetric(diskBytesDesc, prometheus.GaugeValue, float64(n))
	} else {
		ch <- prometheus.NewInvalidMetric(diskBytesDesc, err)
	}
}
