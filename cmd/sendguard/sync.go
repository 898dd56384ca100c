package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/opencx"
)

// defaultSyncTimeout bounds sync --once.
const defaultSyncTimeout = 2 * time.Minute

// Names of the two remotes, as the engine's defaults give them: the
// sources of pulled blocks and, with "remote/", the change-log consumers.
const (
	nameOpenCX = "opencx"
	nameOcamba = "ocamba"
)

// vendorEnv reads one environment variable of the sync configuration.
type vendorEnv struct {
	a   *app
	err error // the first error
}

// pace returns the positive number in key, or 0 when key is unset.
func (v *vendorEnv) pace(key string) float64 {
	s := v.a.getenv(key)
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if (err != nil || !(f > 0) || f > 1e9) && v.err == nil {
		v.err = fmt.Errorf("%s=%q: want a positive number of requests", key, s)
	}
	return f
}

// errNoVendor: no vendor token in the environment. A fleet member may
// have none: it then only replicates.
var errNoVendor = errors.New("no vendor configured: set SENDGUARD_OPENCX_TOKEN or SENDGUARD_OCAMBA_TOKEN (see 'sendguard help sync')")

// remotes builds the remotes the environment configures. The tokens are
// added to a.secrets, so that no output line can carry them.
func (a *app) remotes() ([]blocksync.Remote, error) {
	v := &vendorEnv{a: a}
	var out []blocksync.Remote
	if tok := a.getenv("SENDGUARD_OPENCX_TOKEN"); tok != "" {
		cfg := opencx.Config{
			Token:             tok,
			BaseURL:           a.getenv("SENDGUARD_OPENCX_URL"),
			RequestsPerMinute: v.pace("SENDGUARD_OPENCX_RPM"),
		}
		if v.err != nil {
			return nil, v.err
		}
		c, err := opencx.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("OpenCX (SENDGUARD_OPENCX_TOKEN, SENDGUARD_OPENCX_URL): %s", why(err))
		}
		out = append(out, blocksync.NewOpenCX(c, blocksync.OpenCXOptions{Name: nameOpenCX}))
	}
	if tok := a.getenv("SENDGUARD_OCAMBA_TOKEN"); tok != "" {
		cfg := ocamba.Config{
			Token:             tok,
			BaseURL:           a.getenv("SENDGUARD_OCAMBA_URL"),
			RequestsPerSecond: v.pace("SENDGUARD_OCAMBA_RPS"),
			RequestsPerMinute: v.pace("SENDGUARD_OCAMBA_RPM"),
		}
		if v.err != nil {
			return nil, v.err
		}
		c, err := ocamba.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("Ocamba (SENDGUARD_OCAMBA_TOKEN, SENDGUARD_OCAMBA_URL): %s", why(err))
		}
		out = append(out, blocksync.NewOcamba(c, blocksync.OcambaOptions{Name: nameOcamba}))
	}
	if len(out) == 0 {
		return nil, errNoVendor
	}
	return out, nil
}

