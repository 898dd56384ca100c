package storage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Options configures [Open]. The zero Options is an on-disk store with the
// defaults documented on each field.
type Options struct {
	// InMemory opens a Badger in-memory store (for tests not about storage).
	// The dir passed to Open must then be "". Nothing survives Close.
	InMemory bool

	// ReadOnly opens an existing store for reading only. Badger is opened
	// read-only: no file is created, mapped for writing or written, so it
	// works on a full disk and leaves a store it did not write to exactly
	// as it was. Every write fails with an error wrapping ErrReadOnly.
	// Several read-only stores (in one or more processes) may share a
	// directory; a writer may not open it meanwhile, nor they while it is
	// open (ErrLocked). The directory must hold a sendguard store:
	// otherwise Open fails with an error wrapping ErrNoStore and creates
	// nothing. A store left by a crash or an unclean Close must first replay
	// its write-ahead log, which writes: Open then opens Badger read-write
	// for that if the filesystem has MinFreeBytes free (the store still
	// refuses writes), and otherwise fails with an error wrapping
	// ErrDiskFull. The default value is false.
	ReadOnly bool

	// MustExist makes Open fail with an error wrapping ErrNoStore, creating
	// nothing, when the directory is missing or empty, instead of creating
	// a store there. (Open never creates a store in a directory that holds
	// other files.) ReadOnly implies it. The default value is false.
	MustExist bool

	// Logger receives Badger's warnings and errors and the store's own
	// (value-log GC failures). Info and debug messages are dropped. The
	// default value of Logger is nil: silent.
	Logger *slog.Logger

	// ProviderFolding is the normalizer's provider-folding setting, which
	// changes keys. It is persisted when the store is created; opening an
	// existing store with another value fails with an error wrapping
	// ErrSettings. The default value is false.
	ProviderFolding bool

	// SyncWrites makes every commit fsync. Without it an acknowledged write
	// survives a process crash (Badger's write-ahead log is a shared mmap)
	// but not necessarily a power loss. The default value is false.
	SyncWrites bool

	// GCInterval is the period of the value-log garbage collection the store
	// runs in the background. The default value (0) is 5 minutes; a negative
	// value disables it. It never runs for an in-memory store.
	GCInterval time.Duration

	// LogRetention is how long a change-log record is kept at least, even
	// after every consumer has passed it (see [Store.Trim]): the log is also
	// the audit trail of who blocked and unblocked what. The default value
	// (0) is 30 days; a negative value keeps no record longer than the
	// consumers need it.
	LogRetention time.Duration

	// MinFreeBytes is the free space the store keeps on its filesystem:
	// while less is available, every write fails with an error wrapping
	// ErrDiskFull (and writes nothing) instead of going to Badger. Badger
	// writes through memory-mapped files, and a page fault on a full
	// filesystem kills the process with SIGBUS rather than returning an
	// error; this check keeps the store's host process alive. Open checks
	// it too: on a filesystem with less free, an existing store is opened
	// as with ReadOnly (Badger writes nothing, so checks go on) and every
	// write fails with ErrDiskFull until the store is reopened with room; a
	// new store is not created (ErrDiskFull). The default value (0) is 64
	// MiB; a negative value disables the check, as does an in-memory store
	// or a system where free space cannot be read.
	MinFreeBytes int64

	// Clock returns the current time; it stamps records and tombstones,
	// fills a zero CreatedAt, and decides expiry on read. The default value
	// (nil) is time.Now. Badger's own TTL always uses the real clock, so a
	// Clock can only make entries expire earlier than real time, never
	// later.
	Clock func() time.Time
}

const (
	memTableSize = 4 << 20
	// flushRoom is the free space Close needs to flush Badger's memtables
	// (two of memTableSize, as level-0 tables) and its small records.
	flushRoom = 2*memTableSize + 1<<20

	defaultMinFreeBytes = 64 << 20
	defaultGCInterval   = 5 * time.Minute
	defaultLogRetention = 30 * 24 * time.Hour
)

func (o Options) withDefaults() Options {
	if o.GCInterval == 0 {
		o.GCInterval = defaultGCInterval
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = defaultMinFreeBytes
	}
	switch {
	case o.LogRetention == 0:
		o.LogRetention = defaultLogRetention
	case o.LogRetention < 0:
		o.LogRetention = 0
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// badgerOptions returns Badger options sized for a library that lives
// inside someone else's process (see "Memory" in doc.go and STYLE.md part 6).
func badgerOptions(dir string, o Options, log *slog.Logger, readOnly bool) badger.Options {
	bo := badger.DefaultOptions(dir).WithReadOnly(readOnly)
	if o.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	}
	// WithLoggingLevel would replace the logger: never call it.
	var l badger.Logger // nil silences Badger entirely
	if log != nil {
		l = badgerLogger{log: log.With("component", "badger")}
	}
	bo = bo.
		WithLogger(l).
		WithMetricsEnabled(false). // no process-global expvar
		WithSyncWrites(o.SyncWrites).
		WithMemTableSize(memTableSize). // 15% of it (614 KiB) caps a transaction…
		WithValueThreshold(64 << 10).   // …so values over 64 KiB go to the value log
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(8).
		WithNumCompactors(2).           // 0 or >= 2; 1 is rejected
		WithBlockCacheSize(0).          // no block cache: only valid with…
		WithCompression(options.None).  // …no compression (Open panics otherwise)
		WithValueLogFileSize(16 << 20). // mmapped at 2x
		WithIndexCacheSize(16 << 20).   // bounds table indexes and bloom filters
		WithDetectConflicts(false)      // writers that read first are serialized by the store
	// Every level's tables at BaseTableSize (2 MiB): a compaction runs up to
	// 8+ table builders at once, each buffering twice its table size, so
	// Badger's default (x2 per level) costs tens of MiB of heap at 1M entries.
	bo.TableSizeMultiplier = 1
	return bo
}

// badgerLogger adapts Badger's Logger to slog at Warn and Error; Badger's
// Info and Debug chatter is dropped.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(format string, args ...any) {
	l.log.Log(context.Background(), slog.LevelError, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l badgerLogger) Warningf(format string, args ...any) {
	l.log.Log(context.Background(), slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
