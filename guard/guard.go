package guard

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sendguard/sendguard/filter"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// Guard answers whether a recipient may be sent to, and keeps the blocklist.
// See the package documentation for the data flow and the promises.
//
// Guard is safe for concurrent use by multiple goroutines.
type Guard struct {
	norm   *normalize.Normalizer
	store  *storage.Store // written only through the guard (see put and remove)
	filter *filter.Filter
	opts   options

	// domains holds every blocked domain (and possibly a few unblocked
	// ones): a copy-on-write set read without locks on the hot path. It
	// only says "maybe"; the store confirms.
	domains atomic.Pointer[domainSet]

	// wmu serializes writes: blocks, unblocks and imports, so that the
	// domain set and the store never disagree about a domain, and so that
	// Close waits for a write in flight.
	wmu sync.Mutex

	allowed, blocked, invalid           counter
	maybes, falsePositives, storeErrors counter
	blockedDomain                       counter // blocked by a domain block; the slow path only
	met                                 metrics // the write-path counts the instruments read (metrics.go)
	blocks, unblocks, imported, trimmed atomic.Uint64
	lastRebuildErr                      atomic.Pointer[error]

	// cache holds recently confirmed blocks; nil when disabled. Every
	// write path invalidates it (see blockedCache).
	cache *blockedCache

	notifyMu sync.Mutex
	notifyCh chan struct{}

	kick      chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
	closeMu   sync.Mutex // guards closeErr after closeOnce
	closeErr  error
}

const (
	sourceLocal  = "local"
	sourceImport = "import"
	snapshotFile = "sendguard-filter.snap"
	snapshotMeta = "guard/snapshot-stamp"
)

// Open opens (or creates) the blocklist stored in dir — an embedded Badger
// database — and loads its filter: from the snapshot the last Close wrote,
// if it matches the store exactly, or else by scanning the store. The guard
// owns the store: [Guard.Close] closes it.
//
// Open creates a store only in a missing or empty directory, never among
// other files. It returns an error wrapping storage.ErrNoStore if dir holds
// no store and none may be created there ([WithReadOnly], [WithMustExist],
// or a directory of other files), storage.ErrLocked if another process
// holds dir, storage.ErrSettings if [WithProviderFolding] differs from the
// value the store was created with, and storage.ErrDiskFull if a store must
// be created on a nearly full disk.
func Open(dir string, opts ...Option) (*Guard, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if dir == "" && !o.inMemory {
		return nil, fmt.Errorf("guard: open: no directory given (pass guard.WithInMemory() for a store in memory): %w", storage.ErrInvalid)
	}
	if o.retention < 0 {
		return nil, fmt.Errorf("guard: log retention %v is negative", o.retention)
	}
	reten := o.retention
	if reten == 0 {
		reten = -1 // storage: no retention
	}
	sopts := storage.Options{
		LogRetention:    reten,
		InMemory:        o.inMemory,
		Logger:          o.log,
		ProviderFolding: o.folding,
		SyncWrites:      o.syncWrites,
		MinFreeBytes:    o.minFree,
		Clock:           o.now,
		ReadOnly:        o.readOnly,
		MustExist:       o.mustExist,
	}
	s, err := storage.Open(dir, sopts)
	if err != nil && !o.foldingSet && errors.Is(err, storage.ErrSettings) {
		// The caller left folding to the store: use the store's value.
		sopts.ProviderFolding = !sopts.ProviderFolding
		s, err = storage.Open(dir, sopts)
	}
	if err != nil {
		return nil, fmt.Errorf("guard: open: %w", err)
	}
	if o.snapshot && o.snapshotPath == "" && !o.inMemory {
		o.snapshotPath = filepath.Join(dir, snapshotFile)
	}
	if o.inMemory && o.snapshotPath == "" {
		o.snapshot = false
	}
	g, err := newGuard(s, o)
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return g, nil
}