// sync pushes local blocks to the vendors and pulls theirs in: one pass
// with --once, else until a signal.
func (a *app) sync(args []string) int {
	fs, c := a.flags("sync")
	once := fs.Bool("once", false, "one pass per vendor, then exit")
	interval := fs.Duration("interval", blocksync.DefaultInterval, "time between passes")
	timeout := fs.Duration("timeout", defaultSyncTimeout, "with --once, how long to try")
	fullPull := fs.Duration("full-pull", blocksync.DefaultFullPull, "how often to read a vendor's whole list")
	forget := fs.String("forget", "", "drop everything kept for a vendor, then exit")
	var ff fleetFlags
	fs.StringVar(&ff.url, "nats", a.getenv("SENDGUARD_NATS_URL"), "NATS server URL(s): join a fleet")
	fs.StringVar(&ff.member, "member", a.getenv("SENDGUARD_MEMBER"), "this member's name in the fleet")
	fs.StringVar(&ff.stream, "stream", a.getenv("SENDGUARD_NATS_STREAM"), "the fleet's JetStream stream (default SENDGUARD)")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	switch {
	case len(pos) > 0:
		return a.failf("sync: unexpected argument %q (see 'sendguard help sync')", pos[0])
	case *forget != "":
		return a.syncForget(c, *forget)
	case *interval <= 0:
		return a.failf("sync: --interval %v: must be positive", *interval)
	case *timeout <= 0:
		return a.failf("sync: --timeout %v: must be positive", *timeout)
	case *fullPull <= 0:
		return a.failf("sync: --full-pull %v: must be positive", *fullPull)
	case ff.url != "" && *once:
		return a.failf("sync: --once does not go with --nats: a fleet member runs until stopped")
	case ff.url != "" && ff.member == "":
		return a.failf("sync: --nats needs --member NAME (or SENDGUARD_MEMBER): this instance's stable, unique name")
	case ff.url == "" && ff.member != "":
		return a.failf("sync: --member needs --nats URL (or SENDGUARD_NATS_URL)")
	}
	remotes, err := a.remotes()
	if err != nil && (ff.url == "" || !errors.Is(err, errNoVendor)) {
		return a.failf("sync: %s", err)
	}
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	if ff.url != "" {
		return a.closeGuard(g, c, a.syncFleet(g, ff, remotes, *interval))
	}
	e, err := blocksync.New(g.Replication(), remotes, blocksync.WithInterval(*interval), blocksync.WithFullPull(*fullPull))
	if err != nil {
		return a.closeGuard(g, c, a.failf("sync: %s", why(err)))
	}
	if *once {
		code = a.syncOnce(e, *timeout)
	} else {
		names := make([]string, len(remotes))
		for i, r := range remotes {
			names[i] = r.Name()
		}
		code = a.syncRun(e, names, *interval)
	}
	return a.closeGuard(g, c, code)
}

// syncForget drops the offset, state and dead letters kept for the
// vendor called name, so that it no longer holds the change log back. It
// needs no token. Closing the guard trims what it held.
func (a *app) syncForget(c *common, name string) int {
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	e, err := blocksync.New(g.Replication(), nil)
	if err != nil {
		return a.closeGuard(g, c, a.failf("sync: %s", why(err)))
	}
	had, err := e.HasState(a.ctx, name)
	if err == nil {
		err = e.Forget(a.ctx, name) // also an offset registered at 0
	}
	if err != nil {
		return a.closeGuard(g, c, a.failf("sync: --forget %s: %s", name, why(err)))
	}
	if had {
		fmt.Fprintf(a.stdout, "forgot\t%s\n", name)
	} else {
		fmt.Fprintf(a.stdout, "not-known\t%s\n", name)
	}
	return a.closeGuard(g, c, exitOK)
}

// syncOnce makes one pass per remote and reports it: one summary line per
// remote and one line per record dead-lettered in this pass, on stdout.
func (a *app) syncOnce(e *blocksync.Engine, timeout time.Duration) int {
	before, err := deadLetterSeqs(a.ctx, e)
	if err != nil {
		return a.failf("sync: %s", why(err))
	}
	ctx, cancel := context.WithTimeout(a.ctx, timeout)
	rep := syncPasses(ctx, e)
	cancel()

	code := exitOK
	for _, rr := range rep.Remotes {
		fmt.Fprintln(a.stdout, a.redact(summaryLine(rr.Remote, rr.Counts, rr.Pending)))
		var re *blocksync.RemoteError
		switch {
		case rr.Err == nil:
		case a.ctx.Err() != nil:
			a.failf("sync: %s: interrupted", rr.Remote)
			code = max(code, exitFound)
		case errors.Is(rr.Err, context.DeadlineExceeded) || errors.Is(rr.Err, context.Canceled):
			a.failf("sync: %s: not finished within --timeout %v", rr.Remote, timeout)
			code = max(code, exitFound)
		case errors.As(rr.Err, &re) && re.Class == blocksync.Temporary:
			// The engine stopped retrying because the next try would
			// come after the deadline.
			a.failf("sync: %s: not finished within --timeout %v: last error: %s", rr.Remote, timeout, why(rr.Err))
			code = max(code, exitFound)
		default:
			a.failf("sync: %s: %s", rr.Remote, why(rr.Err))
			code = exitErr
		}
		if rr.Pending > 0 {
			code = max(code, exitFound)
		}
	}
	dead, err := e.DeadLetters(context.WithoutCancel(a.ctx), "")
	if err != nil {
		return a.failf("sync: %s", why(err))
	}
	for _, d := range dead {
		if !before[deadKey(d)] {
			a.printDeadLetter(d)
		}
	}
	return code
}

