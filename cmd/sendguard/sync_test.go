package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// Tokens the tests give the vendors: no output may ever show them.
const (
	cxToken = "ocx_live_SECRET-cx-4f9a1c"
	ocToken = "ocamba-SECRET-tok-77b2e0"
)

// fakes starts both vendor fakes on loopback TCP (the binary is another
// process) without rate limits, and returns the environment that points
// the binary at them with a fast pace.
func fakes(t *testing.T) (*opencxtest.Server, *ocambatest.Server, []string) {
	t.Helper()
	cx := opencxtest.NewServer(opencxtest.Options{Token: cxToken, RequestsPerMinute: -1})
	t.Cleanup(cx.Close)
	oc := ocambatest.NewServer(ocambatest.Options{Token: ocToken, RequestsPerSecond: -1, RequestsPerMinute: -1})
	t.Cleanup(oc.Close)
	publish(t)
	env := []string{
		"SENDGUARD_OPENCX_TOKEN=" + cxToken, "SENDGUARD_OPENCX_URL=" + cx.URL(), "SENDGUARD_OPENCX_RPM=60000",
		"SENDGUARD_OCAMBA_TOKEN=" + ocToken, "SENDGUARD_OCAMBA_URL=" + oc.URL(),
		"SENDGUARD_OCAMBA_RPS=1000", "SENDGUARD_OCAMBA_RPM=60000",
	}
	return cx, oc, env
}

// publish makes what this goroutine wrote so far (a fake server's fields)
// happen before what the fakes' handlers read when the binary, another
// process, calls them. The race detector sees no such edge through
// another process: it counts a write to any file descriptor as a release
// and a read as an acquire, so one write on a pipe gives it.
// (opencxtest and ocambatest set their embedded server after it starts
// serving; until they do not, this keeps -race quiet.)
func publish(t *testing.T) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if _, err := w.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
}

