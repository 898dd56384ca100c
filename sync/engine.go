package sync

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	gosync "sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sendguard/sendguard/guard"
)

// ErrRunning is returned by [Engine.Run] when the engine is already running.
var ErrRunning = errors.New("sync: engine already running")

// Consumer returns the change-log consumer name of the remote called name:
// "remote/<name>". Its offset and dead letters in the store are under that
// name.
func Consumer(name string) string { return "remote/" + name }

// Engine keeps a guard's blocklist in agreement with remote blocklists:
// it pushes the store's change log to each remote and pulls each remote's
// list into the guard. See the package documentation.
//
// An Engine is safe for concurrent use by multiple goroutines: Stats may be
// called at any time, and SyncOnce while Run is running (the passes of one
// remote are serialized).
type Engine struct {
	st      *guard.Replication
	o       options
	remotes []*remoteState
	names   map[string]bool
	secrets []Redactor // the remotes that hold a secret
	running atomic.Bool
}

// New returns an engine that syncs the guard whose replication view rep is
// ([guard.Guard.Replication]) with remotes: it reads the guard's change
// log, keeps one consumer per remote ([Consumer]), and applies pulled
// blocks through rep, so the guard's filter learns them first. New starts
// nothing: call [Engine.Run] or [Engine.SyncOnce]. The engine does not own
// the guard nor the remotes; close the guard only after Run has returned.
// An engine with no remotes still answers the per-remote queries
// ([Engine.DeadLetters], [Engine.Forget], …) by name.
//
// New returns an error if a remote's name is empty, not made of letters,
// digits, '.', '_' and '-', used twice, or "local" or "import" (the
// sources of local blocks), or if an option is out of range.
func New(rep *guard.Replication, remotes []Remote, opts ...Option) (*Engine, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if rep == nil {
		return nil, errors.New("sync: nil replication view")
	}
	switch {
	case o.interval <= 0:
		return nil, fmt.Errorf("sync: interval %v is not positive", o.interval)
	case o.jitter < 0 || o.jitter > 0.5:
		return nil, fmt.Errorf("sync: jitter %v is not within [0, 0.5]", o.jitter)
	case o.batch <= 0:
		return nil, fmt.Errorf("sync: batch size %d is not positive", o.batch)
	case o.boBase <= 0 || o.boMax < o.boBase:
		return nil, fmt.Errorf("sync: backoff base %v and max %v: want 0 < base <= max", o.boBase, o.boMax)
	case o.fullPull == 0:
		return nil, errors.New("sync: full pull interval is 0 (a negative value turns full pulls off)")
	case o.maxWait < o.boMax:
		return nil, fmt.Errorf("sync: max wait %v is below the backoff max %v", o.maxWait, o.boMax)
	case o.permanentRetries < 0:
		return nil, fmt.Errorf("sync: permanent retries %d is negative", o.permanentRetries)
	}
	if !o.seeded {
		var b [8]byte
		_, _ = crand.Read(b[:]) // never fails on supported platforms
		o.seed = binary.LittleEndian.Uint64(b[:])
	}
	e := &Engine{st: rep, o: o, names: make(map[string]bool, len(remotes))}
	for i, r := range remotes {
		if r == nil {
			return nil, fmt.Errorf("sync: remote %d is nil", i)
		}
		name := r.Name()
		if !validName(name) {
			return nil, fmt.Errorf("sync: remote name %q: want 1 to 64 letters, digits, '.', '_' or '-'", name)
		}
		if e.names[name] {
			return nil, fmt.Errorf("sync: remote name %q used twice", name)
		}
		if name == "local" || name == "import" {
			return nil, fmt.Errorf("sync: remote name %q is the source of local blocks", name)
		}
		e.names[name] = true
		if rd, ok := r.(Redactor); ok {
			e.secrets = append(e.secrets, rd)
		}
		e.remotes = append(e.remotes, &remoteState{
			r:        r,
			name:     name,
			consumer: Consumer(name),
			meta:     meta{st: rep, consumer: Consumer(name)},
			bo:       backoff{base: o.boBase, max: o.boMax},
			rnd:      rand.New(rand.NewPCG(o.seed, uint64(i))),
			log:      o.log.With(slog.String("remote", name)),
			errLog:   rate.Sometimes{First: 1, Interval: o.errorLogInterval},
		})
	}
	if err := e.registerMetrics(); err != nil {
		return nil, fmt.Errorf("sync: metrics: %w", err)
	}
	return e, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// remoteState is one remote's engine-side state.
type remoteState struct {
	r        Remote
	name     string
	consumer string
	meta     meta
	log      *slog.Logger
	errLog   rate.Sometimes

	passMu gosync.Mutex // serializes passes

	boMu gosync.Mutex // guards bo and rnd
	bo   backoff
	rnd  *rand.Rand

	totals [numCounters]atomic.Int64

	mu          gosync.Mutex // guards the fields below
	lastSuccess time.Time
	lastError   string
	lastErrorAt time.Time
}

// Run syncs every remote until ctx is done: one goroutine per remote, which
// Run starts and waits for. Each makes a full pass (push, then pull) at
// once and then every interval (with jitter), and a push as soon as the
// guard reports a local change, so that a local block reaches the remote
// within about a second when the remote's pace allows. A failed pass is
// retried after a backoff; if only its pull failed, local changes are
// still pushed meanwhile.
//
// Run returns nil once ctx is done and every goroutine has stopped: ending
// ctx is how to stop it, not a failure. It returns [ErrRunning] at once if
// the engine is already running.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer e.running.Store(false)
	if len(e.remotes) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg gosync.WaitGroup
	for _, rs := range e.remotes {
		wg.Go(func() { e.loop(ctx, rs) })
	}
	wg.Wait()
	return nil
}

