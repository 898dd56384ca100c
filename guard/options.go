package guard

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// FailMode says what Check does when the store cannot confirm a filter
// "maybe" (a storage error).
type FailMode uint8

const (
	// FailClosed treats the recipient as blocked and returns an error
	// wrapping [ErrUnavailable]: nothing is sent. It is the default.
	FailClosed FailMode = iota
	// FailOpen treats the recipient as allowed, logs a warning and counts
	// the error in [Stats].StoreErrors. Choose it only where a missed
	// message costs more than one sent to a blocked contact.
	FailOpen
)

// Option configures [Open].
type Option func(*options)

type options struct {
	region          string
	folding         bool
	foldingSet      bool
	memoSize        int
	memoSet         bool
	expected        uint
	fpRate          float64
	failMode        FailMode
	log             *slog.Logger
	now             func() time.Time
	snapshot        bool
	snapshotPath    string
	inMemory        bool
	readOnly        bool
	mustExist       bool
	syncWrites      bool
	minFree         int64
	rebuildInterval time.Duration
	blockedCache    int
	retention       time.Duration
	meterProvider   metric.MeterProvider // nil: the global provider
}

func defaultOptions() options {
	return options{
		region:          "US",
		expected:        1 << 20,
		fpRate:          0.001,
		failMode:        FailClosed,
		log:             slog.New(slog.DiscardHandler),
		now:             time.Now,
		snapshot:        true,
		rebuildInterval: time.Minute,
		blockedCache:    DefaultBlockedCacheSize,
		retention:       DefaultLogRetention,
	}
}

// WithMinFreeDisk sets the free space the store keeps on its filesystem
// (storage.Options.MinFreeBytes): while less is available, Block, Unblock
// and Import fail with an error wrapping storage.ErrDiskFull and write
// nothing, rather than let Badger fault on a full disk; Check goes on
// answering. [Open] on such a filesystem opens the store for reading only
// (as [WithReadOnly], but writes fail with storage.ErrDiskFull until the
// guard is reopened). The default (0) is 64 MiB; negative disables the
// check.
func WithMinFreeDisk(bytes int64) Option { return func(o *options) { o.minFree = bytes } }

// WithRegion sets the default region (ISO 3166-1 alpha-2, e.g. "GB") used to
// read national phone numbers. It decides only how input is read, not the
// keys (they are E.164), so it may differ between opens. The default value
// of region is "US".
func WithRegion(cc string) Option { return func(o *options) { o.region = cc } }

// WithProviderFolding turns mailbox-provider folding on or off (see the
// normalize package: Gmail dots, +tags). It changes keys, so the store keeps
// the value it was created with: [Open] of an existing store with a
// different value fails with an error wrapping storage.ErrSettings. When the
// option is not given, an existing store's value is used. The default value
// for a new store is false.
func WithProviderFolding(on bool) Option {
	return func(o *options) { o.folding, o.foldingSet = on, true }
}

// WithMemoSize sets the number of non-canonical phone inputs whose parse is
// remembered. 0 disables the memo. The default is the normalize package's.
func WithMemoSize(n int) Option { return func(o *options) { o.memoSize, o.memoSet = n, true } }

// WithExpectedSize sets how many blocked contacts the filter is first sized
// for. The filter grows by itself (a background rebuild) when it passes its
// capacity; a good estimate only avoids that work. The default value is
// 1,048,576 (about 1.8 MiB of filter at the default false-positive rate).
func WithExpectedSize(n uint) Option { return func(o *options) { o.expected = n } }

// WithFalsePositiveRate sets the filter's target false-positive rate: the
// share of allowed recipients that cost a store read. The default value is
// 0.001.
func WithFalsePositiveRate(p float64) Option { return func(o *options) { o.fpRate = p } }

// WithFailMode sets what happens when the store fails during a check. The
// default value is [FailClosed].
func WithFailMode(m FailMode) Option { return func(o *options) { o.failMode = m } }

// WithLogger sets the logger. Recipients are always logged redacted. The
// default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithClock sets the clock used for block times and expiry; for tests. The
// default value is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithSnapshot turns the filter snapshot on or off. When on, [Guard.Close]
// writes the filter to a file beside the store, and the next [Open] loads it
// instead of scanning the store — but only if it matches the store exactly;
// otherwise it is ignored and the filter is rebuilt. The default value is
// true.
func WithSnapshot(on bool) Option { return func(o *options) { o.snapshot = on } }

// WithSnapshotPath sets the snapshot file's path (and turns snapshots on).
// The default for [Open] is "sendguard-filter.snap" inside dir.
func WithSnapshotPath(path string) Option {
	return func(o *options) { o.snapshotPath, o.snapshot = path, true }
}

// WithInMemory makes [Open] keep the store in memory (dir must be ""):
// nothing survives Close. For tests and demos. The default value is false.
func WithInMemory() Option { return func(o *options) { o.inMemory = true } }