// maxOncePasses bounds the passes of sync --once.
const maxOncePasses = 3

// syncPasses makes one pass per remote, and more (up to maxOncePasses)
// while a pass pulled blocks that are still to be pushed to another remote
// (remotes pass in parallel, so a block one pulls may come after the
// other's push). The report adds up the passes' counts, has the last
// pass's errors, and the pending counts as the store has them at the end.
func syncPasses(ctx context.Context, e *blocksync.Engine) blocksync.Report {
	var total blocksync.Report
	for pass := 1; ; pass++ {
		rep, err := e.SyncOnce(ctx)
		pulled := 0
		for i, rr := range rep.Remotes {
			pulled += rr.Pulled
			if pass > 1 {
				rr.Counts = addCounts(total.Remotes[i].Counts, rr.Counts)
			}
			rep.Remotes[i] = rr
		}
		total = rep
		// A remote's own pending count was taken when its pass ended,
		// before the others' pulls: count again.
		if stats, serr := e.Stats(context.WithoutCancel(ctx)); serr == nil && len(stats) == len(total.Remotes) {
			for i, s := range stats {
				total.Remotes[i].Pending = s.Pending
			}
		}
		if err != nil || total.Pending() == 0 || pulled == 0 || pass == maxOncePasses || ctx.Err() != nil {
			return total
		}
	}
}

// addCounts returns the sum of two passes' counts.
func addCounts(a, b blocksync.Counts) blocksync.Counts {
	return blocksync.Counts{
		Pushed:           a.Pushed + b.Pushed,
		Pulled:           a.Pulled + b.Pulled,
		SkippedMasked:    a.SkippedMasked + b.SkippedMasked,
		SkippedUnblocked: a.SkippedUnblocked + b.SkippedUnblocked,
		Invalid:          a.Invalid + b.Invalid,
		DeadLettered:     a.DeadLettered + b.DeadLettered,
		Duplicates:       a.Duplicates + b.Duplicates,
		Resent:           a.Resent + b.Resent,
		Retries:          a.Retries + b.Retries,
		WaitsCapped:      a.WaitsCapped + b.WaitsCapped,
		AlreadyListed:    a.AlreadyListed + b.AlreadyListed,
	}
}

// printDeadLetter writes d as sync --once and dead-letters list it:
// dead-letter<TAB>NAME<TAB>CANONICAL<TAB>REASON.
func (a *app) printDeadLetter(d blocksync.DeadLetter) {
	fmt.Fprintf(a.stdout, "dead-letter\t%s\t%s\t%s\n", d.Remote,
		d.Record.Contact.Value, field(a.redact(d.Reason)))
}

// deadKey identifies a dead letter.
func deadKey(d blocksync.DeadLetter) string {
	return d.Remote + "\x00" + strconv.FormatUint(d.Record.Seq, 10) + "\x00" + d.At.String()
}

// deadLetterSeqs returns the keys of the dead letters already stored.
func deadLetterSeqs(ctx context.Context, e *blocksync.Engine) (map[string]bool, error) {
	dead, err := e.DeadLetters(ctx, "")
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(dead))
	for _, d := range dead {
		seen[deadKey(d)] = true
	}
	return seen, nil
}

// summaryLine is the one-line account of a remote's sync.
func summaryLine(name string, c blocksync.Counts, pending int) string {
	return fmt.Sprintf("%s: pushed %d, pulled %d, dead-lettered %d, pending %d, skipped masked %d, skipped unblocked %d, invalid %d",
		name, c.Pushed, c.Pulled, c.DeadLettered, pending, c.SkippedMasked, c.SkippedUnblocked, c.Invalid)
}