// loop is one remote's goroutine under Run.
func (e *Engine) loop(ctx context.Context, rs *remoteState) {
	full := true
	var next time.Time // when the next full pass is due
	for {
		changes := e.st.Changes()
		if full {
			next = time.Now().Add(e.interval(rs))
		}
		var t tally
		pushed, err := e.pass(ctx, rs, full, &t)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait := e.waitFor(ctx, rs, nil, classify(err))
			if !pushed {
				// The push failed: local changes would fail alike. Retry
				// the whole pass after the backoff.
				if !e.sleep(ctx, wait) {
					return
				}
				full = true
				continue
			}
			// Only the pull failed: retry it after the backoff, and keep
			// pushing local changes meanwhile.
			next = time.Now().Add(wait)
		}
		timer := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
			full = true
		case <-changes:
			timer.Stop()
			full = false
		}
	}
}

// interval returns the configured interval with jitter.
func (e *Engine) interval(rs *remoteState) time.Duration {
	if e.o.jitter == 0 {
		return e.o.interval
	}
	rs.boMu.Lock()
	f := 1 + e.o.jitter*(2*rs.rnd.Float64()-1)
	rs.boMu.Unlock()
	return time.Duration(float64(e.o.interval) * f)
}

// SyncOnce makes one full pass per remote, all remotes in parallel: it
// pushes every pending record (retrying temporary failures with backoff)
// and then pulls the remote's list. It returns when every remote is done
// or ctx is done; a remote that is cut short keeps its undelivered records
// pending for the next pass.
//
// The report has one entry per remote, in the order given to [New]. The
// error joins the remotes' errors (each also in its [RemoteReport]), among
// them a context error for a remote that ctx cut short.
func (e *Engine) SyncOnce(ctx context.Context) (Report, error) {
	rep := Report{Remotes: make([]RemoteReport, len(e.remotes))}
	var wg gosync.WaitGroup
	for i, rs := range e.remotes {
		wg.Go(func() {
			var t tally
			_, err := e.pass(ctx, rs, true, &t)
			rr := RemoteReport{Remote: rs.name, Counts: t.counts(), Err: e.redactErr(err)}
			// Count what is left even when ctx has ended: it is cheap and
			// bounded by the log, and it is what the caller needs to know.
			pctx := context.WithoutCancel(ctx)
			if off, oerr := e.st.Offset(pctx, rs.consumer); oerr == nil {
				rr.Pending, oerr = e.pending(pctx, rs, off)
				if oerr != nil && rr.Err == nil {
					rr.Err = oerr
				}
			} else if rr.Err == nil {
				rr.Err = oerr
			}
			rep.Remotes[i] = rr
		})
	}
	wg.Wait()
	var errs []error
	for _, rr := range rep.Remotes {
		if rr.Err != nil {
			errs = append(errs, fmt.Errorf("sync: %s: %w", rr.Remote, rr.Err)) // redacted above
		}
	}
	return rep, errors.Join(errs...)
}

