package sync

import (
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Defaults of the engine's options.
const (
	DefaultInterval    = time.Minute
	DefaultJitter      = 0.1
	DefaultBatchSize   = 256
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
	// DefaultMaxWait is the default of [WithMaxWait].
	DefaultMaxWait = time.Hour
	// DefaultFullPull is the default of [WithFullPull].
	DefaultFullPull = 24 * time.Hour
)

// Option configures [New].
type Option func(*options)

type options struct {
	interval         time.Duration
	jitter           float64
	batch            int
	boBase, boMax    time.Duration
	mirror           bool
	log              *slog.Logger
	seed             uint64
	seeded           bool
	permanentRetries int
	errorLogInterval time.Duration
	maxWait          time.Duration
	fullPull         time.Duration
	meterProvider    metric.MeterProvider // nil: the global provider
}

func defaultOptions() options {
	return options{
		interval:         DefaultInterval,
		jitter:           DefaultJitter,
		batch:            DefaultBatchSize,
		boBase:           DefaultBackoffBase,
		boMax:            DefaultBackoffMax,
		mirror:           true,
		log:              slog.New(slog.DiscardHandler),
		permanentRetries: 2,
		errorLogInterval: 30 * time.Second,
		maxWait:          DefaultMaxWait,
		fullPull:         DefaultFullPull,
	}
}

// WithInterval sets how often [Engine.Run] makes a full pass (push and
// pull) per remote when nothing wakes it earlier; local changes wake a push
// at once. The default value is 1 minute.
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = d } }

// WithJitter sets the spread of the interval, as a fraction: each wait is
// the interval times a random factor in [1-j, 1+j], so that passes of
// several engines do not line up. 0 disables it; values above 0.5 are an
// error. The default value is 0.1.
func WithJitter(j float64) Option { return func(o *options) { o.jitter = j } }

// WithBatchSize sets how many change-log records are read at once. The
// default value is 256.
func WithBatchSize(n int) Option { return func(o *options) { o.batch = n } }

// WithBackoff sets the retry backoff after a temporary failure: the n-th
// consecutive failure waits a random time between half and all of
// min(base·2ⁿ⁻¹, max), and at least what the remote asked (Retry-After).
// A success resets it. The default values are 1s and 5 minutes.
func WithBackoff(base, max time.Duration) Option {
	return func(o *options) { o.boBase, o.boMax = base, max }
}

// WithMaxWait caps any wait before a retry: the backoff and what a remote
// asks for with Retry-After. A remote that asks for more (a Retry-After of
// 999999999 seconds, say) is retried after d instead; each such wait is
// counted in [Counts].WaitsCapped and logged at Warn. d must be at least
// the backoff's max ([WithBackoff]). The default value is 1 hour.
func WithMaxWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

// WithFullPull sets how often a pull reads a remote's whole list although
// the remote keeps a watermark (Ocamba): an incremental pull asks only for
// entries created since the watermark (minus an overlap), so an entry that
// appears later with an older creation time — a vendor's restore, a bulk
// import with original dates — would never be seen. A full pull sees it,
// and also notices contacts still listed after an unblock that the remote
// has dropped since. The first pull of a remote is always full. A negative
// d turns periodic full pulls off; 0 is an error. Remotes without a
// watermark (OpenCX) pull in full every time anyway. The default value is
// 24 hours.
func WithFullPull(d time.Duration) Option { return func(o *options) { o.fullPull = d } }

// WithMirror sets whether blocks pulled from one remote are pushed to the
// others. Blocks are never pushed back to the remote they came from. The
// default value is true.
func WithMirror(on bool) Option { return func(o *options) { o.mirror = on } }

// WithLogger sets the logger. The engine logs failures at Warn (repeated
// ones at most every 30s per remote), dead letters and skipped masked
// entries at Warn, and each pass at Debug. Recipients are always redacted
// and tokens never logged. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithSeed seeds the engine's random jitter, for reproducible tests. The
// default is a random seed.
func WithSeed(seed uint64) Option { return func(o *options) { o.seed, o.seeded = seed, true } }

// WithPermanentRetries sets how many more times a page of a pull is asked
// for after a permanent failure that is not an HTTP 4xx (a malformed
// answer) before the pull is given up until the next pass. A 4xx other
// than 408 and 429, or a redirect, ends the pull at once, whatever this
// says. Pushed
// records are never retried after a permanent failure: they go to the
// dead letters. The default value is 2.
func WithPermanentRetries(n int) Option { return func(o *options) { o.permanentRetries = n } }
