package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
)

func TestUsageAndHelp(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)

	r := s.run("").want(t, 2)
	if r.stdout != "" || !strings.Contains(r.stderr, "usage: sendguard COMMAND") {
		t.Fatalf("no args: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	r = s.run("", "frobnicate").want(t, 2)
	if !strings.HasPrefix(r.stderr, `sendguard: unknown command "frobnicate"`) || !strings.Contains(r.stderr, "usage:") {
		t.Fatalf("unknown command: stderr %q", r.stderr)
	}

	full := s.run("", "help").want(t, 0).stdout
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help", "--help"}} {
		if got := s.run("", args...).want(t, 0).stdout; got != full {
			t.Fatalf("%q prints something else than help", args)
		}
	}
	for _, c := range commands() {
		if !strings.Contains(full, "# "+c.name+"\n") {
			t.Errorf("help has no section for %s", c.name)
		}
		one := s.run("", "help", c.name).want(t, 0).stdout
		if !strings.HasPrefix(one, "# "+c.name+"\n") || !strings.Contains(one, "--db DIR") {
			t.Errorf("help %s:\n%s", c.name, one)
		}
		if c.name == "help" {
			continue
		}
		if got := s.run("", c.name, "-h").want(t, 0).stdout; got != one {
			t.Errorf("%s -h differs from help %s", c.name, c.name)
		}
		if got := s.run("", c.name, "--help").want(t, 0).stdout; got != one {
			t.Errorf("%s --help differs from help %s", c.name, c.name)
		}
	}
	for _, want := range []string{
		"# Exit codes", "KIND<TAB>CANONICAL", "invalid<TAB>INPUT<TAB>REASON",
		"allowed<TAB>CANONICAL", "blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE",
		"imported N, already present M, invalid K", "contact,kind,reason,source,created_at,expires_at",
		"SENDGUARD_OPENCX_TOKEN", "SENDGUARD_OCAMBA_RPM", "$SENDGUARD_DB", "$SENDGUARD_REGION",
	} {
		if !strings.Contains(full, want) {
			t.Errorf("help does not mention %q", want)
		}
	}
	r = s.run("", "help", "frobnicate").want(t, 2)
	if r.stdout != "" || !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("help of unknown command: %+v", r)
	}

	r = s.run("", "check", "--bogus", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, "check", "-bogus")
	if exists(s.db) {
		t.Fatal("a flag error created the database")
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("", "normalize", "Bob <Bob@Example.COM>", "(415) 555-0100", "*.Example.org", "+44 20 7946 0000").want(t, 0)
	wantLines(t, r.stdout,
		"email\tbob@example.com",
		"phone\t+14155550100",
		"domain\texample.org",
		"phone\t+442079460000",
	)
	if r.stderr != "" {
		t.Fatalf("stderr: %q", r.stderr)
	}
	if exists(s.db) {
		t.Fatal("normalize created the database")
	}

	r = s.run("", "normalize", "ok@example.com", "not an address", "a\tb@example.com").want(t, 2)
	got := lines(r.stdout)
	if len(got) != 3 || got[0] != "email\tok@example.com" {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	for i, in := range []string{"not an address", `a\tb@example.com`} {
		f := strings.Split(got[i+1], "\t")
		if len(f) != 3 || f[0] != "invalid" || f[1] != in || f[2] == "" {
			t.Fatalf("line %q: want invalid<TAB>%s<TAB>REASON", got[i+1], in)
		}
	}

	// The region: flag, environment, default.
	wantLines(t, s.run("", "normalize", "--region", "GB", "020 7946 0000").want(t, 0).stdout, "phone\t+442079460000")
	wantLines(t, s.run("", "normalize", "020 7946 0000", "-region=gb").want(t, 0).stdout, "phone\t+442079460000")
	wantLines(t, s.runEnv([]string{"SENDGUARD_REGION=DE"}, "", "normalize", "030 123456").want(t, 0).stdout, "phone\t+4930123456")
	wantLines(t, s.run("", "normalize", "-", "--", "--region").want(t, 2).stdout,
		"invalid\t-\tnot an email address, phone number or domain",
		"invalid\t--region\tnot an email address, phone number or domain")
	r = s.run("", "normalize", "--region", "XX", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, "--region", "XX")
	r = s.run("", "normalize").want(t, 2)
	wantOneErrorLine(t, r, "normalize", "no recipient")
}

func TestCheckBlockUnblock(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)

	// check only reads: it does not create a database (see TestNoStore);
	// block creates it on first use, at --db.
	s.run("", "check", "Alice@Example.com").want(t, 2)
	if exists(s.db) {
		t.Fatal("check created the database")
	}
	r := s.run("", "block", "--reason", "hard bounce", "Alice <alice@example.com>", "spam.test", "+1 415 555 0100").want(t, 0)
	wantLines(t, r.stdout,
		"blocked\talice@example.com\thard bounce\tlocal",
		"blocked\tspam.test\thard bounce\tlocal",
		"blocked\t+14155550100\thard bounce\tlocal",
	)
	// Idempotent: the block in force stays.
	wantLines(t, s.run("", "block", "alice@example.com", "--reason", "again", "--source", "crm").want(t, 0).stdout,
		"blocked\talice@example.com\thard bounce\tlocal")
	wantLines(t, s.run("", "block", "bob@example.com", "--reason", "manual", "--source", "crm").want(t, 0).stdout,
		"blocked\tbob@example.com\tmanual\tcrm")

	// The fifth field is the blocked contact that matched (issue 13).
	r = s.run("", "check", "ALICE@example.com", "carol@example.com", "x@mail.spam.test", "(415) 555-0100").want(t, 1)
	wantLines(t, r.stdout,
		"blocked\talice@example.com\thard bounce\tlocal\talice@example.com",
		"allowed\tcarol@example.com",
		"blocked\tx@mail.spam.test\thard bounce\tlocal\tspam.test",
		"blocked\t+14155550100\thard bounce\tlocal\t+14155550100",
	)
	r = s.run("", "check", "carol@example.com", "alice@example.com", "nope").want(t, 2)
	wantLines(t, r.stdout,
		"allowed\tcarol@example.com",
		"blocked\talice@example.com\thard bounce\tlocal\talice@example.com",
		"invalid\tnope\tnot an email address, phone number or domain",
	)
	s.run("", "check", "carol@example.com", "nope").want(t, 2)
	r = s.run("", "check").want(t, 2)
	wantOneErrorLine(t, r, "check", "no recipient")

	// --json: exactly the documented fields.
	r = s.run("", "check", "--json", "Alice <ALICE@example.com>", "carol@example.com", "nope").want(t, 2)
	var objs []map[string]any
	for _, l := range lines(r.stdout) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		keys := slices.Sorted(maps.Keys(m))
		if want := []string{"blocked", "canonical", "created_at", "error", "expires_at", "input", "kind", "match", "matched", "reason", "source"}; !slices.Equal(keys, want) {
			t.Fatalf("fields %v, want %v", keys, want)
		}
		objs = append(objs, m)
	}
	if len(objs) != 3 {
		t.Fatalf("want 3 JSON lines:\n%s", r.stdout)
	}
	b := objs[0]
	if b["input"] != "Alice <ALICE@example.com>" || b["kind"] != "email" || b["canonical"] != "alice@example.com" ||
		b["blocked"] != true || b["reason"] != "hard bounce" || b["source"] != "local" || b["error"] != "" ||
		b["matched"] != "alice@example.com" || b["match"] != "address" || b["expires_at"] != nil {
		t.Fatalf("blocked object: %v", b)
	}
	if ts, _ := b["created_at"].(string); !recent(ts) {
		t.Fatalf("created_at %v is not a recent RFC 3339 time", b["created_at"])
	}
	if a := objs[1]; a["blocked"] != false || a["canonical"] != "carol@example.com" || a["created_at"] != nil || a["reason"] != "" ||
		a["matched"] != "" || a["match"] != "none" || a["expires_at"] != nil {
		t.Fatalf("allowed object: %v", a)
	}
	if iv := objs[2]; iv["kind"] != "" || iv["canonical"] != "" || iv["error"] == "" || iv["input"] != "nope" {
		t.Fatalf("invalid object: %v", iv)
	}
	s.run("", "check", "--json", "alice@example.com").want(t, 1)
	s.run("", "check", "--json", "carol@example.com").want(t, 0)

	// Invalid input to block or unblock changes nothing and is named.
	r = s.run("", "block", "dave@example.com", "not a contact").want(t, 2)
	wantOneErrorLine(t, r, "block", "not a contact")
	s.run("", "check", "dave@example.com").want(t, 0)
	r = s.run("", "unblock", "alice@example.com", "???").want(t, 2)
	wantOneErrorLine(t, r, "unblock", "???")
	s.run("", "check", "alice@example.com").want(t, 1)

	// Unblock: idempotent; a domain block still applies.
	wantLines(t, s.run("", "unblock", "alice@example.com", "eve@example.com").want(t, 0).stdout,
		"unblocked\talice@example.com", "not-blocked\teve@example.com")
	wantLines(t, s.run("", "unblock", "alice@example.com").want(t, 0).stdout, "not-blocked\talice@example.com")
	s.run("", "check", "alice@example.com").want(t, 0)
	r = s.run("", "unblock", "x@spam.test").want(t, 0)
	wantLines(t, r.stdout, "not-blocked\tx@spam.test")
	wantOneErrorLine(t, r, "x@spam.test", "still blocked", "spam.test")
	s.run("", "unblock", "*.spam.test").want(t, 0)
	s.run("", "check", "x@spam.test").want(t, 0)

	r = s.run("", "block").want(t, 2)
	wantOneErrorLine(t, r, "block", "no recipient")
	r = s.run("", "block", "--source", "", "z@example.com").want(t, 2)
	wantOneErrorLine(t, r, "--source")
	r = s.run("", "unblock").want(t, 2)
	wantOneErrorLine(t, r, "unblock", "no recipient")
}

