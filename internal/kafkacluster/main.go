// Command kafkacluster runs a standalone Kafka-protocol cluster of several
// brokers (franz-go's kfake) on loopback, for tests that start downsignal's
// stages as separate processes. It prints one line, "brokers ADDR,ADDR,...",
// once every broker accepts connections, and runs until SIGTERM or SIGINT.
//
// It is a test tool: kfake calls itself a broker for testing (one goroutine,
// no real replication). It is never built into the container image; a real
// deployment points --brokers at a real Kafka cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	n := flag.Int("brokers", 3, "number of brokers")
	dir := flag.String("data-dir", "", "directory for the brokers' logs and committed offsets (empty: memory only)")
	flag.Parse()
	if err := run(*n, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "kafkacluster:", err)
		os.Exit(1)
	}
}

func run(n int, dir string) error {
	if n < 1 {
		return fmt.Errorf("-brokers %d: want at least 1", n)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(n),
		kfake.ClusterID("downsignal-test-cluster"),
		// Topics are created by downsignal with their configs, as on a real cluster.
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "1049600"}),
	}
	if dir != "" {
		opts = append(opts, kfake.DataDir(dir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}
	defer c.Close()
	fmt.Printf("brokers %s\n", strings.Join(c.ListenAddrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
