// Package telemetry holds what sendguard's packages share to expose
// OpenTelemetry metrics: the meter each package uses, and a registration
// tied to the lifetime of the object it reads.
//
// Only the OpenTelemetry metric API is imported here (and the API
// module's global provider); the SDK and the exporters are the
// application's choice.
//
// # The pattern
//
// A package keeps its counts in atomics (or striped counters) it updates
// anyway, and registers one callback that reads them at collection time:
// nothing is recorded on the measured path. An object with a Close
// unregisters there; one without (a sync engine) registers with
// [RegisterFor], which unregisters once the object is garbage collected.
// Instrument names start with "sendguard.", carry a unit (UCUM, or a
// {annotation} for counts), and their attributes are never a recipient,
// a token or a secret.
//
// For example, a fleet member that keeps the stream position it applied
// and the stream's last position in atomics registers:
//
//	m := telemetry.Meter(mp, "sync/fleet")
//	applied, _ := m.Int64ObservableGauge("sendguard.fleet.applied", metric.WithUnit("{message}"))
//	lag, _ := m.Int64ObservableUpDownCounter("sendguard.fleet.lag", metric.WithUnit("{message}"))
//	reg, _ := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
//		a, last := mb.applied.Load(), mb.streamLast.Load()
//		o.ObserveInt64(applied, int64(a))
//		o.ObserveInt64(lag, int64(last-min(a, last)))
//		return nil
//	}, applied, lag)
//	// and reg.Unregister() in the member's Close.
package telemetry

import (
	"context"
	"runtime"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// ScopePrefix is the instrumentation scope of every sendguard meter: the
// module path; a package's scope is ScopePrefix + "/" + its path.
const ScopePrefix = "github.com/sendguard/sendguard"

// Meter returns the meter of package pkg ("guard", "sync", …) from mp, or
// from the global provider (otel.GetMeterProvider, a no-op until the
// application sets one) when mp is nil.
func Meter(mp metric.MeterProvider, pkg string) metric.Meter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return mp.Meter(ScopePrefix + "/" + pkg)
}

// RegisterFor registers cb with m for instruments, for as long as owner is
// reachable: cb is called with owner at each collection, and is
// unregistered once owner has been garbage collected (a collection in
// between observes nothing). cb must not capture owner itself — it gets it
// as its argument — or owner is never collected.
func RegisterFor[T any](m metric.Meter, owner *T, cb func(ctx context.Context, o *T, obs metric.Observer) error, instruments ...metric.Observable) error {
	wp := weak.Make(owner)
	reg, err := m.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		o := wp.Value()
		if o == nil {
			return nil
		}
		return cb(ctx, o, obs)
	}, instruments...)
	if err != nil {
		return err
	}
	runtime.AddCleanup(owner, func(r metric.Registration) { _ = r.Unregister() }, reg)
	return nil
}

// Instruments creates observable instruments on one meter and keeps the
// first error, so that a package declares its instruments as a list and
// checks once. After an error every further call returns nil. An empty
// unit is OpenTelemetry's default (dimensionless).
type Instruments struct {
	m   metric.Meter
	Err error // the first error met
}

// NewInstruments returns an Instruments over m.
func NewInstruments(m metric.Meter) *Instruments { return &Instruments{m: m} }

// keep returns c, or nil after the first error (which it keeps).
func keep[C any](in *Instruments, c C, err error) C {
	if err != nil {
		in.Err = err
		var none C
		return none
	}
	return c
}

// Counter is an Int64ObservableCounter.
func (in *Instruments) Counter(name, unit, desc string) metric.Int64ObservableCounter {
	if in.Err != nil {
		return nil
	}
	c, err := in.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return keep(in, c, err)
}

// UpDown is an Int64ObservableUpDownCounter.
func (in *Instruments) UpDown(name, unit, desc string) metric.Int64ObservableUpDownCounter {
	if in.Err != nil {
		return nil
	}
	c, err := in.m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return keep(in, c, err)
}

// IntGauge is an Int64ObservableGauge.
func (in *Instruments) IntGauge(name, unit, desc string) metric.Int64ObservableGauge {
	if in.Err != nil {
		return nil
	}
	c, err := in.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return keep(in, c, err)
}

// Gauge is a Float64ObservableGauge.
func (in *Instruments) Gauge(name, unit, desc string) metric.Float64ObservableGauge {
	if in.Err != nil {
		return nil
	}
	c, err := in.m.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return keep(in, c, err)
}