// recent reports whether s is an RFC 3339 time within a minute of now.
func recent(s string) bool {
	ts, err := time.Parse(time.RFC3339, s)
	return err == nil && time.Since(ts).Abs() < time.Minute
}

func TestBlockExpires(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "--expires", "30d", "a@example.com").want(t, 0)
	s.run("", "block", "--expires=36h", "b@example.com").want(t, 0)
	s.run("", "block", "c@example.com").want(t, 0)
	rows := exportCSV(t, s)
	want := map[string]time.Duration{"a@example.com": 30 * 24 * time.Hour, "b@example.com": 36 * time.Hour}
	for _, row := range rows {
		d, ok := want[row[0]]
		if !ok {
			if row[5] != "" {
				t.Fatalf("%s expires %q, want never", row[0], row[5])
			}
			continue
		}
		exp, err := time.Parse(time.RFC3339, row[5])
		if err != nil || time.Until(exp)-d > time.Minute || d-time.Until(exp) > time.Minute {
			t.Fatalf("%s expires %q, want in %v", row[0], row[5], d)
		}
	}
	for _, bad := range []string{"soon", "-5m", "0s", "0d", "d", "3x"} {
		r := s.run("", "block", "--expires", bad, "z@example.com").want(t, 2)
		wantOneErrorLine(t, r, "--expires", bad)
	}
	s.run("", "check", "z@example.com").want(t, 0)
}

