package main

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
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
