package fleet

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
)

// registerMetrics registers the member's instruments with
// [Config].MeterProvider; the caller unregisters them when Run returns.
// The callback reads the figures Stats returns (a short lock, at
// collection time only): nothing is recorded on the replication path.
func (m *Member) registerMetrics() (metric.Registration, error) {
	meter := telemetry.Meter(m.cfg.MeterProvider, "sync/fleet")
	applied, err := meter.Int64ObservableGauge("sendguard.fleet.applied", metric.WithUnit("{message}"),
		metric.WithDescription("The last stream sequence number this member applied."))
	if err != nil {
		return nil, err
	}
	lag, err := meter.Int64ObservableUpDownCounter("sendguard.fleet.lag", metric.WithUnit("{message}"),
		metric.WithDescription("Messages in the fleet's stream after the last one this member applied, as last seen."))
	if err != nil {
		return nil, err
	}
	unpublished, err := meter.Int64ObservableUpDownCounter("sendguard.fleet.unpublished", metric.WithUnit("{change}"),
		metric.WithDescription("Local changes read from the change log and not yet acknowledged by the stream."))
	if err != nil {
		return nil, err
	}
	appliedChanges, err := meter.Int64ObservableCounter("sendguard.fleet.applied_changes", metric.WithUnit("{change}"),
		metric.WithDescription("Other members' changes that changed this guard, since Run started."))
	if err != nil {
		return nil, err
	}
	connected, err := meter.Int64ObservableGauge("sendguard.fleet.connected",
		metric.WithDescription("1 if the member's last publish or heartbeat reached the NATS server, else 0."))
	if err != nil {
		return nil, err
	}
	holder, err := meter.Int64ObservableGauge("sendguard.fleet.lease_held",
		metric.WithDescription("1 while this member holds the fleet's vendor lease (runs the vendor sync), else 0."))
	if err != nil {
		return nil, err
	}
	members, err := meter.Int64ObservableGauge("sendguard.fleet.members", metric.WithUnit("{member}"),
		metric.WithDescription("Members whose heartbeat is less than 30s old, as last seen."))
	if err != nil {
		return nil, err
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := m.Stats()
		o.ObserveInt64(applied, int64(st.Applied))
		o.ObserveInt64(lag, int64(st.Lag))
		o.ObserveInt64(unpublished, int64(st.Unpublished))
		o.ObserveInt64(appliedChanges, int64(st.AppliedChanges))
		o.ObserveInt64(connected, b2i(st.Connected))
		o.ObserveInt64(holder, b2i(st.Holder))
		o.ObserveInt64(members, int64(len(st.Members)))
		return nil
	}, applied, lag, unpublished, appliedChanges, connected, holder, members)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
