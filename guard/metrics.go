package guard

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
)

// This file holds the guard's OpenTelemetry instruments. Every one is
// observable: the callback reads, at collection time, the counters the
// guard keeps anyway (the striped check counters, the write counters, the
// filter's and the domain set's figures), so a check pays nothing for
// them — no clock read, no lock, no allocation. See the package
// documentation's Metrics section for the list.

// WithMeterProvider sets the OpenTelemetry meter provider the guard's
// instruments (sendguard.checks, sendguard.entries, …; see the package
// documentation) are registered with. The instruments are observable: they
// read the guard's own counters when the provider collects, and cost a
// check nothing. The default is the global provider (otel.GetMeterProvider,
// a no-op until the application sets one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.meterProvider = mp }
}

// maxSources bounds the distinct block sources counted apart; the rest
// are counted as "other", so that a stream of odd sources cannot grow the
// metrics without bound.
const maxSources = 64

// entriesMaxAge is how old the entry count may get, while it is being
// collected, before the store is counted again (expired blocks leave
// without a write, so the running count drifts).
const entriesMaxAge = 10 * time.Minute

// metrics is the guard's side of its instruments: the write-path counts
// by source and the running entry count. Checks are counted in the
// Guard's striped counters.
type metrics struct {
	mu      sync.Mutex
	sources map[string]*[2]uint64 // blocks, unblocks by source; guarded by mu

	// live is blocks minus unblocks written since Open; base is the entry
	// count at the last count of the store minus live at that time, so
	// entries = base + live.
	live      atomic.Int64
	base      atomic.Int64
	known     atomic.Bool
	countedAt atomic.Int64 // Unix ns of the last count
	recount   chan struct{}

	consumersMu sync.Mutex
	consumers   []string  // change-log consumers, listed at consumersAt
	consumersAt time.Time // guarded by consumersMu
}

const (
	opBlock = iota
	opUnblock
)

// wrote counts n blocks (op opBlock) or unblocks written with source. It
// runs on the write path, under the guard's write lock.
func (m *metrics) wrote(source string, op int, n uint64) {
	if n == 0 {
		return
	}
	if op == opBlock {
		m.live.Add(int64(n))
	} else {
		m.live.Add(-int64(n))
	}
	if !plainSource(source) {
		source = "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sources == nil {
		m.sources = make(map[string]*[2]uint64)
	}
	c := m.sources[source]
	if c == nil {
		if len(m.sources) >= maxSources {
			source = "other"
			c = m.sources[source]
		}
		if c == nil {
			c = new([2]uint64)
			m.sources[source] = c
		}
	}
	c[op] += n
}

// plainSource reports whether source may be a metric attribute: short,
// and nothing like a recipient (no '@', no run of 7 digits). Sources are
// operators' words ("import", "sms", a remote's name), but an imported
// file brings its own.
func plainSource(source string) bool {
	if len(source) > 64 || strings.IndexByte(source, '@') >= 0 {
		return false
	}
	digits := 0
	for i := 0; i < len(source); i++ {
		if c := source[i]; c >= '0' && c <= '9' {
			if digits++; digits >= 7 {
				return false
			}
		} else if c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' {
			digits = 0
		}
	}
	return true
}

// counted records that a scan of the store found n entries, with live at
// live0 when it began.
func (m *metrics) counted(n int, live0 int64) {
	m.base.Store(int64(n) - live0)
	m.countedAt.Store(time.Now().UnixNano())
	m.known.Store(true)
}

type guardInstruments struct {
	checks, maybes, falsePositives, storeErrors metric.Int64ObservableCounter
	blocks, unblocks                            metric.Int64ObservableCounter
	entries, domains, lag                       metric.Int64ObservableUpDownCounter
	fill, fpRate                                metric.Float64ObservableGauge

	allowed, invalid, failed      metric.ObserveOption
	blockedContact, blockedDomain metric.ObserveOption
}

// startMetrics registers the guard's instruments and starts the goroutine
// that counts the store's entries on demand; both end with ctx (Close).
func (g *Guard) startMetrics(ctx context.Context) error {
	m := telemetry.Meter(g.opts.meterProvider, "guard")
	var ins guardInstruments
	in := telemetry.NewInstruments(m)
	ins.checks = in.Counter("sendguard.checks", "{check}", "Recipient checks, by result (allowed, blocked, invalid, error) and, when blocked, by match (contact, domain).")
	ins.maybes = in.Counter("sendguard.filter.maybes", "{lookup}", "Store look-ups after a filter or domain-set maybe.")
	ins.falsePositives = in.Counter("sendguard.filter.false_positives", "{lookup}", "Maybes the store answered not blocked.")
	ins.storeErrors = in.Counter("sendguard.store.errors", "{error}", "Store look-ups that failed during a check.")
	ins.blocks = in.Counter("sendguard.blocks", "{block}", "Blocks written, by source.")
	ins.unblocks = in.Counter("sendguard.unblocks", "{unblock}", "Blocks removed, by source of the unblock.")
	ins.entries = in.UpDown("sendguard.entries", "{entry}", "Blocked contacts in the store (recounted at most every 10 minutes; blocks and unblocks in between are added).")
	ins.domains = in.UpDown("sendguard.domains", "{domain}", "Blocked domains held for the domain check.")
	ins.lag = in.UpDown("sendguard.changelog.lag", "{record}", "Change-log records after each consumer's offset.")
	ins.fill = in.Gauge("sendguard.filter.fill_ratio", "1", "Fraction of the bloom filter's bits that are set.")
	ins.fpRate = in.Gauge("sendguard.filter.false_positive_rate", "1", "The bloom filter's estimated false-positive rate now.")
	if in.Err != nil {
		return in.Err
	}
	ins.allowed = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "allowed")))
	ins.invalid = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "invalid")))
	ins.failed = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "error")))
	ins.blockedContact = metric.WithAttributeSet(attribute.NewSet(
		attribute.String("result", "blocked"), attribute.String("match", "contact")))
	ins.blockedDomain = metric.WithAttributeSet(attribute.NewSet(
		attribute.String("result", "blocked"), attribute.String("match", "domain")))

	g.met.recount = make(chan struct{}, 1)
	reg, err := m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		g.observe(ctx, o, &ins)
		return nil
	}, ins.checks, ins.maybes, ins.falsePositives, ins.storeErrors, ins.blocks, ins.unblocks,
		ins.entries, ins.domains, ins.lag, ins.fill, ins.fpRate)
	if err != nil {
		return err
	}
	g.wg.Go(func() {
		defer func() { _ = reg.Unregister() }()
		for {
			select {
			case <-ctx.Done():
				return
			case <-g.met.recount:
			}
			// scanKeys records the count.
			_ = g.scanKeys(ctx, func([]byte) {})
		}
	})
	return nil
}

