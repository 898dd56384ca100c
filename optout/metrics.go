package optout

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
)

// delayBuckets returns the compliance-delay histogram's bucket bounds, in
// seconds: from an in-process block (milliseconds) to the rules' limits —
// 2 days for one-click unsubscribe (Gmail, Yahoo), 10 business days (two
// weeks) for an SMS revocation (the FCC).
func delayBuckets() []float64 {
	return []float64{0.01, 0.1, 1, 10, 60, 300, 3600, 6 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400}
}

// instruments are the opt-out capture instruments: synchronous, since an
// opt-out is rare next to a check and is recorded off the check path.
type instruments struct {
	captured metric.Int64Counter
	delay    metric.Float64Histogram
}

// newInstruments makes the instruments from mp (nil: the global provider).
func newInstruments(mp metric.MeterProvider) (*instruments, error) {
	m := telemetry.Meter(mp, "optout")
	captured, err := m.Int64Counter("sendguard.optout.captured", metric.WithUnit("{opt-out}"),
		metric.WithDescription("Opt-outs that became blocks, by channel (unsubscribe, sms, bounce, complaint)."))
	if err != nil {
		return nil, err
	}
	delay, err := m.Float64Histogram("sendguard.optout.delay", metric.WithUnit("s"),
		metric.WithDescription("Time from an opt-out being asked for to its block being in force, by channel."),
		metric.WithExplicitBucketBoundaries(delayBuckets()...))
	if err != nil {
		return nil, err
	}
	return &instruments{captured: captured, delay: delay}, nil
}

// observe records one captured opt-out from channel (a block source) on
// the instruments and on clock, asked for at requested and enforced at
// enforced (a zero or later requested time counts as no delay, as on the
// Clock).
func (in *instruments) observe(ctx context.Context, clock *Clock, channel string, requested, enforced time.Time) {
	clock.Observe(channel, requested, enforced)
	delay := enforced.Sub(requested)
	if requested.IsZero() || delay < 0 {
		delay = 0
	}
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("channel", channel)))
	in.captured.Add(ctx, 1, attrs)
	in.delay.Record(ctx, delay.Seconds(), attrs)
}