func newGuard(s *storage.Store, o options) (*Guard, error) {
	nopts := []normalize.Option{
		normalize.WithRegion(o.region),
		normalize.WithProviderFolding(s.ProviderFolding()),
	}
	if o.memoSet {
		nopts = append(nopts, normalize.WithMemoSize(o.memoSize))
	}
	norm, err := normalize.New(nopts...)
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	if o.expected == 0 {
		o.expected = defaultOptions().expected
	}
	if !(o.fpRate > 0 && o.fpRate < 1) {
		return nil, fmt.Errorf("guard: false-positive rate %v is not between 0 and 1", o.fpRate)
	}
	g := &Guard{
		norm:     norm,
		store:    s,
		opts:     o,
		notifyCh: make(chan struct{}),
		kick:     make(chan struct{}, 1),
		cache:    newBlockedCache(o.blockedCache),
	}
	ctx := context.Background()
	if !s.ReadOnly() { // a reader sees old sync state as missing until a writer opens
		if err := g.migrateSyncState(ctx); err != nil {
			return nil, err
		}
	}
	if err := g.loadDomains(ctx); err != nil {
		return nil, err
	}
	if err := g.loadFilter(ctx); err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	if err := g.startMetrics(mctx); err != nil {
		cancel()
		g.wg.Wait()
		return nil, fmt.Errorf("guard: metrics: %w", err)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.maintain(mctx)
	}()
	return g, nil
}

// scanKeys is the filter's key source: every live key in the store. It
// counts them for the sendguard.entries instrument on the way.
func (g *Guard) scanKeys(ctx context.Context, add func(key []byte)) error {
	live0, n := g.met.live.Load(), 0
	err := g.store.ScanKeys(ctx, func(key []byte) error {
		add(key)
		n++
		return nil
	})
	if err == nil {
		g.met.counted(n, live0)
	}
	return err
}

func (g *Guard) loadFilter(ctx context.Context) error {
	if g.opts.snapshot {
		if f := g.readSnapshot(ctx); f != nil {
			g.filter = f
			return nil
		}
	}
	f := filter.New(g.opts.expected, g.opts.fpRate)
	if err := f.Rebuild(ctx, g.opts.expected, g.scanKeys); err != nil {
		return fmt.Errorf("guard: load filter: %w", err)
	}
	g.filter = f
	return nil
}

// Normalizer returns the guard's normalizer: the one that makes the keys
// this guard's store holds.
func (g *Guard) Normalizer() *normalize.Normalizer { return g.norm }

// Scan calls fn with every live block, in key order, from one consistent
// read of the store: the read path for exports and audits. An error from
// fn stops the scan and is returned as it is.
func (g *Guard) Scan(ctx context.Context, fn func(storage.Entry) error) error {
	if g.closed.Load() {
		return ErrClosed
	}
	return g.store.Scan(ctx, fn)
}

// Check says whether recipient may be sent to. It normalizes recipient (an
// email address, a phone number or a domain), tests the filter and, only on
// a "maybe", confirms in the store; an email is also blocked when its domain
// or any parent domain is blocked.
//
// A blocked recipient is not an error: the Verdict says Blocked. Check
// returns an error wrapping normalize.ErrInvalid for input that is not a
// recipient, [ErrClosed] after Close, and, when the store fails, an error
// wrapping [ErrUnavailable] together with a Verdict that says Blocked
// (unless the guard was opened with [FailOpen]).
//
// For canonical input that is not blocked, Check does not allocate.
func (g *Guard) Check(ctx context.Context, recipient string) (v Verdict, err error) {
	// The verdict is filled in place, in the caller's result: a Verdict is
	// 21 words, and copying it between frames was a tenth of an allowed
	// check. The allowed path is all here, with no call but the
	// normalizer's and the filter's.
	v.Input = recipient
	if g.closed.Load() {
		return v, ErrClosed
	}
	c, err := g.norm.Parse(recipient)
	if err != nil {
		g.invalid.inc()
		return v, err
	}
	v.Contact = c
	// The key is built on the stack: it goes to the filter only, which
	// does not keep it. The store look-up (the rare slow path) makes its own.
	var buf [128]byte
	maybe := g.filter.MayContain(c.AppendKey(buf[:0]))
	if maybe || (c.Kind != normalize.Phone && len(g.domains.Load().set) > 0) {
		return v, g.checkSlow(ctx, &v, maybe)
	}
	g.allowed.inc()
	return v, nil
}

