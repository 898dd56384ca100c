// Package telemetrytest reads sendguard's instruments in tests: a real
// OpenTelemetry SDK MeterProvider with a manual reader, and look-ups of one
// instrument's value by name and attributes. Only tests import it.
package telemetrytest

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Reader is an SDK MeterProvider whose metrics are collected on demand.
type Reader struct {
	Provider *sdkmetric.MeterProvider
	reader   *sdkmetric.ManualReader
}

// New returns a Reader; the provider is shut down when the test ends.
func New(t testing.TB) *Reader {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return &Reader{Provider: mp, reader: r}
}

// Collect collects every instrument now.
func (r *Reader) Collect(t testing.TB) Snapshot {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect: %v", err)
	}
	s := Snapshot{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			s[m.Name] = m
		}
	}
	return s
}

// Snapshot is one collection, by instrument name.
type Snapshot map[string]metricdata.Metrics

func matches(set attribute.Set, attrs []attribute.KeyValue) bool {
	for _, kv := range attrs {
		v, ok := set.Value(kv.Key)
		if !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// Int returns the sum of name's data points whose attributes include
// attrs, and whether any point matched. name must be an int64 sum or gauge.
func (s Snapshot) Int(t testing.TB, name string, attrs ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	m, ok := s[name]
	if !ok {
		return 0, false
	}
	var pts []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		pts = d.DataPoints
	case metricdata.Gauge[int64]:
		pts = d.DataPoints
	default:
		t.Fatalf("%s: %T is not an int64 sum or gauge", name, m.Data)
	}
	var sum int64
	found := false
	for _, p := range pts {
		if matches(p.Attributes, attrs) {
			sum += p.Value
			found = true
		}
	}
	return sum, found
}

// Float returns the value of name's first data point whose attributes
// include attrs. name must be a float64 gauge or sum.
func (s Snapshot) Float(t testing.TB, name string, attrs ...attribute.KeyValue) (float64, bool) {
	t.Helper()
	m, ok := s[name]
	if !ok {
		return 0, false
	}
	var pts []metricdata.DataPoint[float64]
	switch d := m.Data.(type) {
	case metricdata.Gauge[float64]:
		pts = d.DataPoints
	case metricdata.Sum[float64]:
		pts = d.DataPoints
	default:
		t.Fatalf("%s: %T is not a float64 gauge or sum", name, m.Data)
	}
	for _, p := range pts {
		if matches(p.Attributes, attrs) {
			return p.Value, true
		}
	}
	return 0, false
}

// Histogram returns name's float64 histogram point whose attributes
// include attrs.
func (s Snapshot) Histogram(t testing.TB, name string, attrs ...attribute.KeyValue) (metricdata.HistogramDataPoint[float64], bool) {
	t.Helper()
	m, ok := s[name]
	if !ok {
		return metricdata.HistogramDataPoint[float64]{}, false
	}
	d, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("%s: %T is not a float64 histogram", name, m.Data)
	}
	for _, p := range d.DataPoints {
		if matches(p.Attributes, attrs) {
			return p, true
		}
	}
	return metricdata.HistogramDataPoint[float64]{}, false
}

// Want fails the test unless name's int64 value for attrs is want.
func (s Snapshot) Want(t testing.TB, name string, want int64, attrs ...attribute.KeyValue) {
	t.Helper()
	got, ok := s.Int(t, name, attrs...)
	if !ok {
		t.Errorf("%s%v: not observed, want %d", name, attrs, want)
		return
	}
	if got != want {
		t.Errorf("%s%v = %d, want %d", name, attrs, got, want)
	}
}