// noTokens fails if a run's output shows a token.
func noTokens(t *testing.T, r result) {
	t.Helper()
	for _, tok := range []string{cxToken, ocToken, "SECRET"} {
		if strings.Contains(r.stdout, tok) || strings.Contains(r.stderr, tok) {
			t.Fatalf("output shows a token:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
		}
	}
}

func TestSyncOnce(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, oc, env := fakes(t)
	s.env = env

	s.run("", "block", "--reason", "bounced", "alice@example.com", "+1 415 555 0100", "spam.test", "josé@example.com").want(t, 0)
	cx.Seed(opencxtest.Contact{Email: "cx@vendor.example", Reason: "cx says"})
	oc.Seed(ocambatest.Entry{Contact: "+447946000001", Description: "oc says"}, ocambatest.Entry{Contact: "oc@vendor.example", Description: "oc too"})

	r := s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)
	noTokens(t, r)
	var summaries, dead []string
	for _, l := range lines(r.stdout) {
		if strings.HasPrefix(l, "dead-letter\t") {
			dead = append(dead, l)
		} else {
			summaries = append(summaries, l)
		}
	}
	if len(summaries) != 2 || !strings.HasPrefix(summaries[0], "opencx: pushed ") || !strings.HasPrefix(summaries[1], "ocamba: pushed ") {
		t.Fatalf("summaries:\n%s", r.stdout)
	}
	for _, sum := range summaries {
		if !strings.Contains(sum, ", pending 0,") {
			t.Fatalf("summary %q: want pending 0", sum)
		}
	}
	// OpenCX refuses the non-ASCII address by its documented pattern.
	if len(dead) == 0 || !slices.ContainsFunc(dead, func(l string) bool {
		f := strings.Split(l, "\t")
		return len(f) == 4 && f[1] == "opencx" && f[2] == "josé@example.com" && f[3] != ""
	}) {
		t.Fatalf("dead letters:\n%s", strings.Join(dead, "\n"))
	}

	// Pushed to the vendors (and mirrored from one to the other)...
	cxEmails := map[string]bool{}
	for _, c := range cx.Contacts() {
		cxEmails[strings.ToLower(c.Email)] = true
	}
	for _, e := range []string{"alice@example.com", "oc@vendor.example"} {
		if !cxEmails[e] {
			t.Errorf("OpenCX lacks %s: %v", e, cxEmails)
		}
	}
	if !slices.ContainsFunc(cx.Domains(), func(d opencxtest.Domain) bool { return d.Domain == "spam.test" }) {
		t.Errorf("OpenCX lacks the domain: %v", cx.Domains())
	}
	ocContacts := map[string]bool{}
	for _, e := range oc.Blocked() {
		ocContacts[e.Contact] = true
	}
	for _, c := range []string{"alice@example.com", "+14155550100", "cx@vendor.example"} {
		if !ocContacts[c] {
			t.Errorf("Ocamba lacks %s: %v", c, ocContacts)
		}
	}
	// ...and pulled from them, with the vendor as source.
	r = s.run("", "check", "cx@vendor.example", "+447946000001").want(t, 1)
	wantLines(t, r.stdout, "blocked\tcx@vendor.example\tcx says\topencx\tcx@vendor.example", "blocked\t+447946000001\toc says\tocamba\t+447946000001")

	// stats shows the sync's state.
	st := s.run("", "stats").want(t, 0).stdout
	for _, want := range []string{"sync.opencx.pending\t0\n", "sync.ocamba.pending\t0\n", "sync.opencx.dead_letters\t1\n"} {
		if !strings.Contains(st, want) {
			t.Errorf("stats lacks %q:\n%s", want, st)
		}
	}

	// ...also without the vendors' environment, from the state in the
	// database.
	st = s.runEnv([]string{"SENDGUARD_DB=" + s.db}, "", "stats").want(t, 0).stdout
	if !strings.Contains(st, "sync.ocamba.dead_letters\t1\n") || !strings.Contains(st, "sync.opencx.offset\t") {
		t.Errorf("stats without vendor environment:\n%s", st)
	}

	// A second pass has nothing to push and lists no old dead letter.
	requests := len(cx.Requests())
	r = s.run("", "sync", "--once").want(t, 0)
	noTokens(t, r)
	if strings.Contains(r.stdout, "dead-letter\t") || !strings.Contains(r.stdout, "opencx: pushed 0,") {
		t.Fatalf("second pass:\n%s", r.stdout)
	}
	for _, req := range cx.Requests()[requests:] {
		if req.Method == "POST" {
			t.Fatalf("second pass pushed again: %+v", req)
		}
	}

	// dead-letters lists what the first pass reported, without the
	// vendors' environment; --vendor narrows it.
	r = s.runEnv([]string{"SENDGUARD_DB=" + s.db}, "", "dead-letters").want(t, 0)
	if got := lines(r.stdout); !slices.Equal(got, dead) {
		t.Fatalf("dead-letters:\n%s\nwant:\n%s", r.stdout, strings.Join(dead, "\n"))
	}
	r = s.run("", "dead-letters", "--vendor", "opencx").want(t, 0)
	for _, l := range lines(r.stdout) {
		if !strings.HasPrefix(l, "dead-letter\topencx\t") {
			t.Fatalf("--vendor opencx listed %q", l)
		}
	}
	if len(lines(r.stdout)) != 1 {
		t.Fatalf("--vendor opencx:\n%s", r.stdout)
	}
	wantOneErrorLine(t, s.run("", "dead-letters", "--vendor", "mailchimp").want(t, 2), "--vendor", "mailchimp")

	// --retry puts them back in the queues: none is left, and the next
	// pass offers them to the vendors again, which refuse them again.
	r = s.run("", "dead-letters", "--retry").want(t, 0)
	wantLines(t, r.stdout, fmt.Sprintf("retried %d", len(dead)))
	wantLines(t, s.run("", "dead-letters").want(t, 0).stdout)
	r = s.run("", "sync", "--once").want(t, 0)
	noTokens(t, r)
	var again []string
	for _, l := range lines(r.stdout) {
		if strings.HasPrefix(l, "dead-letter\t") {
			again = append(again, l)
		}
	}
	if !slices.Equal(again, dead) {
		t.Fatalf("after --retry, the pass dead-lettered:\n%s\nwant:\n%s", strings.Join(again, "\n"), strings.Join(dead, "\n"))
	}
}

func TestSyncOncePending(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx := opencxtest.NewServer(opencxtest.Options{Token: cxToken, RequestsPerMinute: -1})
	defer cx.Close()
	cx.SetFaults(opencxtest.Faults{Method: "POST", ServerError: opencxtest.Fault{Prob: 1}})
	publish(t)
	s.env = []string{"SENDGUARD_OPENCX_TOKEN=" + cxToken, "SENDGUARD_OPENCX_URL=" + cx.URL(), "SENDGUARD_OPENCX_RPM=60000"}
	s.run("", "block", "stuck@example.com").want(t, 0)

	r := s.run("", "sync", "--once", "--timeout", "2s").want(t, 1)
	noTokens(t, r)
	wantLines(t, r.stdout, "opencx: pushed 0, pulled 0, dead-lettered 0, pending 1, skipped masked 0, skipped unblocked 0, invalid 0")
	wantOneErrorLine(t, r, "sync", "opencx", "not finished within --timeout 2s")
	if len(cx.Contacts()) != 0 {
		t.Fatal("the fake stored a block it answered 500 to")
	}
	if !strings.Contains(s.run("", "stats").want(t, 0).stdout, "sync.opencx.pending\t1\n") {
		t.Fatal("stats does not show the pending record")
	}
}

