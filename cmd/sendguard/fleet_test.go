package main

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const natsToken = "nats-SECRET-token"

// startNATS starts an embedded JetStream server that wants natsToken.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoLog: true, NoSigs: true, Authorization: natsToken})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

// fleetMember is a running "sendguard sync --nats" process.
type fleetMember struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	lines  chan string
	stderr []string
}

func startFleetMember(t *testing.T, s *sandbox, url, member string) *fleetMember {
	t.Helper()
	fm := &fleetMember{lines: make(chan string, 100)}
	fm.cmd = exec.Command(binPath, "sync", "--interval", "100ms")
	fm.cmd.Dir = s.dir
	fm.cmd.Env = append(baseEnv(), "SENDGUARD_DB="+s.db, "SENDGUARD_NATS_URL="+url,
		"SENDGUARD_MEMBER="+member, "SENDGUARD_NATS_TOKEN="+natsToken)
	fm.cmd.Stdout = &fm.stdout
	errPipe, err := fm.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := fm.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fm.cmd.Process.Kill() })
	go func() {
		defer close(fm.lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			fm.lines <- sc.Text()
		}
	}()
	return fm
}

// waitLine reads stderr until a line contains all of parts.
func (fm *fleetMember) waitLine(t *testing.T, parts ...string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-fm.lines:
			if !ok {
				t.Fatalf("sync ended early:\n%s", strings.Join(fm.stderr, "\n"))
			}
			fm.stderr = append(fm.stderr, l)
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q within 30s:\n%s", parts, strings.Join(fm.stderr, "\n"))
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (fm *fleetMember) stop(t *testing.T) result {
	t.Helper()
	if err := fm.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range fm.lines {
		fm.stderr = append(fm.stderr, l)
	}
	err := fm.cmd.Wait()
	r := result{stdout: fm.stdout.String(), stderr: strings.Join(fm.stderr, "\n")}
	if err != nil {
		t.Fatalf("sync after SIGTERM: %v\n%s", err, r.stderr)
	}
	return r
}

// TestSyncFleet: two databases joined in a fleet by "sync --nats" agree;
// stats shows the fleet; the NATS token never shows.
func TestSyncFleet(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	s1, s2 := newSandbox(t), newSandbox(t)
	s1.run("", "block", "fleet@example.com").want(t, 0)
	s2.run("", "block", "+14155550142").want(t, 0)

	m1 := startFleetMember(t, s1, url, "api-1")
	m2 := startFleetMember(t, s2, url, "api-2")
	m1.waitLine(t, "member api-1 of fleet SENDGUARD")
	for _, fm := range []*fleetMember{m1, m2} {
		fm.waitLine(t, "applied 2,", "lag 0", "members api-1,api-2")
	}
	r1, r2 := m1.stop(t), m2.stop(t)
	for _, r := range []result{r1, r2} {
		noTokens(t, r)
		if strings.Contains(r.stdout+r.stderr, natsToken) {
			t.Fatalf("output shows the NATS token:\n%s\n%s", r.stdout, r.stderr)
		}
	}
	if !strings.Contains(r2.stdout, "fleet SENDGUARD: member api-2, applied 2") {
		t.Errorf("final line: %q", r2.stdout)
	}
	// Each database now blocks what the other blocked.
	s2.run("", "check", "fleet@example.com").want(t, 1)
	s1.run("", "check", "+14155550142").want(t, 1)
	out := s2.run("", "stats").want(t, 0).stdout
	for _, want := range []string{"fleet.member\tapi-2", "fleet.applied\t2", "fleet.members\tapi-1,api-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
}

func TestSyncFleetUsage(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--nats", "nats://127.0.0.1:1"}, "--nats needs --member"},
		{[]string{"sync", "--member", "a"}, "--member needs --nats"},
		{[]string{"sync", "--nats", "nats://127.0.0.1:1", "--member", "a", "--once"}, "--once does not go with --nats"},
		{[]string{"sync", "--nats", "nats://127.0.0.1:1", "--member", "a b"}, "member name"},
	} {
		r := s.run("", tc.args...).want(t, 2)
		wantOneErrorLine(t, r, tc.want)
	}
}

// TestServeFleet: two serve processes on two databases in one fleet. A
// block made through one's admin API is answered blocked by the other's;
// /metrics shows the fleet; SIGTERM stops both cleanly (exit 0), and the
// NATS token never shows.
func TestServeFleet(t *testing.T) {
	t.Parallel()
	url := startNATS(t)
	s1, s2 := newSandbox(t), newSandbox(t)
	env := func(member string) []string {
		return []string{"SENDGUARD_NATS_URL=" + url, "SENDGUARD_MEMBER=" + member, "SENDGUARD_NATS_TOKEN=" + natsToken}
	}
	p1 := startServe(t, s1, env("web-1"))
	p2 := startServe(t, s2, nil, "--nats", url, "--member", "web-2", "--stream", "SG_SERVE")
	// p2 is in another stream: it must not see p1's block. p3 is in p1's.
	s3 := newSandbox(t)
	p3 := startServe(t, s3, env("web-3"))

	const rcpt = "fleet-serve@example.com"
	if p3.checkOne(rcpt).Blocked {
		t.Fatal("blocked before any block")
	}
	p1.api("POST", "/v1/blocks", map[string]any{"recipients": []string{rcpt}, "reason": "complaint"}).want(t, 200, nil)
	deadline := time.Now().Add(10 * time.Second)
	for !p3.checkOne(rcpt).Blocked {
		if time.Now().After(deadline) {
			t.Fatalf("the other member does not answer blocked within 10s:\n%s\n%s", p1.logs(), p3.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := p3.checkOne(rcpt); got.Reason != "complaint" {
		t.Errorf("replicated block: %+v", got)
	}

	// The fleet's instruments are on /metrics once a heartbeat has been.
	deadline = time.Now().Add(10 * time.Second)
	for {
		body := p3.do("GET", "/metrics", "", "", nil).want(t, 200, nil).body
		parser := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("/metrics is not Prometheus text: %v", err)
		}
		gauge := func(name string) (float64, bool) {
			f, ok := fams[name]
			if !ok || len(f.GetMetric()) != 1 {
				return 0, false
			}
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
		members, _ := gauge("sendguard_fleet_members")
		applied, ok := gauge("sendguard_fleet_applied")
		if ok && members == 2 && applied >= 1 {
			if lag, _ := gauge("sendguard_fleet_lag"); lag != 0 {
				t.Errorf("/metrics: fleet lag %v, want 0:\n%s", lag, body)
			}
			if c, _ := gauge("sendguard_fleet_connected"); c != 1 {
				t.Errorf("/metrics: fleet connected %v, want 1:\n%s", c, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks the fleet (2 members, applied ≥ 1):\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, p := range []*serveProc{p1, p2, p3} {
		if code, took := p.stop(); code != 0 {
			t.Fatalf("serve exited %d after SIGTERM (in %v):\n%s", code, took, p.logs())
		}
		if logs := p.logs(); strings.Contains(logs, natsToken) {
			t.Fatalf("serve's logs show the NATS token:\n%s", logs)
		}
	}
	if l := p1.logs(); !strings.Contains(l, "member web-1") {
		t.Errorf("p1's last line lacks the fleet:\n%s", l)
	}
	// p2 was in another stream: its database does not have the block.
	s2.run("", "check", rcpt).want(t, 0)
	s3.run("", "check", rcpt).want(t, 1)
	out := s3.run("", "stats").want(t, 0).stdout
	for _, want := range []string{"fleet.member\tweb-3", "fleet.stream\tSENDGUARD"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
}

// TestServeFleetNATSDown: NATS unreachable is not an error for serve: it
// starts, blocks and checks from its own database, is ready, and stops on
// SIGTERM with exit 0 within the 10 s budget.
func TestServeFleetNATSDown(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a port nothing answers on once closed
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close()
	p := startServe(t, s, []string{"SENDGUARD_NATS_TOKEN=" + natsToken}, "--nats", url, "--member", "lonely")
	p.do("GET", "/readyz", "", "", nil).want(t, 200, nil)
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"down@example.com"}}).want(t, 200, nil)
	if !p.checkOne("down@example.com").Blocked {
		t.Fatal("a block made while NATS is down is not enforced locally")
	}
	code, took := p.stop()
	if code != 0 || took > 10*time.Second {
		t.Fatalf("serve exited %d after %v, want 0 within 10s:\n%s", code, took, p.logs())
	}
	if strings.Contains(p.logs(), natsToken) {
		t.Fatalf("logs show the NATS token:\n%s", p.logs())
	}
	out := s.run("", "stats").want(t, 0).stdout
	// The block waits in the change log for the fleet, and stats says
	// this database is a fleet member.
	for _, want := range []string{"change_log.consumers.fleet.lag\t1", "fleet.member\tlonely", "fleet.applied\t0"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
}
