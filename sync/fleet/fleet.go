package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sendguard/sendguard/guard"
)

// Defaults of [Config].
const (
	DefaultStream   = "SENDGUARD"
	DefaultLeaseTTL = 10 * time.Second
)

// Origin is the origin a member gives the changes it applies from the
// fleet (storage.Record.Origin), and the name of its change-log consumer in
// the guard's replication view: the member publishes the records after
// that consumer's offset and skips those whose origin is Origin, so a
// change is never echoed back to the fleet.
const Origin = "fleet"

// ErrRunning is returned by [Member.Run] when the member is already running.
var ErrRunning = errors.New("fleet: member already running")

// Config configures a member of a fleet. Only Member is required.
type Config struct {
	// Member names this member: 1 to 64 letters, digits, '-' or '_',
	// stable across restarts (its position in the stream and its local
	// sequence numbers are kept under it) and unique in the fleet.
	Member string

	// Stream is the JetStream stream that carries the fleet's changes
	// (letters, digits, '-' or '_'). It is created if missing, on file
	// storage, with subjects "<Stream>.change.>". The key/value buckets
	// "<Stream>_LEASE", "<Stream>_MEMBERS" and "<Stream>_VENDORS" go with
	// it. The default value is DefaultStream.
	Stream string

	// Replicas is the stream's and buckets' replica count when Run creates
	// them (1, 3 or 5; a clustered server). The default value is 1.
	Replicas int

	// LeaseTTL is how long the vendor lease outlives its holder: another
	// member takes over within about LeaseTTL plus LeaseTTL/5 after the
	// holder stops renewing it. The holder stops its vendor sync once it
	// has failed to renew for LeaseTTL/2, before anyone else can take the
	// lease. The default value is DefaultLeaseTTL.
	LeaseTTL time.Duration

	// Vendors, if its Run is set, makes this member a candidate for the
	// fleet's vendor lease; see [Vendors].
	Vendors Vendors

	// Logger receives the member's warnings (NATS unreachable, lease
	// changes). Recipients are redacted; credentials are never logged.
	// The default discards everything.
	Logger *slog.Logger
}

// Vendors is the vendor sync a member runs while it holds the fleet's
// vendor lease: at most one member of the fleet at a time.
//
// Run is typically a sync engine's Run over the same guard
// (blocksync.New(g.Replication(), remotes).Run). It is called with a
// context that ends when the lease is lost or [Member.Run] ends, and must
// return soon after. Remotes names the engine's remotes: their consumer
// state ("remote/<name>" in the guard's replication view — the pull
// watermark, which contacts the vendor lists, and the push position) is
// copied to the fleet's "<Stream>_VENDORS" bucket while the member holds
// the lease, and a member taking the lease over starts from that copy, so
// the vendors' history is not pushed or pulled again.
type Vendors struct {
	Remotes []string
	Run     func(ctx context.Context) error
}

// Member is one guard's membership of a fleet. Get it from [Join] and
// start it with [Member.Run]. A Member is safe for concurrent use.
type Member struct {
	g    *guard.Guard
	rep  *guard.Replication
	nc   *nats.Conn
	cfg  Config
	log  *slog.Logger
	subj string // subject prefix of this member's changes: "<Stream>.change."
	tr   *tracker

	running atomic.Bool

	stMu gosync.Mutex // guards st
	st   Stats
}

