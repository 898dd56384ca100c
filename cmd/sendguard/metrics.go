package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
)

// promMetrics is an OpenTelemetry SDK MeterProvider whose instruments are
// exported in the Prometheus text format by OpenTelemetry's Prometheus
// exporter, on a registry of its own (nothing process-global: no Go
// runtime or process collectors, and two of them never clash). Its
// resource names the service "sendguard" (target_info).
//
// Give Provider to guard.WithMeterProvider, blocksync.WithMeterProvider,
// the optout configs' MeterProvider (and the fleet member's), and mount
// Handler at /metrics. OpenTelemetry names become Prometheus names by the
// exporter's rules: dots become underscores, counters end in _total, and
// a unit in seconds adds _seconds (sendguard.checks →
// sendguard_checks_total, sendguard.sync.last_success →
// sendguard_sync_last_success_seconds); see the README's Metrics section.
type promMetrics struct {
	Provider *sdkmetric.MeterProvider
	Handler  http.Handler
}

// newPromMetrics builds the provider, its exporter and the handler.
func newPromMetrics() (*promMetrics, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(),
		resource.NewSchemaless(attribute.String("service.name", "sendguard")))
	if err != nil {
		return nil, fmt.Errorf("metrics: resource: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		// A failing instrument must not take the others down.
		ErrorHandling: promhttp.ContinueOnError,
	})
	return &promMetrics{Provider: mp, Handler: h}, nil
}

// Shutdown stops the provider: the handler then serves no sendguard
// metrics. Call it after whatever the provider measures has stopped.
func (m *promMetrics) Shutdown(ctx context.Context) error { return m.Provider.Shutdown(ctx) }