func TestSyncErrors(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx := opencxtest.NewServer(opencxtest.Options{Token: "the-right-token", RequestsPerMinute: -1})
	defer cx.Close()
	publish(t)

	r := s.run("", "sync", "--once").want(t, 2)
	wantOneErrorLine(t, r, "sync", "no vendor configured", "SENDGUARD_OPENCX_TOKEN")
	if exists(s.db) {
		t.Fatal("sync without vendors created the database")
	}

	for _, tc := range []struct {
		env   []string
		parts []string
	}{
		{[]string{"SENDGUARD_OPENCX_TOKEN=" + cxToken, "SENDGUARD_OPENCX_RPM=fast"}, []string{"SENDGUARD_OPENCX_RPM", "fast"}},
		{[]string{"SENDGUARD_OCAMBA_TOKEN=" + ocToken, "SENDGUARD_OCAMBA_RPS=-3"}, []string{"SENDGUARD_OCAMBA_RPS"}},
		{[]string{"SENDGUARD_OCAMBA_TOKEN=" + ocToken, "SENDGUARD_OCAMBA_RPM=0"}, []string{"SENDGUARD_OCAMBA_RPM"}},
		{[]string{"SENDGUARD_OPENCX_TOKEN=" + cxToken, "SENDGUARD_OPENCX_URL=ftp://example.com"}, []string{"SENDGUARD_OPENCX_URL"}},
		{[]string{"SENDGUARD_OCAMBA_TOKEN=" + ocToken + " with space"}, []string{"SENDGUARD_OCAMBA_TOKEN"}},
	} {
		r := s.runEnv(append([]string{"SENDGUARD_DB=" + s.db}, tc.env...), "", "sync", "--once")
		r.want(t, 2)
		wantOneErrorLine(t, r, tc.parts...)
		noTokens(t, r)
	}
	s.env = []string{"SENDGUARD_OPENCX_TOKEN=" + cxToken}
	wantOneErrorLine(t, s.run("", "sync", "extra").want(t, 2), "sync", "extra")
	wantOneErrorLine(t, s.run("", "sync", "--interval", "0s").want(t, 2), "--interval")
	wantOneErrorLine(t, s.run("", "sync", "--once", "--timeout", "-1s").want(t, 2), "--timeout")
	if exists(s.db) {
		t.Fatal("a sync configuration error created the database")
	}

	// A token the vendor refuses: a clear error, exit 2, never the token.
	s.env = []string{"SENDGUARD_OPENCX_TOKEN=" + cxToken, "SENDGUARD_OPENCX_URL=" + cx.URL(), "SENDGUARD_OPENCX_RPM=60000"}
	s.run("", "block", "a@example.com").want(t, 0)
	r = s.run("", "sync", "--once", "--timeout", "30s").want(t, 2)
	noTokens(t, r)
	if !strings.Contains(r.stderr, "sendguard: sync: opencx: ") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "pending 1") {
		t.Fatalf("stdout: %s", r.stdout)
	}
}