// Join makes g a member of the fleet that nc reaches, as cfg describes,
// and returns the member; [Member.Run] does the work. Join itself needs
// no server: it checks cfg and registers the member's change-log consumer
// ([Origin]) in g's replication view, so every change g commits from now
// on — and every earlier one not yet published — is published once Run
// runs, even if Run starts later or NATS is down meanwhile.
func Join(g *guard.Guard, nc *nats.Conn, cfg Config) (*Member, error) {
	if g == nil {
		return nil, errors.New("fleet: nil guard")
	}
	if nc == nil {
		return nil, errors.New("fleet: nil NATS connection")
	}
	if !validName(cfg.Member) {
		return nil, fmt.Errorf("fleet: member name %q: want 1 to 64 letters, digits, '-' or '_'", cfg.Member)
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if !validName(cfg.Stream) {
		return nil, fmt.Errorf("fleet: stream name %q: want 1 to 64 letters, digits, '-' or '_'", cfg.Stream)
	}
	switch cfg.Replicas {
	case 0:
		cfg.Replicas = 1
	case 1, 3, 5:
	default:
		return nil, fmt.Errorf("fleet: replicas %d: want 1, 3 or 5", cfg.Replicas)
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.LeaseTTL < time.Second {
		return nil, fmt.Errorf("fleet: lease TTL %v: want at least 1s", cfg.LeaseTTL)
	}
	for _, r := range cfg.Vendors.Remotes {
		if !validVendor(r) {
			return nil, fmt.Errorf("fleet: vendor remote name %q: want 1 to 64 letters, digits, '.', '_' or '-'", r)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := g.Replication()
	ctx := context.Background()
	off, err := rep.Offset(ctx, Origin)
	if err != nil {
		return nil, fmt.Errorf("fleet: join: %w", err)
	}
	// Register the consumer (a no-op when it is): the log after off is
	// kept until it is published.
	if err := rep.SetOffset(ctx, Origin, off); err != nil {
		return nil, fmt.Errorf("fleet: join: %w", err)
	}
	m := &Member{
		g:    g,
		rep:  rep,
		nc:   nc,
		cfg:  cfg,
		log:  log.With(slog.String("member", cfg.Member)),
		subj: cfg.Stream + ".change.",
	}
	m.tr = newTracker(rep, cfg.Member, off)
	return m, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validVendor(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Run replicates until ctx is done: it publishes the guard's local changes
// to the stream, applies the other members' changes to the guard, keeps
// the member's heartbeat, and — if [Config].Vendors is set — contends for
// the vendor lease and runs the vendor sync while it holds it. NATS being
// down is not an error: Run retries, and the guard goes on meanwhile. Run
// returns nil once ctx is done and its goroutines have stopped (a lease it
// holds is released), [ErrRunning] at once if the member is already
// running, and an error if the guard is closed under it.
func (m *Member) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	js, err := jetstream.New(m.nc, jetstream.WithPublishAsyncMaxPending(4*publishWindow),
		jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	n := &node{Member: m, js: js, applyDone: make(chan struct{})}
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fail := func(err error) {
		if errors.Is(err, guard.ErrClosed) {
			cancel(err)
		}
	}
	if err := n.setup(rctx); err != nil {
		if c := context.Cause(rctx); errors.Is(c, guard.ErrClosed) {
			return fmt.Errorf("fleet: %w", c)
		}
		return nil // ctx done
	}
	if err := n.resume(rctx); err != nil {
		if rctx.Err() != nil && !errors.Is(err, guard.ErrClosed) {
			return nil
		}
		return fmt.Errorf("fleet: %w", err)
	}
	var wg gosync.WaitGroup
	wg.Go(func() { fail(n.publishLoop(rctx)) })
	wg.Go(func() {
		defer close(n.applyDone)
		fail(n.applyLoop(rctx))
	})
	wg.Go(func() { n.heartbeatLoop(rctx) })
	if m.cfg.Vendors.Run != nil {
		wg.Go(func() { n.leaseLoop(rctx) })
	}
	wg.Wait()
	if c := context.Cause(rctx); errors.Is(c, guard.ErrClosed) {
		return fmt.Errorf("fleet: %w", c)
	}
	return nil
}

// node is one Run of a member.
type node struct {
	*Member
	js      jetstream.JetStream
	stream  jetstream.Stream
	created time.Time // the stream's creation time: its identity
	lease   jetstream.KeyValue
	members jetstream.KeyValue
	vendors jetstream.KeyValue
	ckpts   int // checkpoints written by this run
	// applyDone is closed when the apply loop has returned.
	applyDone chan struct{}
}

// setup creates (or finds) the stream and the buckets, retrying until it
// succeeds or ctx ends.
func (n *node) setup(ctx context.Context) error {
	bo := newBackoff()
	for {
		err := n.trySetup(ctx)
		if err == nil {
			return nil
		}
		n.warn("fleet: cannot set up the stream; retrying", err)
		if !bo.sleep(ctx) {
			return ctx.Err()
		}
	}
}

func (n *node) trySetup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := n.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        n.cfg.Stream,
		Description: "sendguard fleet changes",
		Subjects:    []string{n.subj + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Replicas:    n.cfg.Replicas,
		Duplicates:  2 * time.Minute,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = n.js.Stream(ctx, n.cfg.Stream)
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", n.cfg.Stream, err)
	}
	n.stream, n.created = s, info.Created
	kv := func(suffix, desc string, ttl time.Duration) (jetstream.KeyValue, error) {
		name := n.cfg.Stream + "_" + suffix
		b, err := n.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: name, Description: desc, TTL: ttl, Storage: jetstream.FileStorage, Replicas: n.cfg.Replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			b, err = n.js.KeyValue(ctx, name)
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", name, err)
		}
		return b, nil
	}
	if n.lease, err = kv("LEASE", "sendguard vendor lease", n.cfg.LeaseTTL); err != nil {
		return err
	}
	if n.members, err = kv("MEMBERS", "sendguard members' heartbeats", memberTTL); err != nil {
		return err
	}
	if n.vendors, err = kv("VENDORS", "sendguard vendor sync state", 0); err != nil {
		return err
	}
	return nil
}

func (n *node) warn(msg string, err error) {
	n.log.Warn(msg, slog.String("err", err.Error()))
}

// resume prepares the tracker from the saved position: the local changes
// published after the last one the member met in the stream are sent
// again (see tracker.rewind), so that each gets its place before the
// apply loop decides on a message about its contact.
func (n *node) resume(ctx context.Context) error {
	pos, err := n.loadPos(ctx)
	if err != nil || pos.seq == 0 || !pos.created.Equal(n.created.UTC()) {
		return err
	}
	if _, err := n.rep.ReadLog(ctx, pos.ownCovered, 1); errors.Is(err, guard.ErrBehindLog) {
		return nil // trimmed meanwhile: nothing to send again
	} else if err != nil {
		return err
	}
	n.tr.rewind(pos.ownCovered, pos.seq)
	return nil
}

// backoff is a capped exponential wait for retries against NATS.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 50 * time.Millisecond} }

func (b *backoff) sleep(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 2*time.Second)
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (b *backoff) reset() { b.d = 50 * time.Millisecond }
