package metrics

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Kind is how a metric family's samples behave.
type Kind uint8

// Kinds.
const (
	Counter Kind = iota + 1 // a total that only grows while the node runs
	Gauge                   // a level that goes up and down
)

// Desc describes one metric family: its name, help text, kind and label names. It is
// immutable and safe for concurrent use.
type Desc struct {
	name   string
	kind   Kind
	labels int
	pd     *prometheus.Desc
}

// NewDesc describes a family. The name follows Prometheus's conventions (a _total suffix
// for counters, a unit suffix such as _bytes or _seconds); every sample must give one value
// per label name, in order.
func NewDesc(name, help string, kind Kind, labels ...string) *Desc {
	return &Desc{name: name, kind: kind, labels: len(labels), pd: prometheus.NewDesc(name, help, labels, nil)}
}

// Name returns the family's name.
func (d *Desc) Name() string { return d.name }

// Emitter receives the samples of one scrape. It is valid only during the Collect call it is
// given to.
type Emitter struct {
	ch chan<- prometheus.Metric
}

// Emit adds one sample of d with the label values in d's order. A sample with the wrong
// number of label values fails the scrape of that family only (it is logged).
func (e Emitter) Emit(d *Desc, value float64, labelValues ...string) {
	t := prometheus.CounterValue
	if d.kind == Gauge {
		t = prometheus.GaugeValue
	}
	m, err := prometheus.NewConstMetric(d.pd, t, value, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d.pd, fmt.Errorf("metrics: %s with label values %q: %w", d.name, labelValues, err))
	}
	e.ch <- m
}

// Collector reads a node's counters at scrape time. Describe returns every family Collect
// may emit. Collect runs on every scrape, concurrently with the node's work and possibly
// with another scrape: it must only read (atomics, a snapshot under a lock held briefly) and
// must not block on the network.
type Collector interface {
	Describe() []*Desc
	Collect(e Emitter)
}

// Registry is one node's set of metrics: its Collectors plus the Go runtime and process
// collectors.
type Registry struct {
	reg *prometheus.Registry
	log *slog.Logger
}

// NewRegistry returns a Registry with the Go runtime and process collectors; log (nil =
// discard) receives the errors of scrapes.
func NewRegistry(log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg, log: log}
}

// Register adds c. It fails when one of c's families is already registered under another
// description, or a name is not a valid metric name.
func (r *Registry) Register(c Collector) error {
	if err := r.reg.Register(adapter{c}); err != nil {
		return fmt.Errorf("metrics: register %T: %w", c, err)
	}
	return nil
}

// Handler serves the registry in the Prometheus text format (or another format the scraper
// asks for). A family that fails to collect is left out and logged; the rest is served.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// adapter is a Collector as the library wants it.
type adapter struct{ c Collector }

func (a adapter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range a.c.Describe() {
		ch <- d.pd
	}
}

func (a adapter) Collect(ch chan<- prometheus.Metric) { a.c.Collect(Emitter{ch: ch}) }