// observe is the collection callback. Store reads that fail (a closed
// guard) leave their instruments unobserved; they are not errors of the
// collection.
func (g *Guard) observe(ctx context.Context, o metric.Observer, ins *guardInstruments) {
	allowed, blocked, domain := g.allowed.load(), g.blocked.load(), g.blockedDomain.load()
	storeErrors := g.storeErrors.load()
	o.ObserveInt64(ins.checks, int64(allowed), ins.allowed)
	o.ObserveInt64(ins.checks, int64(blocked-min(domain, blocked)), ins.blockedContact)
	o.ObserveInt64(ins.checks, int64(domain), ins.blockedDomain)
	o.ObserveInt64(ins.checks, int64(g.invalid.load()), ins.invalid)
	failed := uint64(0)
	if g.opts.failMode == FailClosed {
		failed = storeErrors // a failed-open look-up ends as allowed or blocked
	}
	o.ObserveInt64(ins.checks, int64(failed), ins.failed)
	o.ObserveInt64(ins.maybes, int64(g.maybes.load()))
	o.ObserveInt64(ins.falsePositives, int64(g.falsePositives.load()))
	o.ObserveInt64(ins.storeErrors, int64(storeErrors))

	g.met.mu.Lock()
	type bySource struct {
		source string
		n      [2]uint64
	}
	counts := make([]bySource, 0, len(g.met.sources))
	for s, c := range g.met.sources {
		counts = append(counts, bySource{s, *c})
	}
	g.met.mu.Unlock()
	for _, c := range counts {
		attrs := metric.WithAttributes(attribute.String("source", c.source))
		if c.n[opBlock] > 0 {
			o.ObserveInt64(ins.blocks, int64(c.n[opBlock]), attrs)
		}
		if c.n[opUnblock] > 0 {
			o.ObserveInt64(ins.unblocks, int64(c.n[opUnblock]), attrs)
		}
	}

	if g.met.known.Load() {
		o.ObserveInt64(ins.entries, max(0, g.met.base.Load()+g.met.live.Load()))
	}
	if !g.met.known.Load() || time.Since(time.Unix(0, g.met.countedAt.Load())) > entriesMaxAge {
		select {
		case g.met.recount <- struct{}{}:
		default:
		}
	}
	o.ObserveInt64(ins.domains, int64(len(g.domains.Load().set)))
	fs := g.filter.Stats()
	o.ObserveFloat64(ins.fill, fs.FillRatio)
	o.ObserveFloat64(ins.fpRate, fs.EstimatedFPRate)

	if g.closed.Load() {
		return
	}
	last, err := g.store.LastSeq(ctx)
	if err != nil {
		return
	}
	for _, consumer := range g.met.consumerList(ctx, g) {
		off, err := g.store.Offset(ctx, consumer)
		if err != nil {
			continue
		}
		lag := uint64(0)
		if last > off {
			lag = last - off
		}
		o.ObserveInt64(ins.lag, int64(lag), metric.WithAttributes(attribute.String("consumer", consumer)))
	}
}

// consumersMaxAge is how long the list of change-log consumers is reused
// before it is read again: listing them reads the log's keys
// (storage.Store.LogStats). [Replication.SetOffset] and
// [Replication.Forget] keep the list current meanwhile; their offsets are
// read at every collection.
const consumersMaxAge = 10 * time.Minute

// consumerList returns the change-log consumers.
func (m *metrics) consumerList(ctx context.Context, g *Guard) []string {
	m.consumersMu.Lock()
	defer m.consumersMu.Unlock()
	if m.consumers != nil && time.Since(m.consumersAt) < consumersMaxAge {
		return slices.Clone(m.consumers)
	}
	ls, err := g.store.LogStats(ctx)
	if err != nil {
		return slices.Clone(m.consumers)
	}
	m.consumers = make([]string, 0, len(ls.Offsets))
	for c := range ls.Offsets {
		m.consumers = append(m.consumers, c)
	}
	m.consumersAt = time.Now()
	return slices.Clone(m.consumers)
}

// consumerSeen notes that consumer has an offset (SetOffset).
func (m *metrics) consumerSeen(consumer string) {
	m.consumersMu.Lock()
	defer m.consumersMu.Unlock()
	if m.consumers != nil && !slices.Contains(m.consumers, consumer) {
		m.consumers = append(m.consumers, consumer)
	}
}

// consumerGone notes that consumer was forgotten.
func (m *metrics) consumerGone(consumer string) {
	m.consumersMu.Lock()
	defer m.consumersMu.Unlock()
	if i := slices.Index(m.consumers, consumer); i >= 0 {
		m.consumers = slices.Delete(m.consumers, i, i+1)
	}
}