// WithReadOnly makes [Open] open an existing store for reading only
// (storage.Options.ReadOnly): Badger creates and writes nothing, so it
// works on a full disk, and other read-only guards may share the store.
// Check answers exactly as with a writable guard (the filter is loaded from
// a snapshot that matches the store, or built by a scan); Block, Unblock
// and Import fail with an error wrapping storage.ErrReadOnly, and Close
// writes no snapshot. dir must hold a store: otherwise Open fails with an
// error wrapping storage.ErrNoStore. The default value is false.
func WithReadOnly() Option { return func(o *options) { o.readOnly = true } }

// WithMustExist makes [Open] fail with an error wrapping
// storage.ErrNoStore, creating nothing, when dir is missing or empty,
// instead of creating a store (storage.Options.MustExist): for a service
// that must never start with an empty blocklist because of a mistyped
// path. (Open never creates a store in a directory holding other files.)
// The default value is false.
func WithMustExist() Option { return func(o *options) { o.mustExist = true } }

// WithSyncWrites makes every block and unblock reach the disk (fsync)
// before it returns, so it survives a power loss, not only a process crash.
// It costs a few milliseconds a write. The default value is false.
func WithSyncWrites(on bool) Option { return func(o *options) { o.syncWrites = on } }

// WithRebuildInterval sets the guard's maintenance schedule: how often it
// looks whether its filter needs a rebuild (over capacity, or too many
// stale bits from unblocks) and trims the change log (see
// [WithLogRetention]); a block or unblock also prompts a look at the
// filter. Expired blocks are not counted as stale: their bits go at the
// next rebuild made for another reason. The default value is one minute.
func WithRebuildInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.rebuildInterval = d
		}
	}
}

// WithBlockedCacheSize sets how many confirmed blocks the guard keeps in
// memory, so that a blocked recipient checked again (a campaign's next
// message, a retry) is answered without a store read. Only blocks are
// kept — an allowed answer always comes from the filter and, on a "maybe",
// the store — and every unblock, change, expiry and applied change takes
// effect at once, cache or not. A block costs about 300 bytes; 0 turns the
// cache off. The default value is [DefaultBlockedCacheSize] (16,384, about
// 5 MiB): at the 1–5% of recipients a sending service typically finds
// blocked, it holds the blocked recipients of the last 0.3–1.6 million
// sends — a campaign wave and its retries — for a fifth of the memory the
// 10M-contact filter takes, in a library that lives in someone else's
// process.
func WithBlockedCacheSize(n int) Option { return func(o *options) { o.blockedCache = n } }

// DefaultLogRetention is how long the guard keeps a change-log record by
// default: a month of audit trail (who blocked and unblocked what, and
// when), and a month in which a consumer that falls behind can still
// catch up from the log rather than from the entries.
const DefaultLogRetention = 30 * 24 * time.Hour

// WithLogRetention sets how long a change-log record is kept at least.
// While the guard is open it trims, on its maintenance schedule (see
// [WithRebuildInterval]) and once more in [Guard.Close], every record that
// is older than d and that every consumer has passed
// ([Replication.SetOffset]); with no consumer at all, d alone decides. 0
// trims a record as soon as every consumer has passed it. A consumer that
// is gone for good holds the log back until it is forgotten
// ([Replication.Forget]). The default value is [DefaultLogRetention] (30
// days); a negative d makes [Open] fail.
func WithLogRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// BlockOption configures one [Guard.Block], [Guard.BlockContact] or
// [Guard.Import] call.
type BlockOption func(*blockOptions)

type blockOptions struct {
	providerDomain bool
	source         string
	expiry         time.Duration
	expiresAt      time.Time
	createdAt      time.Time
}

// WithSource records where a block came from: "local" (the default for
// Block), "import" (the default for Import), or a remote's name.
func WithSource(s string) BlockOption { return func(o *blockOptions) { o.source = s } }

// WithExpiry makes the block lapse by itself d after it is made. Zero (the
// default) means never.
func WithExpiry(d time.Duration) BlockOption { return func(o *blockOptions) { o.expiry = d } }

// WithExpiresAt makes the block lapse by itself at t. The zero time (the
// default) means never.
func WithExpiresAt(t time.Time) BlockOption { return func(o *blockOptions) { o.expiresAt = t } }

// WithCreatedAt records when the block was made, for blocks copied from
// elsewhere (a remote list, an export). The default is the guard's clock.
func WithCreatedAt(t time.Time) BlockOption { return func(o *blockOptions) { o.createdAt = t } }

// AllowProviderDomain lets [Guard.Block] block the domain of a mailbox
// provider (gmail.com, outlook.com, …; see [IsProviderDomain]), which
// blocks every address there. Without it, such a block is refused.
// [Guard.Import], [Guard.ImportEntries] and [Guard.BlockContact] (through
// which the sync applies vendors' lists) take their input as given, so
// that a restored export or a vendor's list is applied whole.
func AllowProviderDomain() BlockOption { return func(o *blockOptions) { o.providerDomain = true } }

// String returns "fail-closed" or "fail-open".
func (m FailMode) String() string {
	switch m {
	case FailClosed:
		return "fail-closed"
	case FailOpen:
		return "fail-open"
	}
	return fmt.Sprintf("FailMode(%d)", uint8(m))
}
