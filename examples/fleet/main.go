package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/sync/fleet"
)

func main() {
	dir, err := os.MkdirTemp("", "sendguard-fleet-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
	err = run(context.Background(), dir, os.Stdout)
	os.RemoveAll(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// member is one guard in the fleet, with its own directory and NATS
// connection.
type member struct {
	name   string
	dir    string
	g      *guard.Guard
	nc     *nats.Conn
	cancel context.CancelFunc
	done   chan error
}

func start(name, dir, url string) (*member, error) {
	g, err := guard.Open(dir)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		g.Close()
		return nil, err
	}
	m, err := fleet.Join(g, nc, fleet.Config{Member: name})
	if err != nil {
		nc.Close()
		g.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	mb := &member{name: name, dir: dir, g: g, nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { mb.done <- m.Run(ctx) }()
	return mb, nil
}

func (mb *member) stop() error {
	mb.cancel()
	err := <-mb.done
	mb.nc.Close()
	if cerr := mb.g.Close(); err == nil {
		err = cerr
	}
	return err
}

// arrival waits until recipient is blocked (or not) on mb and returns how
// long after since that was.
func arrival(ctx context.Context, mb *member, recipient string, blocked bool, since time.Time) (time.Duration, error) {
	rep := mb.g.Replication()
	timeout := time.After(10 * time.Second)
	for {
		ch := rep.Changes()
		v, err := mb.g.Check(ctx, recipient)
		if err != nil {
			return 0, err
		}
		if v.Blocked == blocked {
			return time.Since(since), nil
		}
		select {
		case <-ch:
		case <-timeout:
			return 0, fmt.Errorf("%s: %s still not %s after 10s", mb.name, recipient, word(blocked))
		}
	}
}

func word(blocked bool) string {
	if blocked {
		return "blocked"
	}
	return "allowed"
}

// answers prints what every member answers for recipient.
func answers(ctx context.Context, w io.Writer, recipient string, ms ...*member) error {
	var parts []string
	for _, mb := range ms {
		v, err := mb.g.Check(ctx, recipient)
		if err != nil {
			return err
		}
		parts = append(parts, mb.name+"="+word(v.Blocked))
	}
	fmt.Fprintf(w, "  answers for %s: %s\n", recipient, strings.Join(parts, " "))
	return nil
}

// propagate waits until every member of others has recipient blocked (or
// not) and prints how long each took after since.
func propagate(ctx context.Context, w io.Writer, recipient string, blocked bool, since time.Time, others ...*member) error {
	for _, mb := range others {
		d, err := arrival(ctx, mb, recipient, blocked, since)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s: %s after %v\n", mb.name, word(blocked), d.Round(10*time.Microsecond))
	}
	return nil
}

// run is the whole demo, in dir.
func run(ctx context.Context, dir string, w io.Writer) error {
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: filepath.Join(dir, "nats"), NoLog: true, NoSigs: true,
	})
	if err != nil {
		return err
	}
	go srv.Start()
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	if !srv.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("nats server not ready")
	}
	url := srv.ClientURL()
	ms := make([]*member, 3)
	for i, name := range []string{"api-1", "api-2", "api-3"} {
		if ms[i], err = start(name, filepath.Join(dir, name), url); err != nil {
			return err
		}
	}
	defer func() {
		for _, mb := range ms {
			if mb != nil {
				mb.stop()
			}
		}
	}()
	a, b, c := ms[0], ms[1], ms[2]
	fmt.Fprintln(w, "three members in one fleet: api-1, api-2, api-3")

	const ann = "ann@example.com"
	fmt.Fprintf(w, "api-1 blocks %s\n", ann)
	t0 := time.Now()
	if _, err := a.g.Block(ctx, "Ann@Example.com", "unsubscribed"); err != nil {
		return err
	}
	if err := propagate(ctx, w, ann, true, t0, b, c); err != nil {
		return err
	}
	if err := answers(ctx, w, ann, ms...); err != nil {
		return err
	}

	fmt.Fprintf(w, "api-2 unblocks %s\n", ann)
	t0 = time.Now()
	if _, err := b.g.Unblock(ctx, ann); err != nil {
		return err
	}
	if err := propagate(ctx, w, ann, false, t0, a, c); err != nil {
		return err
	}
	if err := answers(ctx, w, ann, ms...); err != nil {
		return err
	}

	const bob = "+14155550100"
	fmt.Fprintln(w, "api-3 stops; api-1 blocks", bob, "meanwhile")
	if err := c.stop(); err != nil {
		return err
	}
	ms[2] = nil
	if _, err := a.g.Block(ctx, bob, "STOP by SMS"); err != nil {
		return err
	}
	t0 = time.Now()
	fmt.Fprintln(w, "api-3 restarts from its directory")
	if c, err = start("api-3", c.dir, url); err != nil {
		return err
	}
	ms[2] = c
	if err := propagate(ctx, w, bob, true, t0, c); err != nil {
		return err
	}
	return answers(ctx, w, bob, ms...)
}
