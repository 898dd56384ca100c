package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// Issue 13 item 5: a failed export writes nothing, not a header-only
// "backup".
func TestExportFailureWritesNothing(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	if err := os.WriteFile(s.db, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"csv", "jsonl"} {
		r := s.run("", "export", "--format", format).want(t, 2)
		if r.stdout != "" {
			t.Fatalf("export --format %s to a broken database wrote %q", format, r.stdout)
		}
	}
}

// Issue 13 item 6: the common flags may stand before help and --help.
func TestHelpAfterCommonFlags(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	full := s.run("", "help").want(t, 0).stdout
	x := filepath.Join(s.dir, "x")
	for _, args := range [][]string{
		{"--db", x, "help"}, {"--db", x, "--help"}, {"--db=" + x, "--help"}, {"--region", "GB", "-h"},
	} {
		if got := s.run("", args...).want(t, 0).stdout; got != full {
			t.Fatalf("%q does not print the help", args)
		}
	}
	one := s.run("", "help", "check").want(t, 0).stdout
	if got := s.run("", "--db", x, "help", "check").want(t, 0).stdout; got != one {
		t.Fatal("--db x help check differs from help check")
	}
	if exists(x) {
		t.Fatal("help created the database")
	}
}

// Issue 13 item 7: check says what matched.
func TestCheckSaysWhatMatched(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "--reason", "spam", "--expires", "10d", "spam.example").want(t, 0)
	r := s.run("", "check", "x@sub.spam.example").want(t, 1)
	wantLines(t, r.stdout, "blocked\tx@sub.spam.example\tspam\tlocal\tspam.example")
	r = s.run("", "check", "--json", "x@sub.spam.example").want(t, 1)
	var j map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatal(err)
	}
	if j["matched"] != "spam.example" || j["match"] != "domain" || j["canonical"] != "x@sub.spam.example" {
		t.Fatalf("check --json: %v", j)
	}
	if e, _ := j["expires_at"].(string); e == "" || e <= j["created_at"].(string) {
		t.Fatalf("expires_at %v, want a time after created_at %v", j["expires_at"], j["created_at"])
	}
	// The existing fields keep their order, the new ones follow.
	order := []string{`"input"`, `"kind"`, `"canonical"`, `"blocked"`, `"reason"`, `"source"`, `"created_at"`, `"error"`, `"matched"`, `"match"`, `"expires_at"`}
	last := -1
	for _, k := range order {
		i := strings.Index(r.stdout, k+":")
		if i <= last {
			t.Fatalf("field %s out of order in %s", k, r.stdout)
		}
		last = i
	}
}

