package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
	"github.com/sendguard/sendguard/sync/fleet"
)

// jsServer is an embedded JetStream server on a store under the test's
// temporary directory; restart keeps the store and the port.
type jsServer struct {
	t    testing.TB
	dir  string
	port int
	sync bool // SyncAlways: an acknowledged message is on disk
	s    *server.Server
}

// startServer starts a server that syncs every message to disk (the
// tests restart it and want what was acknowledged).
func startServer(t testing.TB) *jsServer { return startServerSync(t, true) }

// startServerSync starts a server, syncing every message or, like a
// nats-server -js with default settings, every two minutes.
func startServerSync(t testing.TB, sync bool) *jsServer {
	t.Helper()
	js := &jsServer{t: t, dir: t.TempDir(), port: -1, sync: sync}
	js.start()
	t.Cleanup(js.stop)
	return js
}

func (js *jsServer) start() {
	js.t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: js.port, JetStream: true, StoreDir: js.dir,
		NoLog: true, NoSigs: true, SyncAlways: js.sync,
	})
	if err != nil {
		js.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		js.t.Fatal("nats server not ready")
	}
	js.s = s
	js.port = s.Addr().(*net.TCPAddr).Port
}

func (js *jsServer) stop() {
	if js.s != nil {
		js.s.Shutdown()
		js.s.WaitForShutdown()
		js.s = nil
	}
}

func (js *jsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", js.port) }

// connect dials url with quick reconnects that never give up.
func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.RetryOnFailedConnect(true), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

// member is a guard on disk in the fleet, running until stop.
type member struct {
	t      testing.TB
	name   string
	dir    string
	url    string
	cfg    fleet.Config
	g      *guard.Guard
	nc     *nats.Conn
	m      *fleet.Member
	cancel context.CancelFunc
	done   chan error
}

func newMember(t testing.TB, name, url string, cfg fleet.Config) *member {
	t.Helper()
	cfg.Member = name
	mb := &member{t: t, name: name, dir: filepath.Join(t.TempDir(), name), url: url, cfg: cfg}
	mb.open()
	mb.start()
	t.Cleanup(mb.close)
	return mb
}

func (mb *member) open() {
	mb.t.Helper()
	g, err := guard.Open(mb.dir, guard.WithSnapshot(false))
	if err != nil {
		mb.t.Fatal(err)
	}
	mb.g = g
	mb.nc = connect(mb.t, mb.url)
	m, err := fleet.Join(g, mb.nc, mb.cfg)
	if err != nil {
		mb.t.Fatal(err)
	}
	mb.m = m
}

func (mb *member) start() {
	ctx, cancel := context.WithCancel(context.Background())
	mb.cancel = cancel
	mb.done = make(chan error, 1)
	go func() { mb.done <- mb.m.Run(ctx) }()
}

// stopRun ends Run and checks that it returned nil.
func (mb *member) stopRun() {
	mb.t.Helper()
	if mb.cancel == nil {
		return
	}
	mb.cancel()
	mb.cancel = nil
	select {
	case err := <-mb.done:
		if err != nil {
			mb.t.Errorf("%s: Run = %v", mb.name, err)
		}
	case <-time.After(20 * time.Second):
		mb.t.Fatalf("%s: Run did not return", mb.name)
	}
}

// close stops the member and closes its connection and guard.
func (mb *member) close() {
	mb.stopRun()
	if mb.nc != nil {
		mb.nc.Close()
		mb.nc = nil
	}
	if mb.g != nil {
		if err := mb.g.Close(); err != nil {
			mb.t.Errorf("%s: close guard: %v", mb.name, err)
		}
		mb.g = nil
	}
}

// state is a guard's blocklist as a sorted list of "kind value expiry".
func state(t testing.TB, g *guard.Guard) []string {
	t.Helper()
	var out []string
	err := g.Scan(context.Background(), func(e storage.Entry) error {
		exp := "never"
		if !e.ExpiresAt.IsZero() {
			exp = e.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		out = append(out, e.Contact.Kind.String()+" "+e.Contact.Value+" "+exp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// converge waits until every member's state is the same, and returns it;
// it fails the test with the differences after timeout.
func converge(t testing.TB, timeout time.Duration, ms ...*member) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		states := make([][]string, len(ms))
		same := true
		for i, mb := range ms {
			states[i] = state(t, mb.g)
			if i > 0 && !slices.Equal(states[i], states[0]) {
				same = false
			}
		}
		if same {
			return states[0]
		}
		if time.Now().After(deadline) {
			for i := 1; i < len(ms); i++ {
				t.Errorf("%s vs %s: %s", ms[0].name, ms[i].name, diff(states[0], states[i]))
			}
			t.FailNow()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func diff(a, b []string) string {
	var only []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			only = append(only, "-"+x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			only = append(only, "+"+x)
		}
	}
	if len(only) > 12 {
		only = append(only[:12], fmt.Sprintf("… (%d differences)", len(only)))
	}
	return strings.Join(only, ", ")
}

// blocked waits until Check on mb says recipient is blocked (want) or not.
func waitCheck(t testing.TB, mb *member, recipient string, want bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, err := mb.g.Check(context.Background(), recipient)
		if err != nil {
			t.Fatal(err)
		}
		if v.Blocked == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: Check(%s).Blocked = %v after %v, want %v", mb.name, recipient, v.Blocked, timeout, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// proxy is a TCP proxy between clients and the server, which can cut
// every connection and refuse new ones until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     gosync.Mutex
	cut    bool
	conns  []net.Conn
}

func startProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	return p
}

func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, up); up.Close(); c.Close() }()
	}
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}
