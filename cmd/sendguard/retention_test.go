package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// logFigures reads change_log from stats --json.
func logFigures(t *testing.T, s *sandbox) map[string]any {
	t.Helper()
	r := s.run("", "stats", "--json").want(t, 0)
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, r.stdout)
	}
	cl, ok := st["change_log"].(map[string]any)
	if !ok {
		t.Fatalf("stats --json has no change_log object:\n%s", r.stdout)
	}
	return cl
}

func consumerFigures(t *testing.T, cl map[string]any, name string) (offset, lag float64, ok bool) {
	t.Helper()
	cs, _ := cl["consumers"].(map[string]any)
	c, ok := cs[name].(map[string]any)
	if !ok {
		return 0, 0, false
	}
	return c["offset"].(float64), c["lag"].(float64), true
}

// TestBoundedLog is the scenario through the binary: with
// SENDGUARD_LOG_RETENTION=0s, blocks synced to one vendor, then 200
// contacts blocked and unblocked ten times and synced leave the change
// log near empty; a second vendor configured only then receives every
// contact still blocked and none of those unblocked before it was added.
// A vendor no longer configured holds the log back, stats names it, and
// sync --forget lets it go.
func TestBoundedLog(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, oc, both := fakes(t)
	cxOnly := []string{"SENDGUARD_LOG_RETENTION=0s"}
	for _, kv := range both {
		if strings.HasPrefix(kv, "SENDGUARD_OPENCX_") {
			cxOnly = append(cxOnly, kv)
		}
	}
	s.env = cxOnly

	var base, churn []string
	for i := range 10 {
		base = append(base, fmt.Sprintf("base%d@example.com", i))
	}
	for i := range 200 {
		churn = append(churn, fmt.Sprintf("churn%d@example.com", i))
	}
	s.run("", append([]string{"block", "--reason", "bounced"}, base...)...).want(t, 0)
	noTokens(t, s.run("", "sync", "--once", "--timeout", "60s").want(t, 0))

	for round := range 10 {
		s.run("", append([]string{"block", "--reason", "churn"}, churn...)...).want(t, 0)
		s.run("", append([]string{"unblock"}, churn...)...).want(t, 0)
		if round == 4 {
			s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)
		}
	}
	// The first 50 are blocked once more and stay blocked.
	stay, gone := churn[:50], churn[50:]
	s.run("", append([]string{"block", "--reason", "final"}, stay...)...).want(t, 0)
	s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)

	cl := logFigures(t, s)
	last := cl["last_seq"].(float64)
	if last < 4000 {
		t.Fatalf("change_log.last_seq = %v; the churn wrote at least 4,000 records", last)
	}
	if n := cl["records"].(float64); n > 2 {
		t.Fatalf("change_log.records = %v after every consumer passed with retention 0s, want near zero: %v", n, cl)
	}
	if cl["retention"] != "0s" || cl["held_by"] != "" {
		t.Errorf("change_log = %v; want retention 0s, held by nobody", cl)
	}
	if off, lag, ok := consumerFigures(t, cl, "remote/opencx"); !ok || off != last || lag != 0 {
		t.Errorf("consumer remote/opencx: offset %v, lag %v, %v; want offset %v, lag 0", off, lag, ok, last)
	}

	// Ocamba is configured only now: it is fed from the entries.
	s.env = append([]string{"SENDGUARD_LOG_RETENTION=0s"}, both...)
	noTokens(t, s.run("", "sync", "--once", "--timeout", "60s").want(t, 0))
	got := map[string]bool{}
	for _, e := range oc.Blocked() {
		got[e.Contact] = true
	}
	for _, c := range append(append([]string(nil), base...), stay...) {
		if !got[c] {
			t.Errorf("Ocamba lacks %s, blocked when it was added", c)
		}
	}
	for _, c := range gone {
		if got[c] {
			t.Errorf("Ocamba received %s, unblocked before it was added", c)
		}
	}
	if len(got) != len(base)+len(stay) {
		t.Errorf("Ocamba holds %d contacts, want %d", len(got), len(base)+len(stay))
	}
	cxHas := map[string]bool{}
	for _, c := range cx.Contacts() {
		cxHas[c.Email] = true
	}
	for _, c := range stay {
		if !cxHas[c] {
			t.Errorf("OpenCX lacks %s", c)
		}
	}

	// Ocamba is dropped from the configuration: it holds the log back...
	s.env = cxOnly
	s.run("", "block", "late1@example.com", "late2@example.com").want(t, 0)
	s.run("", "sync", "--once", "--timeout", "60s").want(t, 0)
	cl = logFigures(t, s)
	if cl["held_by"] != "remote/ocamba" || cl["records"].(float64) < 2 {
		t.Fatalf("change_log = %v; want held by remote/ocamba, with its unread records", cl)
	}
	if _, lag, ok := consumerFigures(t, cl, "remote/ocamba"); !ok || lag < 2 {
		t.Errorf("consumer remote/ocamba: lag %v, %v; want at least 2", lag, ok)
	}
	// ...until it is forgotten, which needs no token.
	r := s.runEnv([]string{"SENDGUARD_DB=" + s.db, "SENDGUARD_LOG_RETENTION=0s"}, "", "sync", "--forget", "ocamba").want(t, 0)
	wantLines(t, r.stdout, "forgot\tocamba")
	cl = logFigures(t, s)
	if cl["held_by"] != "" || cl["records"].(float64) > 1 {
		t.Errorf("after --forget: change_log = %v; want held by nobody, near empty", cl)
	}
	if _, _, ok := consumerFigures(t, cl, "remote/ocamba"); ok {
		t.Errorf("after --forget, stats still lists consumer remote/ocamba: %v", cl)
	}
	st := s.runEnv([]string{"SENDGUARD_DB=" + s.db}, "", "stats").want(t, 0).stdout
	if strings.Contains(st, "sync.ocamba.") {
		t.Errorf("after --forget, stats still has ocamba's sync figures:\n%s", st)
	}
	r = s.runEnv([]string{"SENDGUARD_DB=" + s.db}, "", "sync", "--forget", "ocamba").want(t, 0)
	wantLines(t, r.stdout, "not-known\tocamba")
}

func TestLogRetentionEnv(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	for _, v := range []string{"30d", "12h", "0s", "0", "1d12h"} {
		s.env = []string{"SENDGUARD_LOG_RETENTION=" + v}
		s.run("", "block", "a@example.com").want(t, 0)
	}
	s.env = []string{"SENDGUARD_LOG_RETENTION=36h"}
	if st := s.run("", "stats").want(t, 0).stdout; !strings.Contains(st, "change_log.retention\t36h0m0s\n") {
		t.Errorf("stats does not show the retention set:\n%s", st)
	}
	// A bare number is days.
	s.env = []string{"SENDGUARD_LOG_RETENTION=7"}
	if st := s.run("", "stats").want(t, 0).stdout; !strings.Contains(st, "change_log.retention\t168h0m0s\n") {
		t.Errorf("SENDGUARD_LOG_RETENTION=7: stats does not show 7 days:\n%s", st)
	}
	s.env = nil
	if st := s.run("", "stats").want(t, 0).stdout; !strings.Contains(st, "change_log.retention\t720h0m0s\n") {
		t.Errorf("stats does not show the default retention (30 days):\n%s", st)
	}
	for _, v := range []string{"-1h", "forever", "-2d"} {
		s.env = []string{"SENDGUARD_LOG_RETENTION=" + v}
		wantOneErrorLine(t, s.run("", "check", "a@example.com").want(t, 2), "SENDGUARD_LOG_RETENTION", v)
	}
}