// Issue 13 item 8.
func TestVersion(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	v := s.run("", "version").want(t, 0).stdout
	if !strings.HasPrefix(v, "sendguard ") || !strings.Contains(v, runtime.Version()) || len(lines(v)) != 1 {
		t.Fatalf("version: %q", v)
	}
	for _, args := range [][]string{{"--version"}, {"-version"}, {"--db", filepath.Join(s.dir, "x"), "--version"}} {
		if got := s.run("", args...).want(t, 0).stdout; got != v {
			t.Fatalf("%q: %q, want %q", args, got, v)
		}
	}
	if exists(filepath.Join(s.dir, "x")) {
		t.Fatal("version created the database")
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionLine(bi), "sendguard v1.2.0 (0123abcd, modified, 2026-01-02T03:04:05Z, go1.26.0)"; got != want {
		t.Fatalf("versionLine = %q, want %q", got, want)
	}
	if got, want := versionLine(&debug.BuildInfo{GoVersion: "go1.26.0"}), "sendguard (devel) (go1.26.0)"; got != want {
		t.Fatalf("versionLine = %q, want %q", got, want)
	}
}

// Issue 13 item 9: check - and --file stream recipients, one per line.
func TestCheckStreamsLines(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "b@example.com", "+14155550100").want(t, 0)
	r := s.run("a@example.com\r\n\nb@example.com\n(415) 555-0100\nnope\n", "check", "-").want(t, 2)
	wantLines(t, r.stdout,
		"allowed\ta@example.com",
		"blocked\tb@example.com\t\tlocal\tb@example.com",
		"blocked\t+14155550100\t\tlocal\t+14155550100",
		"invalid\tnope\tnot an email address, phone number or domain")

	const n = 50_000
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "u%d@example.com\n", i)
	}
	b.WriteString("b@example.com") // no final line break
	path := filepath.Join(s.dir, "list.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	r = s.run("", "check", "--file", path, "first@example.com").want(t, 1)
	ls := lines(r.stdout)
	if len(ls) != n+2 || ls[0] != "allowed\tfirst@example.com" || ls[1] != "allowed\tu0@example.com" ||
		ls[n+1] != "blocked\tb@example.com\t\tlocal\tb@example.com" {
		t.Fatalf("%d lines, first %q, last %q", len(ls), ls[0], ls[len(ls)-1])
	}
	// A missing file fails before the database is opened.
	s2 := newSandbox(t)
	r = s2.run("", "check", "--file", filepath.Join(s2.dir, "missing.txt")).want(t, 2)
	wantOneErrorLine(t, r, "check", "--file", "missing.txt", "no such file")
	if exists(s2.db) {
		t.Fatal("a missing --file created the database")
	}
}

// Issue 13 item 10: a mailbox provider's domain needs --force.
func TestBlockProviderDomainNeedsForce(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("", "block", "a@example.com", "Gmail.com").want(t, 2)
	wantOneErrorLine(t, r, "block", "Gmail.com", "mailbox provider", "every address", "--force")
	// Nothing was written: not gmail.com, not the other argument, not
	// even the store (the refusal comes before the open).
	if exists(s.db) {
		t.Fatal("a refused block created the database")
	}
	r = s.run("", "block", "--force", "gmail.com").want(t, 0)
	wantLines(t, r.stdout, "blocked\tgmail.com\t\tlocal")
	s.run("", "check", "someone@gmail.com").want(t, 1)
	s.run("", "check", "a@example.com").want(t, 0)
	// An address there needs nothing.
	s.run("", "block", "someone@outlook.com").want(t, 0)
}

// Issue 13 item 11: every command's summary starts in the same column.
func TestUsageAligned(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("").want(t, 2)
	col := -1
	for _, l := range lines(r.stderr) {
		if !strings.HasPrefix(l, "  ") {
			continue
		}
		name := strings.Fields(l)[0]
		i := strings.Index(l[len("  ")+len(name):], strings.Fields(l)[1]) + len("  ") + len(name)
		if col < 0 {
			col = i
		}
		if i != col {
			t.Fatalf("usage line %q: summary at column %d, want %d", l, i, col)
		}
	}
	if col < 0 {
		t.Fatal("no command lines in the usage")
	}
}

// Issue 13 item 9: check - answers each line as it comes: a caller feeding
// recipients one at a time through a pipe reads each answer before it
// sends the next (or closes stdin).
func TestCheckStdinAnswersAsItReads(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "b@example.com").want(t, 0)
	cmd := exec.Command(binPath, "check", "-")
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), "SENDGUARD_DB="+s.db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	out := bufio.NewReader(stdout)
	for _, tc := range []struct{ in, want string }{
		{"a@example.com", "allowed\ta@example.com\n"},
		{"b@example.com", "blocked\tb@example.com\t\tlocal\tb@example.com\n"},
	} {
		if _, err := io.WriteString(stdin, tc.in+"\n"); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() { l, _ := out.ReadString('\n'); got <- l }()
		select {
		case l := <-got:
			if l != tc.want {
				t.Fatalf("answer to %q: %q, want %q", tc.in, l, tc.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer to %q while stdin is open", tc.in)
		}
	}
	_ = stdin.Close()
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("check - with a blocked recipient: %v, want exit 1", err)
	}
}