// checkSlow fills in v for v.Contact when the filter said "maybe" to it
// (maybe) or it is an email or a domain and some domain is blocked: it
// confirms the contact's own block, then its domain's. It writes nothing
// to v when the contact is allowed.
func (g *Guard) checkSlow(ctx context.Context, v *Verdict, maybe bool) error {
	c := v.Contact
	if maybe {
		if done, err := g.confirm(ctx, v, c, ScopeAddress); done {
			return err
		}
	}
	if c.Kind == normalize.Email || c.Kind == normalize.Domain {
		if ds := g.domains.Load(); len(ds.set) > 0 {
			if done, err := g.checkDomains(ctx, v, ds); done {
				return err
			}
		}
	}
	g.allowed.inc()
	return nil
}

// checkDomains confirms a block on the email's domain, or on a parent
// domain, that the domain set says "maybe" to. It reports done as confirm
// does.
func (g *Guard) checkDomains(ctx context.Context, v *Verdict, ds *domainSet) (bool, error) {
	d := v.Contact.EmailDomain()
	for {
		if ds.has(d) {
			dc := normalize.Contact{Kind: normalize.Domain, Value: d}
			if done, err := g.confirm(ctx, v, dc, ScopeDomain); done {
				return true, err
			}
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return false, nil
		}
		d = d[i+1:]
		if strings.IndexByte(d, '.') < 0 {
			return false, nil // a bare top-level domain is never a block
		}
	}
}

// confirm looks the matched contact up in the store after a filter or
// domain-set "maybe". It reports done when the verdict is final (blocked,
// or failed closed).
func (g *Guard) confirm(ctx context.Context, v *Verdict, matched normalize.Contact, m Scope) (bool, error) {
	g.maybes.inc()
	var gen, h uint64
	if bc := g.cache; bc != nil {
		var kb [128]byte
		h = bc.hash(matched.AppendKey(kb[:0]))
		if cb, ok := bc.get(h, matched, g.opts.now); ok {
			g.blocked.inc()
			if m == ScopeDomain {
				g.blockedDomain.inc()
			}
			v.Blocked, v.Scope, v.BlockedContact = true, m, matched
			v.Reason, v.Source, v.CreatedAt, v.ExpiresAt = cb.reason, cb.source, cb.createdAt, cb.expiresAt
			return true, nil
		}
		gen = bc.begin() // before the read: see blockedCache
	}
	key := matched.Key()
	e, ok, err := g.store.GetKey(ctx, key)
	if err != nil {
		g.storeErrors.inc()
		if g.opts.failMode == FailOpen {
			g.opts.log.Warn("guard: store failed during check; failing open",
				slog.Any("recipient", v.Contact), slog.Any("err", err))
			return false, nil
		}
		g.opts.log.Warn("guard: store failed during check; refusing",
			slog.Any("recipient", v.Contact), slog.Any("err", err))
		v.Blocked, v.Scope, v.BlockedContact = true, m, matched
		v.Reason = "blocklist unavailable"
		return true, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		g.falsePositives.inc()
		return false, nil
	}
	g.blocked.inc()
	if m == ScopeDomain {
		g.blockedDomain.inc()
	}
	if bc := g.cache; bc != nil {
		bc.fill(gen, h, matched, &e)
	}
	v.Blocked, v.Scope, v.BlockedContact = true, m, matched
	v.Reason, v.Source, v.CreatedAt, v.ExpiresAt = e.Reason, e.Source, e.CreatedAt, e.ExpiresAt
	return true, nil
}