func TestParseExpiry(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "1.5d": 36 * time.Hour, "1d12h": 36 * time.Hour,
		"90m": 90 * time.Minute, "2h30m": 150 * time.Minute,
	} {
		got, err := parseExpiry(in)
		if err != nil || got != want {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "0", "1h-2h", "x", "1dd", "5d-6d", "NaNd", "1d-1h"} {
		if got, err := parseExpiry(in); err == nil {
			t.Errorf("parseExpiry(%q) = %v, want an error", in, got)
		}
	}
}

func TestDefaultsFromEnvironment(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	// No --db and no SENDGUARD_DB: ./sendguard-data in the working directory.
	s.runEnv(nil, "", "block", "a@example.com").want(t, 0)
	if !exists(filepath.Join(s.dir, "sendguard-data")) {
		t.Fatal("no ./sendguard-data")
	}
	s.runEnv(nil, "", "check", "a@example.com").want(t, 1)
	// SENDGUARD_DB, and --db over it.
	other := filepath.Join(s.dir, "other")
	r := s.runEnv([]string{"SENDGUARD_DB=" + other}, "", "check", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, other, "no sendguard store", "does not exist")
	s.runEnv([]string{"SENDGUARD_DB=" + other}, "", "block", "--db", s.db, "b@example.com").want(t, 0)
	if exists(other) {
		t.Fatal("block --db created $SENDGUARD_DB too")
	}
	s.runEnv(nil, "", "check", "--db", s.db, "b@example.com").want(t, 1)
	s.runEnv(nil, "", "--db", s.db, "check", "b@example.com").want(t, 1)
	s.runEnv(nil, "", "-db="+s.db, "-region", "GB", "check", "b@example.com").want(t, 1)
	s.runEnv([]string{"SENDGUARD_DB=" + other}, "", "block", "c@example.com").want(t, 0)
	s.runEnv([]string{"SENDGUARD_DB=" + other}, "", "check", "b@example.com").want(t, 0)
	// SENDGUARD_REGION reads national numbers for check too.
	s.runEnv([]string{"SENDGUARD_REGION=GB"}, "", "block", "020 7946 0000").want(t, 0)
	s.runEnv(nil, "", "check", "+442079460000").want(t, 1)
	s.runEnv(nil, "", "check", "--region", "GB", "020 7946 0000").want(t, 1)
	r = s.runEnv(nil, "", "check", "--region", "ZZ", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, "ZZ", "unknown region")
	r = s.runEnv(nil, "", "check", "--db", "", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, "--db", "empty")
}

