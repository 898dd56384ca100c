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
	in := telemetry.NewInstruments(meter)
	applied := in.IntGauge("sendguard.fleet.applied", "{message}", "The last stream sequence number this member applied.")
	lag := in.UpDown("sendguard.fleet.lag", "{message}", "Messages in the fleet's stream after the last one this member applied, as last seen.")
	unpublished := in.UpDown("sendguard.fleet.unpublished", "{change}", "Local changes read from the change log and not yet acknowledged by the stream.")
	appliedChanges := in.Counter("sendguard.fleet.applied_changes", "{change}", "Other members' changes that changed this guard, since Run started.")
	connected := in.IntGauge("sendguard.fleet.connected", "", "1 if the member's last publish or heartbeat reached the NATS server, else 0.")
	holder := in.IntGauge("sendguard.fleet.lease_held", "", "1 while this member holds the fleet's vendor lease (runs the vendor sync), else 0.")
	members := in.IntGauge("sendguard.fleet.members", "{member}", "Members whose heartbeat is less than 30s old, as last seen.")
	if in.Err != nil {
		return nil, in.Err
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
