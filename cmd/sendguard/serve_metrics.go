package main

// serve's /metrics: the OpenTelemetry instruments of the guard, the sync
// engine and the opt-out handlers (see the README's Metrics section),
// exported through the Prometheus exporter (metrics.go), plus serve's own:
// HTTP requests by route and status, and readiness. No label ever holds a
// recipient: routes are patterns ("POST /v1/check"), not paths.

import (
	"context"
	"net/http"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
)

// httpMetrics counts requests by route pattern and status. The counters
// are found through a sync.Map and added to atomically: no lock on the
// check path. Its instruments read them when the provider collects.
type httpMetrics struct {
	counts gosync.Map // httpKey → *httpCount
}

type httpKey struct {
	route  string
	status int
}

type httpCount struct {
	n       atomic.Uint64
	seconds atomic.Uint64 // nanoseconds, summed
	attrs   metric.ObserveOption
}

func newHTTPMetrics() *httpMetrics { return &httpMetrics{} }

// observe counts one request.
func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	k := httpKey{route, status}
	v, ok := m.counts.Load(k)
	if !ok {
		v, _ = m.counts.LoadOrStore(k, &httpCount{attrs: metric.WithAttributeSet(attribute.NewSet(
			attribute.String("route", route), attribute.String("code", strconv.Itoa(status))))})
	}
	c := v.(*httpCount)
	c.n.Add(1)
	c.seconds.Add(uint64(max(took, 0)))
}

// register registers serve's instruments with mp: sendguard.http.requests
// {request} and sendguard.http.request.time (s) by route and code, and
// sendguard.ready (1 while ready for traffic). They last as long as mp.
func (m *httpMetrics) register(mp metric.MeterProvider, ready *atomic.Bool) error {
	meter := telemetry.Meter(mp, "cmd/sendguard")
	requests, err := meter.Int64ObservableCounter("sendguard.http.requests", metric.WithUnit("{request}"),
		metric.WithDescription("HTTP requests served, by route pattern and status."))
	if err != nil {
		return err
	}
	took, err := meter.Float64ObservableCounter("sendguard.http.request.time", metric.WithUnit("s"),
		metric.WithDescription("Time spent serving HTTP requests, by route pattern and status."))
	if err != nil {
		return err
	}
	up, err := meter.Int64ObservableGauge("sendguard.ready",
		metric.WithDescription("1 while serve is ready for traffic, else 0."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.counts.Range(func(_, v any) bool {
			c := v.(*httpCount)
			o.ObserveInt64(requests, int64(c.n.Load()), c.attrs)
			o.ObserveFloat64(took, time.Duration(c.seconds.Load()).Seconds(), c.attrs)
			return true
		})
		r := int64(0)
		if ready.Load() {
			r = 1
		}
		o.ObserveInt64(up, r)
		return nil
	}, requests, took, up)
	return err
}

// metricsHandler serves GET /metrics in the Prometheus text format.
func (s *server) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		s.prom.Handler.ServeHTTP(w, r)
	})
}