// pass makes one pass for rs: a push, then (if full) a pull. pushed
// reports that the push completed.
func (e *Engine) pass(ctx context.Context, rs *remoteState, full bool, t *tally) (pushed bool, err error) {
	rs.passMu.Lock()
	defer rs.passMu.Unlock()
	t.rs = rs
	start := time.Now()
	err = e.push(ctx, rs, t)
	pushed = err == nil
	if pushed && full {
		err = e.pull(ctx, rs, t)
	}
	switch {
	case err == nil:
		rs.mu.Lock()
		rs.lastSuccess = time.Now()
		rs.mu.Unlock()
		rs.log.LogAttrs(ctx, slog.LevelDebug, "sync: pass done", slog.Bool("pull", full),
			slog.Duration("took", time.Since(start)), slog.Any("counts", t.counts()))
	case ctx.Err() != nil:
		// shutdown, not a failure
	default:
		e.noteFailure(rs, err)
	}
	return pushed, err
}

// noteFailure records err as rs's last error and logs it (rate-limited),
// redacted.
func (e *Engine) noteFailure(rs *remoteState, err error) {
	text := e.redact(err.Error())
	rs.mu.Lock()
	rs.lastError = text
	rs.lastErrorAt = time.Now()
	rs.mu.Unlock()
	rs.errLog.Do(func() {
		rs.log.Warn("sync: remote failed", slog.String("class", classify(err).Class.String()), slog.String("err", text))
	})
}

// redact replaces every remote's secret in s.
func (e *Engine) redact(s string) string {
	for _, r := range e.secrets {
		s = r.Redact(s)
	}
	return s
}

// redactErr returns err, or if its text carries a remote's secret, an
// error with the redacted text that unwraps to err.
func (e *Engine) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if text := e.redact(err.Error()); text != err.Error() {
		return &redactedError{err: err, text: text}
	}
	return err
}

// redactedError is an error whose text had a secret removed.
type redactedError struct {
	err  error
	text string
}

func (r *redactedError) Error() string { return r.text }
func (r *redactedError) Unwrap() error { return r.err }

// sleep waits d or until ctx is done. It reports false, at once, if ctx is
// done or ends before d has passed (no point waiting past the deadline).
func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// waitFor returns the wait before retrying after re: the backoff, at
// least the remote's Retry-After, at most the configured maximum. A wait
// cut to the maximum is counted (in t, or only in rs's totals if t is
// nil) and logged.
func (e *Engine) waitFor(ctx context.Context, rs *remoteState, t *tally, re *RemoteError) time.Duration {
	d := rs.backoffFor(re)
	if d <= e.o.maxWait {
		return d
	}
	if t != nil {
		t.add(cWaitsCapped, 1)
	} else {
		rs.totals[cWaitsCapped].Add(1)
	}
	rs.log.LogAttrs(ctx, slog.LevelWarn, "sync: remote asked for a wait longer than the maximum; waiting the maximum",
		slog.Duration("asked", d), slog.Duration("max", e.o.maxWait), slog.Int("status", re.Status))
	return e.o.maxWait
}

// backoffFor returns the wait before retrying after re, uncapped.
func (rs *remoteState) backoffFor(re *RemoteError) time.Duration {
	rs.boMu.Lock()
	defer rs.boMu.Unlock()
	var d time.Duration
	if re.WaitInFlight {
		d = rs.bo.short(rs.rnd)
	} else {
		d = rs.bo.next(rs.rnd)
	}
	return max(d, re.RetryAfter)
}

func (rs *remoteState) resetBackoff() {
	rs.boMu.Lock()
	rs.bo.reset()
	rs.boMu.Unlock()
}

// backoff is capped exponential backoff with jitter. Not safe for
// concurrent use.
type backoff struct {
	n         int
	base, max time.Duration
}

// next returns a random wait in [d/2, d] with d = min(base·2ⁿ, max) and
// counts a failure.
func (b *backoff) next(r *rand.Rand) time.Duration {
	d := b.max
	if b.n < 40 {
		if x := b.base << b.n; x > 0 && x < b.max {
			d = x
		}
	}
	b.n++
	return jitter(r, d)
}

// short returns a random wait in [base/2, base], without counting a
// failure.
func (b *backoff) short(r *rand.Rand) time.Duration { return jitter(r, b.base) }

func (b *backoff) reset() { b.n = 0 }

func jitter(r *rand.Rand, d time.Duration) time.Duration {
	half := d / 2
	return half + time.Duration(r.Int64N(int64(d-half)+1))
}