func TestLockedDatabase(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "a@example.com").want(t, 0)

	// This test process holds the database, as a sync would.
	g, err := guard.Open(s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	for _, args := range [][]string{
		{"check", "a@example.com"},
		{"block", "b@example.com"},
		{"unblock", "a@example.com"},
		{"export"},
		{"stats"},
		{"import", "-"},
	} {
		r := s.run("c@example.com\n", args...).want(t, 2)
		wantOneErrorLine(t, r, "open database", s.db, "in use by another process")
		if strings.Contains(r.stdout, "imported") {
			t.Fatalf("%s printed %q", args[0], r.stdout)
		}
	}
	// normalize needs no database.
	s.run("", "normalize", "a@example.com").want(t, 0)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	s.run("", "check", "a@example.com").want(t, 1)
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	s.run("", "block", "a@example.com", "b@example.com", "example.org", "+14155550100").want(t, 0)
	s.run("", "unblock", "b@example.com").want(t, 0)

	r := s.run("", "stats").want(t, 0)
	got := map[string]string{}
	for _, l := range lines(r.stdout) {
		k, v, ok := strings.Cut(l, "\t")
		if !ok || strings.Contains(v, "\t") {
			t.Fatalf("line %q is not NAME<TAB>VALUE", l)
		}
		got[k] = v
	}
	for k, v := range map[string]string{"entries": "3", "domains": "1", "provider_folding": "false", "dead_letters": "0"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, k := range []string{"change_log.last_seq", "filter.capacity", "filter.count", "filter.fill_ratio", "store.lsm_bytes"} {
		if got[k] == "" {
			t.Errorf("no %s", k)
		}
	}

	r = s.run("", "stats", "--json").want(t, 0)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || len(lines(r.stdout)) != 1 {
		t.Fatalf("stats --json: %v\n%s", err, r.stdout)
	}
	if m["entries"] != 3.0 || m["domains"] != 1.0 {
		t.Fatalf("stats --json: %v", m)
	}
	if f, ok := m["filter"].(map[string]any); !ok || f["capacity"] == nil {
		t.Fatalf("stats --json has no filter.capacity: %v", m)
	}
	r = s.run("", "stats", "extra").want(t, 2)
	wantOneErrorLine(t, r, "stats", "extra")
}

// TestFullDisk writes output to /dev/full, where every write fails with
// ENOSPC: each command says so on stderr in one line and exits 2, and the
// blocks an import made are kept.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("a@example.com\nbogus\n+14155550100\n", "import", "--rejects", "/dev/full", "-").want(t, 2)
	wantOneErrorLine(t, r, "import", "write rejects", "no space left on device")
	wantLines(t, r.stdout, summary(2, 0, 1))
	s.run("", "check", "a@example.com", "+14155550100").want(t, 1)

	for _, args := range [][]string{
		{"export"},
		{"export", "--format", "jsonl"},
		{"check", "a@example.com"},
		{"normalize", "a@example.com"},
		{"stats", "--json"},
	} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binPath, args...)
		cmd.Dir = s.dir
		cmd.Env = append(baseEnv(), "SENDGUARD_DB="+s.db)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = full, &errb
		err = cmd.Run()
		full.Close()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("%v to a full disk: %v, want exit 2\nstderr: %s", args, err, errb.String())
		}
		wantOneErrorLine(t, result{stderr: errb.String()}, "no space left on device")
	}
	// Nothing was lost along the way.
	wantLines(t, s.run("", "check", "a@example.com", "+14155550100").want(t, 1).stdout,
		"blocked\ta@example.com\t\timport\ta@example.com", "blocked\t+14155550100\t\timport\t+14155550100")
}