// syncRun runs the engine until a signal ends a.ctx. Every interval, a
// remote whose state changed gets a line on stderr; at the end, each
// remote's summary since the start goes to stdout.
func (a *app) syncRun(e *blocksync.Engine, names []string, interval time.Duration) int {
	fmt.Fprintf(a.stderr, "sendguard: sync: running with %s; stop with SIGINT or SIGTERM\n", strings.Join(names, ", "))
	ctx, stop := context.WithCancel(a.ctx)
	var wg gosync.WaitGroup
	wg.Go(func() { a.reportLoop(ctx, e, interval) })
	err := e.Run(a.ctx)
	stop()
	wg.Wait()

	code := exitOK
	if err != nil && a.ctx.Err() == nil {
		code = a.failf("sync: %s", why(err))
	}
	stats, serr := e.Stats(context.WithoutCancel(a.ctx))
	if serr != nil {
		return a.failf("sync: %s", why(serr))
	}
	for _, s := range stats {
		fmt.Fprintln(a.stdout, a.redact(summaryLine(s.Remote, s.Counts, s.Pending)))
	}
	return code
}

// remoteSnapshot is what reportLoop compares between two reports.
type remoteSnapshot struct {
	pending, dead int
	success       time.Time
	errAt         time.Time
}

// reportLoop writes a line to stderr for each remote whose state changed,
// at most once per interval, until ctx is done.
func (a *app) reportLoop(ctx context.Context, e *blocksync.Engine, interval time.Duration) {
	last := map[string]remoteSnapshot{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		stats, err := e.Stats(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(a.stderr, "sendguard: sync: stats: %s\n", a.redact(why(err)))
			}
			continue
		}
		for _, s := range stats {
			now := remoteSnapshot{pending: s.Pending, dead: s.DeadLetters, success: s.LastSuccess, errAt: s.LastErrorAt}
			prev, seen := last[s.Remote]
			last[s.Remote] = now
			if seen && prev == now {
				continue
			}
			if !s.LastErrorAt.IsZero() && s.LastErrorAt != prev.errAt && s.LastErrorAt.After(s.LastSuccess) {
				fmt.Fprintf(a.stderr, "sendguard: sync: %s: error (retrying): %s\n", s.Remote, a.redact(oneLine(s.LastError)))
			}
			state := "not synced yet"
			if !s.LastSuccess.IsZero() {
				state = "synced at " + rfc3339(s.LastSuccess)
			}
			fmt.Fprintf(a.stderr, "sendguard: sync: %s: %s, pending %d, dead letters %d\n", s.Remote, state, s.Pending, s.DeadLetters)
		}
	}
}

// syncStats returns each remote's sync figures for the stats command,
// for the remotes the environment configures or this database has sync
// state for (an offset, dead letters, remote state). The figures need no
// request: the remotes are made without a client.
func (a *app) syncStats(g *guard.Guard) ([]stat, error) {
	rep := g.Replication()
	probe, err := blocksync.New(rep, nil)
	if err != nil {
		return nil, err
	}
	var remotes []blocksync.Remote
	for _, name := range []string{nameOpenCX, nameOcamba} {
		ok := a.getenv("SENDGUARD_"+strings.ToUpper(name)+"_TOKEN") != ""
		if !ok {
			if ok, err = probe.HasState(a.ctx, name); err != nil {
				return nil, err
			}
		}
		if !ok {
			continue
		}
		if name == nameOpenCX {
			remotes = append(remotes, blocksync.NewOpenCX(nil, blocksync.OpenCXOptions{Name: name}))
		} else {
			remotes = append(remotes, blocksync.NewOcamba(nil, blocksync.OcambaOptions{Name: name}))
		}
	}
	if len(remotes) == 0 {
		return nil, nil
	}
	e, err := blocksync.New(rep, remotes)
	if err != nil {
		return nil, err
	}
	rs, err := e.Stats(a.ctx)
	if err != nil {
		return nil, err
	}
	var out []stat
	for _, s := range rs {
		p := "sync." + s.Remote + "."
		out = append(out,
			stat{name: p + "offset", value: s.Offset},
			stat{name: p + "lag", value: s.Lag},
			stat{name: p + "pending", value: s.Pending},
			stat{name: p + "dead_letters", value: s.DeadLetters},
			stat{name: p + "still_listed", value: s.StillListed},
		)
	}
	return out, nil
}