// TestSyncRun runs the sync until SIGTERM: it pushes a local block, holds
// the database against another process meanwhile, and stops cleanly.
func TestSyncRun(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, _, env := fakes(t)
	s.env = env
	s.run("", "block", "run@example.com").want(t, 0)

	cmd := exec.Command(binPath, "sync", "--interval", "200ms")
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), append([]string{"SENDGUARD_DB=" + s.db}, env...)...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	// Read stderr until both vendors report a pass with nothing pending.
	stderrLines := make(chan string)
	go func() {
		defer close(stderrLines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			stderrLines <- sc.Text()
		}
	}()
	var stderr []string
	synced := map[string]bool{}
	timeout := time.After(60 * time.Second)
	for len(synced) < 2 {
		select {
		case l, ok := <-stderrLines:
			if !ok {
				t.Fatalf("sync ended early:\n%s", strings.Join(stderr, "\n"))
			}
			stderr = append(stderr, l)
			for _, name := range []string{"opencx", "ocamba"} {
				if strings.HasPrefix(l, "sendguard: sync: "+name+": synced at ") && strings.Contains(l, "pending 0,") {
					synced[name] = true
				}
			}
		case <-timeout:
			t.Fatalf("no synced report within a minute:\n%s", strings.Join(stderr, "\n"))
		}
	}
	if !slices.ContainsFunc(cx.Contacts(), func(c opencxtest.Contact) bool { return c.Email == "run@example.com" }) {
		t.Fatalf("OpenCX lacks the block: %v", cx.Contacts())
	}

	// Another process cannot open the database meanwhile.
	r := s.run("", "check", "run@example.com").want(t, 2)
	wantOneErrorLine(t, r, "in use by another process")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for l := range stderrLines {
		stderr = append(stderr, l)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) || err != nil {
		t.Fatalf("sync after SIGTERM: %v\nstderr:\n%s", err, strings.Join(stderr, "\n"))
	}
	all := result{stdout: stdout.String(), stderr: strings.Join(stderr, "\n")}
	noTokens(t, all)
	if !strings.Contains(all.stdout, "opencx: pushed 1,") || !strings.Contains(all.stdout, "ocamba: pushed 1,") {
		t.Fatalf("final summary:\n%s", all.stdout)
	}
	// The lock is released.
	s.run("", "check", "run@example.com").want(t, 1)
	_, _ = io.Copy(io.Discard, errPipe)
}

// TestDeadLettersNoToken: a vendor that echoes the Authorization header in
// the error body of a refused push leaves no token in the dead letters:
// not in what sync or dead-letters prints (with or without the vendors'
// environment), and not in what the database stores.
func TestDeadLettersNoToken(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, oc, env := fakes(t)
	s.env = env
	echo := opencxtest.Faults{Method: "POST", ServerError: opencxtest.Fault{Prob: 1}, ServerErrorStatus: 400, EchoAuthorization: true}
	cx.SetFaults(echo)
	oc.SetFaults(echo)
	publish(t)

	s.run("", "block", "alice@example.com").want(t, 0)
	r := s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)
	noTokens(t, r)
	if n := strings.Count(r.stdout, "dead-letter\t"); n != 2 {
		t.Fatalf("sync dead-lettered %d, want 2 (one per vendor):\n%s", n, r.stdout)
	}
	// With the vendors' environment: the command knows the tokens.
	r = s.run("", "dead-letters").want(t, 0)
	noTokens(t, r)
	if len(lines(r.stdout)) != 2 || !strings.Contains(r.stdout, "Authorization: Bearer [token]") {
		t.Fatalf("dead-letters:\n%s", r.stdout)
	}
	// Without it: what is printed is what the database holds.
	r = s.runEnv([]string{"SENDGUARD_DB=" + s.db}, "", "dead-letters").want(t, 0)
	noTokens(t, r)
	if len(lines(r.stdout)) != 2 {
		t.Fatalf("dead-letters without the environment:\n%s", r.stdout)
	}
}

// TestSyncEndpointUnavailable: vendors answering 404 to every push (a
// gateway during a deploy) fail sync --once with exit 2 and a clear
// error, and leave every block pending, none dead-lettered; the next
// sync, once the vendors answer again, delivers them.
func TestSyncEndpointUnavailable(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, oc, env := fakes(t)
	s.env = env
	down := opencxtest.Faults{Method: "POST", ServerError: opencxtest.Fault{Prob: 1}, ServerErrorStatus: 404}
	cx.SetFaults(down)
	oc.SetFaults(down)
	publish(t)

	s.run("", "block", "alice@example.com", "bob@example.com").want(t, 0)
	r := s.run("", "sync", "--once", "--timeout", "60s").want(t, 2)
	noTokens(t, r)
	for _, name := range []string{"opencx", "ocamba"} {
		if !strings.Contains(r.stdout, name+": pushed 0, pulled 0, dead-lettered 0, pending 2,") {
			t.Errorf("no pending summary for %s:\n%s", name, r.stdout)
		}
		if !strings.Contains(r.stderr, "sendguard: sync: "+name+": ") || !strings.Contains(r.stderr, "404") {
			t.Errorf("no error for %s:\n%s", name, r.stderr)
		}
	}
	wantLines(t, s.run("", "dead-letters").want(t, 0).stdout)

	cx.SetFaults(opencxtest.Faults{})
	oc.SetFaults(opencxtest.Faults{})
	publish(t)
	r = s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)
	if strings.Count(r.stdout, "pushed 2,") != 2 {
		t.Fatalf("after the vendors came back:\n%s", r.stdout)
	}
}
