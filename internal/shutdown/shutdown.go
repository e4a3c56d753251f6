// Package shutdown stops a Depot node the way both commands do on SIGTERM or SIGINT: the
// node's stop_timeout bounds the wait for the requests in flight, and a second signal cuts
// the wait short.
package shutdown

import (
	"context"
	"log/slog"
	"os"
	"time"
)

// Node is what Stop stops: storage.Server and tracker.Node.
type Node interface {
	StopTimeout() time.Duration
	Shutdown(ctx context.Context) error
}

// Stop shuts node down with its stop timeout as the deadline for the requests in flight. The
// signal that asked for the stop may also be waiting in term; signals is how many were
// counted already. The second one cancels Shutdown's context: the connections of the
// requests still in flight are closed at once. name ("tracker", "storage node") goes into
// the log lines.
func Stop(node Node, name string, term <-chan os.Signal, signals int, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), node.StopTimeout())
	defer cancel()
	log.Info("stopping; a second SIGTERM or SIGINT stops at once", "stop_timeout", node.StopTimeout())
	done := make(chan error, 1)
	go func() { done <- node.Shutdown(ctx) }()
	for {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
			log.Info(name + " stopped")
			return nil
		case sig := <-term:
			if signals++; signals >= 2 {
				log.Warn("second signal: closing the connections of the requests in flight now", "signal", sig.String())
				cancel()
			}
		}
	}
}
