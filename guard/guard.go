package guard

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	blocks, unblocks, imported          atomic.Uint64
	lastRebuildErr                      atomic.Pointer[error]

	notifyMu sync.Mutex
	notifyCh chan struct{}

	kick      chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	closeOnce sync.Once
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
// Open returns an error wrapping storage.ErrLocked if another process holds
// dir, and storage.ErrSettings if [WithProviderFolding] differs from the
// value the store was created with.
func Open(dir string, opts ...Option) (*Guard, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	sopts := storage.Options{
		InMemory:        o.inMemory,
		Logger:          o.log,
		ProviderFolding: o.folding,
		SyncWrites:      o.syncWrites,
		MinFreeBytes:    o.minFree,
		Clock:           o.now,
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
	}
	ctx := context.Background()
	if err := g.loadDomains(ctx); err != nil {
		return nil, err
	}
	if err := g.loadFilter(ctx); err != nil {
		return nil, err
	}
	mctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.maintain(mctx)
	}()
	return g, nil
}

func (g *Guard) loadDomains(ctx context.Context) error {
	set := make(map[string]struct{})
	err := g.store.ScanKind(ctx, normalize.Domain, func(e storage.Entry) error {
		set[e.Contact.Value] = struct{}{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("guard: load domain blocks: %w", err)
	}
	g.domains.Store(newDomainSet(set))
	return nil
}

// scanKeys is the filter's key source: every live key in the store.
func (g *Guard) scanKeys(ctx context.Context, add func(key []byte)) error {
	return g.store.ScanKeys(ctx, func(key []byte) error {
		add(key)
		return nil
	})
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
func (g *Guard) Check(ctx context.Context, recipient string) (Verdict, error) {
	if g.closed.Load() {
		return Verdict{Input: recipient}, ErrClosed
	}
	c, err := g.norm.Parse(recipient)
	if err != nil {
		g.invalid.inc()
		return Verdict{Input: recipient}, err
	}
	return g.check(ctx, recipient, c)
}

// CheckContact is Check for a contact that is already canonical (from the
// guard's [Guard.Normalizer]).
func (g *Guard) CheckContact(ctx context.Context, c normalize.Contact) (Verdict, error) {
	if g.closed.Load() {
		return Verdict{Input: c.Value}, ErrClosed
	}
	return g.check(ctx, c.Value, c)
}

func (g *Guard) check(ctx context.Context, input string, c normalize.Contact) (Verdict, error) {
	// The key is built on the stack: it goes to the filter only, which
	// does not keep it. The store look-up (the rare slow path) makes its own.
	var buf [128]byte
	if g.filter.MayContain(c.AppendKey(buf[:0])) {
		v := Verdict{Input: input, Contact: c}
		if done, err := g.confirm(ctx, &v, c, MatchAddress); done {
			return v, err
		}
	}
	if c.Kind == normalize.Email || c.Kind == normalize.Domain {
		if ds := g.domains.Load(); len(ds.set) > 0 {
			d := c.EmailDomain()
			for {
				if ds.has(d) {
					v := Verdict{Input: input, Contact: c}
					dc := normalize.Contact{Kind: normalize.Domain, Value: d}
					if done, err := g.confirm(ctx, &v, dc, MatchDomain); done {
						return v, err
					}
				}
				i := strings.IndexByte(d, '.')
				if i < 0 {
					break
				}
				d = d[i+1:]
				if strings.IndexByte(d, '.') < 0 {
					break // a bare top-level domain is never a block
				}
			}
		}
	}
	g.allowed.inc()
	// Built in the result, not copied there: this is the hot path.
	return Verdict{Input: input, Contact: c}, nil
}

// confirm looks the matched contact up in the store after a filter or
// domain-set "maybe". It reports done when the verdict is final (blocked,
// or failed closed).
func (g *Guard) confirm(ctx context.Context, v *Verdict, matched normalize.Contact, m Match) (bool, error) {
	g.maybes.inc()
	e, ok, err := g.store.GetKey(ctx, matched.Key())
	if err != nil {
		g.storeErrors.inc()
		if g.opts.failMode == FailOpen {
			g.opts.log.Warn("guard: store failed during check; failing open",
				slog.Any("recipient", v.Contact), slog.Any("err", err))
			return false, nil
		}
		g.opts.log.Warn("guard: store failed during check; refusing",
			slog.Any("recipient", v.Contact), slog.Any("err", err))
		v.Blocked, v.Match, v.Matched = true, m, matched
		v.Reason = "blocklist unavailable"
		return true, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !ok {
		g.falsePositives.inc()
		return false, nil
	}
	g.blocked.inc()
	v.Blocked, v.Match, v.Matched = true, m, matched
	v.Reason, v.Source, v.CreatedAt, v.ExpiresAt = e.Reason, e.Source, e.CreatedAt, e.ExpiresAt
	return true, nil
}

// CheckAll checks every recipient in order. The verdicts are in the same
// order as recipients. The error joins the per-recipient errors (invalid
// input, an unavailable store); the verdicts are complete either way.
func (g *Guard) CheckAll(ctx context.Context, recipients []string) ([]Verdict, error) {
	out := make([]Verdict, len(recipients))
	var errs []error
	for i, r := range recipients {
		v, err := g.Check(ctx, r)
		out[i] = v
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Block blocks recipient — an email address, a phone number or a domain
// ("example.com", "@example.com", "*.example.com"; a domain block covers
// its subdomains). Once Block has returned, no Check and no wrapped send
// lets the contact through. Blocking a contact that is already blocked
// keeps the existing block unless the new one lasts longer.
//
// The verdict describes the block now in force. Block returns an error
// wrapping normalize.ErrInvalid for input that is not a recipient.
func (g *Guard) Block(ctx context.Context, recipient, reason string, opts ...BlockOption) (Verdict, error) {
	c, err := g.norm.Parse(recipient)
	if err != nil {
		return Verdict{Input: recipient}, err
	}
	e, err := g.entry(c, recipient, reason, sourceLocal, opts)
	if err != nil {
		return Verdict{Input: recipient, Contact: c}, err
	}
	if _, err := g.put(ctx, e); err != nil {
		return Verdict{Input: recipient, Contact: c}, err
	}
	v := Verdict{Input: recipient, Contact: c, Blocked: true, Match: MatchAddress, Matched: c}
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
	if err != nil {
		return false, fmt.Errorf("guard: block: %w", err)
	}
	g.filter.Add(c.Key())
	if added {
		g.blocks.Add(1)
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
	if err != nil {
		return false, fmt.Errorf("guard: unblock: %w", err)
	}
	if c.Kind == normalize.Domain {
		g.removeDomain(c.Value)
	}
	if existed {
		g.unblocks.Add(1)
		// Bloom bits cannot be cleared: the key is now stale until the
		// next rebuild.
		g.filter.NoteStale(1)
		g.opts.log.Debug("guard: unblocked", slog.Any("recipient", c))
		g.changed()
	}
	return existed, nil
}

// domainSet is an immutable set of blocked domains, probed for every
// email's domain and parent domains. Most probes are for domains that are
// not there; sig answers nearly all of them with one AND, no hashing.
type domainSet struct {
	set map[string]struct{}
	sig [4]uint64 // bit domainSig(d) is set for every d in set
}

func newDomainSet(set map[string]struct{}) *domainSet {
	ds := &domainSet{set: set}
	for d := range set {
		i := domainSig(d)
		ds.sig[i>>6] |= 1 << (i & 63)
	}
	return ds
}

// domainSig picks one of 256 bits for a non-empty domain from its length
// and its first and last bytes: cheap, and spread enough that a few
// hundred blocked domains leave most bits clear.
func domainSig(d string) uint {
	return (uint(len(d))*31 + uint(d[0])*7 + uint(d[len(d)-1])) & 255
}

// has reports whether d is in the set.
func (ds *domainSet) has(d string) bool {
	if d == "" {
		return false
	}
	i := domainSig(d)
	if ds.sig[i>>6]&(1<<(i&63)) == 0 {
		return false
	}
	_, ok := ds.set[d]
	return ok
}

// addDomains publishes a new domain set with ds added. Caller holds wmu.
func (g *Guard) addDomains(ds []string) {
	old := g.domains.Load().set
	next := make(map[string]struct{}, len(old)+len(ds))
	for d := range old {
		next[d] = struct{}{}
	}
	for _, d := range ds {
		next[d] = struct{}{}
	}
	g.domains.Store(newDomainSet(next))
}

// removeDomain publishes a new domain set without d. Caller holds wmu.
func (g *Guard) removeDomain(d string) {
	old := g.domains.Load().set
	if _, ok := old[d]; !ok {
		return
	}
	next := make(map[string]struct{}, len(old))
	for k := range old {
		if k != d {
			next[k] = struct{}{}
		}
	}
	g.domains.Store(newDomainSet(next))
}

// Rejected is one input [Guard.Import] or [Guard.ImportEntries] could not
// read.
type Rejected struct {
	Index int    // position in the input slice
	Input string // the input as given
	Err   error  // wraps normalize.ErrInvalid
}

// ImportResult counts what [Guard.Import] and [Guard.ImportEntries] did.
type ImportResult struct {
	Added   int        // new blocks written
	Present int        // already blocked (in the store, or earlier in the same input)
	Expired int        // not written: the entry's ExpiresAt had passed (ImportEntries only)
	Invalid []Rejected // inputs that are not recipients, in input order
}

// ImportEntry is one block for [Guard.ImportEntries], with its own
// metadata: a restore of an export, or a list from another system.
type ImportEntry struct {
	Recipient string    // any form Block accepts
	Reason    string    // why it is blocked
	Source    string    // where the block comes from; "" means "import"
	CreatedAt time.Time // when it was made; zero means now (the guard's clock)
	ExpiresAt time.Time // when it lapses; zero means never
}

// Import blocks many recipients at once through the store's bulk path, all
// with the same reason and options (the source defaults to "import"). Like
// Block, every imported contact is in the filter before Import returns.
// Invalid inputs are reported, not fatal; the error is for the import
// itself (the store failing, ctx ending, an expiry in the past), in which
// case some blocks may have been written and a retry is safe.
//
// Import never replaces or extends a block already in force; it counts the
// contact as Present.
func (g *Guard) Import(ctx context.Context, recipients []string, reason string, opts ...BlockOption) (ImportResult, error) {
	return g.importEach(ctx, len(recipients), func(i int) (string, storage.Entry, error) {
		r := recipients[i]
		c, err := g.norm.Parse(r)
		if err != nil {
			return r, storage.Entry{}, err
		}
		e, err := g.entry(c, r, reason, sourceImport, opts)
		if err != nil {
			return r, e, &importError{err}
		}
		return r, e, nil
	})
}

// ImportEntries is Import with a reason, source and times for each entry.
// An entry whose ExpiresAt has already passed is not written and is counted
// as Expired.
func (g *Guard) ImportEntries(ctx context.Context, entries []ImportEntry) (ImportResult, error) {
	now := g.opts.now()
	return g.importEach(ctx, len(entries), func(i int) (string, storage.Entry, error) {
		ie := &entries[i]
		c, err := g.norm.Parse(ie.Recipient)
		if err != nil {
			return ie.Recipient, storage.Entry{}, err
		}
		e := storage.Entry{
			Contact:   c,
			Original:  ie.Recipient,
			Reason:    ie.Reason,
			Source:    cmp.Or(ie.Source, sourceImport),
			CreatedAt: cmp.Or(ie.CreatedAt, now),
			ExpiresAt: ie.ExpiresAt,
		}
		if len(e.Reason) > storage.MaxEntryText || len(e.Source) > storage.MaxEntryText {
			return ie.Recipient, e, &normalize.InvalidError{Input: ie.Recipient, Kind: c.Kind,
				Reason: fmt.Sprintf("reason or source over %d bytes", storage.MaxEntryText)}
		}
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now) {
			return ie.Recipient, e, errExpired
		}
		return ie.Recipient, e, nil
	})
}

// errExpired marks an import entry that lapsed before it was imported.
var errExpired = errors.New("expired")

// importError marks an error that fails the whole import.
type importError struct{ err error }

func (e *importError) Error() string { return e.err.Error() }
func (e *importError) Unwrap() error { return e.err }

// importEach reads n inputs with read, which returns the input text, its
// entry, and an error: invalid input (reported in Invalid), errExpired
// (counted), or an *importError (fatal). It then writes the entries in
// bulk, store first and filter second, as blockContact does.
func (g *Guard) importEach(ctx context.Context, n int, read func(i int) (string, storage.Entry, error)) (ImportResult, error) {
	var res ImportResult
	entries := make([]storage.Entry, 0, n)
	seen := make(map[string]struct{}, n)
	var domains []string
	for i := range n {
		input, e, err := read(i)
		var fatal *importError
		switch {
		case errors.As(err, &fatal):
			return res, fatal.err
		case errors.Is(err, errExpired):
			res.Expired++
			continue
		case err != nil:
			res.Invalid = append(res.Invalid, Rejected{Index: i, Input: input, Err: err})
			continue
		}
		key := string(e.Contact.Key())
		if _, dup := seen[key]; dup {
			res.Present++
			continue
		}
		seen[key] = struct{}{}
		entries = append(entries, e)
		if e.Contact.Kind == normalize.Domain {
			domains = append(domains, e.Contact.Value)
		}
	}
	if len(entries) == 0 {
		return res, nil
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	if g.closed.Load() {
		return res, ErrClosed
	}
	if len(domains) > 0 {
		g.addDomains(domains)
	}
	ir, err := g.store.Import(ctx, entries)
	// Store first, then filter, as in blockContact. Every key goes to the
	// filter even if the import failed part way: some may have been
	// written, and an extra key is only a "maybe".
	var buf []byte
	for _, e := range entries {
		buf = e.Contact.AppendKey(buf[:0])
		g.filter.Add(buf)
	}
	res.Added += ir.Added
	res.Present += ir.Present
	res.Expired += ir.Expired
	g.imported.Add(uint64(ir.Added))
	if ir.Added > 0 {
		g.changed()
	}
	if err != nil {
		return res, fmt.Errorf("guard: import: %w", err)
	}
	return res, nil
}

// changed wakes Changes waiters and the rebuild loop.
func (g *Guard) changed() {
	g.notifyMu.Lock()
	close(g.notifyCh)
	g.notifyCh = make(chan struct{})
	g.notifyMu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// maintain rebuilds the filter in the background when it is over capacity
// or stale.
func (g *Guard) maintain(ctx context.Context) {
	t := time.NewTicker(g.opts.rebuildInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.kick:
		}
		if !g.filter.NeedsRebuild() {
			continue
		}
		if err := g.Rebuild(ctx); err != nil && ctx.Err() == nil {
			g.opts.log.Warn("guard: filter rebuild failed", slog.Any("err", err))
		}
	}
}

// Rebuild builds a fresh filter from the store and swaps it in, clearing
// the bits of unblocked and expired contacts and resizing for the current
// count. Checks and blocks go on meanwhile: a block made during the rebuild
// lands in both filters. The guard rebuilds by itself when needed; Rebuild
// is for operators and tests.
func (g *Guard) Rebuild(ctx context.Context) error {
	if g.closed.Load() {
		return ErrClosed
	}
	st := g.filter.Stats()
	expected := max(uint(st.Count-min(st.Stale, st.Count))*2, g.opts.expected)
	err := g.filter.Rebuild(ctx, expected, g.scanKeys)
	if err != nil {
		g.lastRebuildErr.Store(&err)
		return fmt.Errorf("guard: rebuild: %w", err)
	}
	g.lastRebuildErr.Store(nil)
	return nil
}

// Close stops the guard's background work, writes the filter snapshot (if
// snapshots are on), and closes the store. It waits
// for a block in flight. Close is idempotent and safe to call concurrently;
// every call returns the first call's result.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() {
		g.closed.Store(true)
		g.cancel()
		g.wg.Wait()
		g.wmu.Lock()
		defer g.wmu.Unlock()
		var errs []error
		if g.opts.snapshot {
			if err := g.writeSnapshot(context.Background()); err != nil {
				g.opts.log.Warn("guard: filter snapshot not written", slog.Any("err", err))
			}
		}
		errs = append(errs, g.store.Close())
		g.closeErr = errors.Join(errs...)
	})
	return g.closeErr
}

func randomStamp() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}
