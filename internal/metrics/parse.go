package metrics

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one counter or gauge sample read back from the text format.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Samples are the counter, gauge and untyped samples of one scrape, in name order.
type Samples []Sample

// ParseText reads the Prometheus text format (what Registry.Handler serves by default) and
// returns its counter, gauge and untyped samples; summaries and histograms are left out.
func ParseText(r io.Reader) (Samples, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("metrics: parse text format: %w", err)
	}
	var out Samples
	for name, mf := range fams {
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue
			}
			s := Sample{Name: name, Labels: map[string]string{}, Value: v}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Value returns the value of the one sample of name whose labels include the given
// name/value pairs; ok is false when none or several match.
func (ss Samples) Value(name string, labels ...string) (v float64, ok bool) {
	n := 0
	for _, s := range ss {
		if s.Name == name && s.has(labels) {
			v, n = s.Value, n+1
		}
	}
	return v, n == 1
}

// Sum adds the values of every sample of name whose labels include the given pairs (0 when
// none does).
func (ss Samples) Sum(name string, labels ...string) float64 {
	var sum float64
	for _, s := range ss {
		if s.Name == name && s.has(labels) {
			sum += s.Value
		}
	}
	return sum
}

// String lists the samples one a line, for test failures.
func (ss Samples) String() string {
	var b strings.Builder
	for _, s := range ss {
		keys := make([]string, 0, len(s.Labels))
		for k := range s.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(s.Name)
		for i, k := range keys {
			sep := ","
			if i == 0 {
				sep = "{"
			}
			fmt.Fprintf(&b, "%s%s=%q", sep, k, s.Labels[k])
		}
		if len(keys) > 0 {
			b.WriteByte('}')
		}
		fmt.Fprintf(&b, " %g\n", s.Value)
	}
	return b.String()
}

func (s Sample) has(pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v, ok := s.Labels[pairs[i]]; !ok || v != pairs[i+1] {
			return false
		}
	}
	return true
}