// Block blocks recipient — an email address, a phone number or a domain
// ("example.com", "@example.com", "*.example.com"; a domain block covers
// its subdomains). Once Block has returned, no Check and no wrapped send
// lets the contact through. Blocking a contact that is already blocked
// keeps the existing block unless the new one lasts longer.
//
// The verdict describes the block now in force. Block returns an error
// wrapping normalize.ErrInvalid for input that is not a recipient, and a
// *[ProviderDomainError] (errors.Is [ErrProviderDomain]) for the domain of
// a mailbox provider (see [IsProviderDomain]) unless [AllowProviderDomain]
// is given: such a block would stop every address there.
func (g *Guard) Block(ctx context.Context, recipient, reason string, opts ...BlockOption) (Verdict, error) {
	c, err := g.norm.Parse(recipient)
	if err != nil {
		return Verdict{Input: recipient}, err
	}
	if c.Kind == normalize.Domain && IsProviderDomain(c.Value) {
		var bo blockOptions
		for _, opt := range opts {
			opt(&bo)
		}
		if !bo.providerDomain {
			return Verdict{Input: recipient, Contact: c}, &ProviderDomainError{Domain: c.Value}
		}
	}
	e, err := g.entry(c, recipient, reason, sourceLocal, opts)
	if err != nil {
		return Verdict{Input: recipient, Contact: c}, err
	}
	if _, err := g.put(ctx, e); err != nil {
		return Verdict{Input: recipient, Contact: c}, err
	}
	v := Verdict{Input: recipient, Contact: c, Blocked: true, Scope: ScopeAddress, BlockedContact: c}
	e, ok, err := g.store.Get(ctx, c)
	if err != nil {
		return v, fmt.Errorf("guard: block: %w", err)
	}
	if ok {
		v.Reason, v.Source, v.CreatedAt, v.ExpiresAt = e.Reason, e.Source, e.CreatedAt, e.ExpiresAt
	}
	return v, nil
}

// BlockContact blocks a contact that is already canonical (from the guard's
// normalizer), recording original as the text it came from. It reports
// whether anything changed: false when an equal or longer block was already
// in force. The sync engine applies remote blocks through it.
func (g *Guard) BlockContact(ctx context.Context, c normalize.Contact, original, reason string, opts ...BlockOption) (bool, error) {
	if c.Kind < normalize.Email || c.Kind > normalize.Domain || c.Value == "" {
		return false, &normalize.InvalidError{Input: c.Value, Kind: c.Kind, Reason: "not a canonical contact"}
	}
	e, err := g.entry(c, original, reason, sourceLocal, opts)
	if err != nil {
		return false, err
	}
	return g.put(ctx, e)
}

func (g *Guard) entry(c normalize.Contact, original, reason, defSource string, opts []BlockOption) (storage.Entry, error) {
	bo := blockOptions{source: defSource}
	for _, opt := range opts {
		opt(&bo)
	}
	now := g.opts.now()
	e := storage.Entry{
		Contact:   c,
		Original:  original,
		Reason:    reason,
		Source:    bo.source,
		CreatedAt: bo.createdAt,
		ExpiresAt: bo.expiresAt,
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if bo.expiry > 0 {
		e.ExpiresAt = now.Add(bo.expiry)
	}
	if bo.expiry < 0 || (!e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now)) {
		return e, fmt.Errorf("guard: block of %v expires in the past", normalize.Redacted(c.Value))
	}
	return e, nil
}

// put writes e: the one path by which a single block reaches the store.
// The domain set and the filter learn the contact before put returns.
func (g *Guard) put(ctx context.Context, e storage.Entry) (bool, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	return g.putLocked(ctx, e)
}

