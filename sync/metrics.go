package sync

import (
	"context"
	gosync "sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
)

// WithMeterProvider sets the OpenTelemetry meter provider the engine's
// per-remote instruments (sendguard.sync.requests, …; see the package
// documentation) are registered with. They are observable: they read the
// engine's counters, the remotes' request counters and the store when the
// provider collects. They stay registered as long as the engine is
// reachable (a running [Engine.Run] keeps it so): an engine that is
// dropped stops being reported once it is garbage collected. The default
// is the global provider (otel.GetMeterProvider, a no-op until the
// application sets one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

type syncInstruments struct {
	requests, rateLimited, pushed, pulled, retries, deadLettered metric.Int64ObservableCounter
	deadLetters, pending                                         metric.Int64ObservableUpDownCounter
	lastSuccess                                                  metric.Float64ObservableGauge
}

// pendingMemo remembers a remote's pending count for the log position it
// was counted at: counting reads the backlog, so it is redone only when
// the offset or the log has moved.
type pendingMemo struct {
	off, last uint64
	n         int
}

// registerMetrics registers e's instruments for as long as e is reachable.
func (e *Engine) registerMetrics() error {
	m := telemetry.Meter(e.o.meterProvider, "sync")
	var ins syncInstruments
	in := telemetry.NewInstruments(m)
	ins.requests = in.Counter("sendguard.sync.requests", "{request}", "HTTP requests sent to the remote.")
	ins.rateLimited = in.Counter("sendguard.sync.rate_limited", "{request}", "Requests the remote answered 429 Too Many Requests.")
	ins.pushed = in.Counter("sendguard.sync.pushed", "{record}", "Change-log records the remote acknowledged.")
	ins.pulled = in.Counter("sendguard.sync.pulled", "{block}", "New blocks applied from the remote's list.")
	ins.retries = in.Counter("sendguard.sync.retries", "{request}", "Failed requests to the remote that were retried.")
	ins.deadLettered = in.Counter("sendguard.sync.dead_lettered", "{record}", "Records moved to the remote's dead letters.")
	ins.deadLetters = in.UpDown("sendguard.sync.dead_letters", "{record}", "The remote's dead letters in the store now.")
	ins.pending = in.UpDown("sendguard.sync.pending", "{record}", "Change-log records still to deliver to the remote.")
	ins.lastSuccess = in.Gauge("sendguard.sync.last_success", "s", "When the last pass with the remote completed, in seconds since the Unix epoch.")
	if in.Err != nil {
		return in.Err
	}
	var mu gosync.Mutex // serializes collections' use of memo
	memo := make(map[string]pendingMemo, len(e.remotes))
	return telemetry.RegisterFor(m, e, func(ctx context.Context, e *Engine, o metric.Observer) error {
		mu.Lock()
		defer mu.Unlock()
		e.observe(ctx, o, &ins, memo)
		return nil
	}, ins.requests, ins.rateLimited, ins.pushed, ins.pulled, ins.retries, ins.deadLettered,
		ins.deadLetters, ins.pending, ins.lastSuccess)
}

// observe is the collection callback. Store reads that fail (a closed
// guard) leave their instruments unobserved.
func (e *Engine) observe(ctx context.Context, o metric.Observer, ins *syncInstruments, memo map[string]pendingMemo) {
	last, lastErr := e.st.LastSeq(ctx)
	for _, rs := range e.remotes {
		attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("remote", rs.name)))
		if sr, ok := rs.r.(StatsReporter); ok {
			rq := sr.RequestStats()
			o.ObserveInt64(ins.requests, int64(rq.Requests), attrs)
			o.ObserveInt64(ins.rateLimited, int64(rq.RateLimited), attrs)
		}
		o.ObserveInt64(ins.pushed, rs.totals[cPushed].Load(), attrs)
		o.ObserveInt64(ins.pulled, rs.totals[cPulled].Load(), attrs)
		o.ObserveInt64(ins.retries, rs.totals[cRetries].Load(), attrs)
		o.ObserveInt64(ins.deadLettered, rs.totals[cDeadLettered].Load(), attrs)
		rs.mu.Lock()
		ok := rs.lastSuccess
		rs.mu.Unlock()
		if !ok.IsZero() {
			o.ObserveFloat64(ins.lastSuccess, float64(ok.UnixNano())/1e9, attrs)
		}
		if lastErr != nil {
			continue
		}
		if dl, err := e.st.DeadLetters(ctx, rs.consumer); err == nil {
			o.ObserveInt64(ins.deadLetters, int64(len(dl)), attrs)
		}
		off, err := e.st.Offset(ctx, rs.consumer)
		if err != nil {
			continue
		}
		pm, ok2 := memo[rs.name]
		if !ok2 || pm.off != off || pm.last != last {
			n, err := e.pending(ctx, rs, off)
			if err != nil {
				continue
			}
			pm = pendingMemo{off: off, last: last, n: n}
			memo[rs.name] = pm
		}
		o.ObserveInt64(ins.pending, int64(pm.n), attrs)
	}
}
