package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/fleet"
)

// fleetFlags are sync's fleet settings.
type fleetFlags struct {
	url, member, stream string
}

// natsOptions builds the NATS connection options from the environment:
// credentials go through nats.go's own options and into a.secrets, so no
// output line can carry them.
func (a *app) natsOptions(member string) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("sendguard " + member),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true), // NATS down at start is not fatal: the guard goes on
	}
	if f := a.getenv("SENDGUARD_NATS_CREDS"); f != "" {
		opts = append(opts, nats.UserCredentials(f))
	}
	if tok := a.getenv("SENDGUARD_NATS_TOKEN"); tok != "" {
		a.secrets = append(a.secrets, tok)
		opts = append(opts, nats.Token(tok))
	}
	user, pass := a.getenv("SENDGUARD_NATS_USER"), a.getenv("SENDGUARD_NATS_PASSWORD")
	if pass != "" {
		a.secrets = append(a.secrets, pass)
	}
	if user != "" || pass != "" {
		opts = append(opts, nats.UserInfo(user, pass))
	}
	if ca := a.getenv("SENDGUARD_NATS_CA"); ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	cert, key := a.getenv("SENDGUARD_NATS_CERT"), a.getenv("SENDGUARD_NATS_KEY")
	if (cert == "") != (key == "") {
		return nil, errors.New("SENDGUARD_NATS_CERT and SENDGUARD_NATS_KEY go together")
	}
	if cert != "" {
		opts = append(opts, nats.ClientCert(cert, key))
	}
	return opts, nil
}

// natsURLs checks the server URLs (comma-separated) and adds any password
// in them to a.secrets.
func (a *app) natsURLs(s string) error {
	for _, u := range strings.Split(s, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Host == "" {
			return fmt.Errorf("--nats %q: want nats://HOST:PORT (comma-separated for several)", a.redactURL(u))
		}
		if p.User != nil {
			if pw, ok := p.User.Password(); ok && pw != "" {
				a.secrets = append(a.secrets, pw)
			} else if name := p.User.Username(); name != "" {
				a.secrets = append(a.secrets, name) // a token in the URL
			}
		}
	}
	return nil
}

// redactURL drops the user information from a URL for output.
func (a *app) redactURL(s string) string {
	if p, err := url.Parse(s); err == nil && p.User != nil {
		p.User = nil
		return p.String()
	}
	return a.redact(s)
}

// syncFleet joins the fleet and replicates until a signal; while this
// member holds the fleet's vendor lease it runs the vendor sync with
// remotes (none: it only replicates).
func (a *app) syncFleet(g *guard.Guard, ff fleetFlags, remotes []blocksync.Remote, interval time.Duration) int {
	if err := a.natsURLs(ff.url); err != nil {
		return a.failf("sync: %s", err)
	}
	opts, err := a.natsOptions(ff.member)
	if err != nil {
		return a.failf("sync: %s", err)
	}
	nc, err := nats.Connect(ff.url, opts...)
	if err != nil {
		return a.failf("sync: connect to NATS: %s", why(err))
	}
	defer nc.Close()
	names := make([]string, len(remotes))
	for i, r := range remotes {
		names[i] = r.Name()
	}
	log := slog.New(slog.NewTextHandler(&redactWriter{a: a}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := fleet.Config{Member: ff.member, Stream: ff.stream, Logger: log}
	if len(remotes) > 0 {
		cfg.Vendors = fleet.Vendors{
			Remotes: names,
			Run: func(ctx context.Context) error {
				e, err := blocksync.New(g.Replication(), remotes, blocksync.WithInterval(interval), blocksync.WithLogger(log))
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stderr, "sendguard: sync: %s holds the vendor lease: syncing %s\n", ff.member, strings.Join(names, ", "))
				return e.Run(ctx)
			},
		}
	}
	m, err := fleet.Join(g, nc, cfg)
	if err != nil {
		return a.failf("sync: %s", why(err))
	}
	fmt.Fprintf(a.stderr, "sendguard: sync: member %s of fleet %s at %s; stop with SIGINT or SIGTERM\n",
		ff.member, cmpOr(ff.stream, fleet.DefaultStream), a.redactURL(ff.url))
	ctx, stop := context.WithCancel(a.ctx)
	var wg gosync.WaitGroup
	wg.Go(func() { a.fleetReportLoop(ctx, m, interval) })
	err = m.Run(a.ctx)
	stop()
	wg.Wait()
	code := exitOK
	if err != nil {
		code = a.failf("sync: %s", why(err))
	}
	st := m.Stats()
	fmt.Fprintln(a.stdout, a.redact(fleetLine(st)))
	return code
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fleetLine is the one-line account of a member.
func fleetLine(st fleet.Stats) string {
	holder := st.LeaseHolder
	if holder == "" {
		holder = "none"
	}
	return fmt.Sprintf("fleet %s: member %s, applied %d, lag %d, unpublished %d, members %s, lease holder %s",
		st.Stream, st.Member, st.Applied, st.Lag, st.Unpublished, strings.Join(st.Members, ","), holder)
}

// fleetReportLoop writes the member's line to stderr when it changes, at
// most once per interval.
func (a *app) fleetReportLoop(ctx context.Context, m *fleet.Member, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := m.Stats()
		if st.At.IsZero() {
			continue
		}
		line := fleetLine(st)
		if line != last {
			fmt.Fprintf(a.stderr, "sendguard: sync: %s\n", a.redact(line))
			last = line
		}
	}
}

// redactWriter writes log lines to stderr with the secrets removed.
type redactWriter struct{ a *app }

func (w *redactWriter) Write(p []byte) (int, error) {
	_, err := fmt.Fprint(w.a.stderr, w.a.redact(string(p)))
	return len(p), err
}

// fleetStats returns the fleet figures a member saved in this database,
// none if it never joined a fleet.
func (a *app) fleetStats(g *guard.Guard) ([]stat, error) {
	st, ok, err := fleet.ReadStats(a.ctx, g.Replication())
	if err != nil || !ok {
		return nil, err
	}
	return []stat{
		{name: "fleet.stream", value: st.Stream},
		{name: "fleet.member", value: st.Member},
		{name: "fleet.applied", value: st.Applied},
		{name: "fleet.lag", value: st.Lag},
		{name: "fleet.published", value: st.Published},
		{name: "fleet.unpublished", value: st.Unpublished},
		{name: "fleet.members", value: strings.Join(st.Members, ",")},
		{name: "fleet.lease_holder", value: st.LeaseHolder},
		{name: "fleet.at", value: st.At},
	}, nil
}