// putLocked is put with g.wmu held.
func (g *Guard) putLocked(ctx context.Context, e storage.Entry) (bool, error) {
	c := e.Contact
	if g.closed.Load() {
		return false, ErrClosed
	}
	// The store first, then the filter: a filter rebuild that starts
	// after the write scans the key, and one that is already running
	// records the Add. Either way the key is in the filter before Block
	// returns. The domain set learns a domain before the write, so a
	// failed write leaves at most a "maybe" the store answers.
	if c.Kind == normalize.Domain {
		g.addDomains([]string{c.Value})
	}
	added, _, err := g.store.Put(ctx, e)
	g.invalidate(c) // a longer block replaced the one cached
	if err != nil {
		return false, fmt.Errorf("guard: block: %w", err)
	}
	g.filter.Add(c.Key())
	if added {
		g.blocks.Add(1)
		g.met.wrote(e.Source, opBlock, 1)
		g.opts.log.Debug("guard: blocked", slog.Any("recipient", c), slog.String("source", e.Source))
		g.changed()
	}
	return added, nil
}

// Unblock removes the block on recipient itself, if there is one, and
// reports whether there was. It does not lift a block on the domain of an
// email: unblock the domain for that. A vendor's copy of the block is not
// removed (neither vendor documents how); the sync engine keeps the unblock
// from being undone by the next pull.
func (g *Guard) Unblock(ctx context.Context, recipient string) (bool, error) {
	c, err := g.norm.Parse(recipient)
	if err != nil {
		return false, err
	}
	return g.UnblockContact(ctx, c)
}

// UnblockContact is Unblock for a canonical contact.
func (g *Guard) UnblockContact(ctx context.Context, c normalize.Contact) (bool, error) {
	return g.remove(ctx, c, sourceLocal, "")
}

// remove deletes c's block: the one path by which a block leaves the
// store. The domain set forgets a domain after the delete; the filter keeps
// the key as a stale bit until the next rebuild.
func (g *Guard) remove(ctx context.Context, c normalize.Contact, source, origin string) (bool, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	return g.removeLocked(ctx, c, source, origin)
}

// removeLocked is remove with g.wmu held.
func (g *Guard) removeLocked(ctx context.Context, c normalize.Contact, source, origin string) (bool, error) {
	if g.closed.Load() {
		return false, ErrClosed
	}
	existed, err := g.store.DeleteFrom(ctx, c, source, origin)
	g.invalidate(c)
	if err != nil {
		return false, fmt.Errorf("guard: unblock: %w", err)
	}
	if c.Kind == normalize.Domain {
		g.removeDomain(c.Value)
	}
	if existed {
		g.unblocks.Add(1)
		g.met.wrote(source, opUnblock, 1)
		// Bloom bits cannot be cleared: the key is now stale until the
		// next rebuild.
		g.filter.NoteStale(1)
		g.opts.log.Debug("guard: unblocked", slog.Any("recipient", c))
		g.changed()
	}
	return existed, nil
}

// invalidate drops c's block from the blocked cache. Every write path
// calls it after its store write (also a failed one: it may have written).
func (g *Guard) invalidate(c normalize.Contact) {
	if g.cache != nil {
		var kb [128]byte
		g.cache.invalidate(c.AppendKey(kb[:0]))
	}
}

// Close stops the guard's background work, trims the change log (see
// [WithLogRetention]; for a few seconds at most), writes the filter
// snapshot (if snapshots are on), and closes the store; a read-only guard
// does neither. It waits for a block in flight. Close is idempotent and
// safe to call concurrently; every call returns the first call's result,
// except that when the store could not be closed for lack of disk space
// (an error wrapping storage.ErrDiskFull: nothing is lost, see
// storage.Store.Close), a later call tries again.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		g.cancel()
		g.wg.Wait()
		g.wmu.Lock()
		defer g.wmu.Unlock()
		var errs []error
		g.trimLog(context.Background())
		if g.opts.snapshot && !g.store.ReadOnly() {
			if err := g.writeSnapshot(context.Background()); err != nil {
				g.opts.log.Warn("guard: filter snapshot not written", slog.Any("err", err))
			}
		}
		errs = append(errs, g.store.Close())
		g.closeErr = errors.Join(errs...)
	})
	g.closeMu.Lock()
	defer g.closeMu.Unlock()
	if errors.Is(g.closeErr, storage.ErrDiskFull) {
		g.closeErr = g.store.Close()
	}
	return g.closeErr
}

func randomStamp() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}
