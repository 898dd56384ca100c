package guard_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
)

var (
	resAllowed = attribute.String("result", "allowed")
	resBlocked = attribute.String("result", "blocked")
	resInvalid = attribute.String("result", "invalid")
	resError   = attribute.String("result", "error")
	matchAddr  = attribute.String("match", "contact")
	matchDom   = attribute.String("match", "domain")
)

func source(s string) attribute.KeyValue { return attribute.String("source", s) }

// TestGuard_Metrics runs a scripted sequence — blocks from several sources,
// an import, an unblock, checks of every outcome, a filter false positive
// and a consumer behind the log — and reads every guard instrument back
// through a real SDK reader.
func TestGuard_Metrics(t *testing.T) {
	ctx := t.Context()
	r := telemetrytest.New(t)
	g := openGuard(t, t.TempDir(), guard.WithMeterProvider(r.Provider))

	s := r.Collect(t)
	s.Want(t, "sendguard.entries", 0)
	s.Want(t, "sendguard.checks", 0, resAllowed)

	for _, b := range []struct{ rcpt, src string }{
		{"Ann <ann@example.com>", ""},
		{"spam.test", "operator"},
		{"+1 202-555-0147", "sms"},
	} {
		var opts []guard.BlockOption
		if b.src != "" {
			opts = append(opts, guard.WithSource(b.src))
		}
		if _, err := g.Block(ctx, b.rcpt, "test", opts...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Import(ctx, []string{"a@x.test", "b@x.test", "c@x.test", "a@x.test"}, "list"); err != nil {
		t.Fatal(err)
	}
	// A source that looks like a recipient is never an attribute.
	if _, err := g.Block(ctx, "d@x.test", "test", guard.WithSource("from ops@corp.test")); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Block(ctx, "e@x.test", "test", guard.WithSource("call +1 202 555 0199")); err != nil {
		t.Fatal(err)
	}
	if ok, err := g.Unblock(ctx, "c@x.test"); err != nil || !ok {
		t.Fatalf("Unblock = %v, %v", ok, err)
	}

	for _, rcpt := range []string{"z1@ok.test", "z2@ok.test", "z3@ok.test", "+1 202-555-0100", "ok.test"} {
		if v := mustCheck(t, g, rcpt); v.Blocked {
			t.Fatalf("%s blocked", rcpt)
		}
	}
	if v := mustCheck(t, g, "c@x.test"); v.Blocked { // a stale filter bit: a false positive
		t.Fatal("c@x.test blocked after unblock")
	}
	if v := mustCheck(t, g, "ann@example.com"); !v.Blocked || v.Scope != guard.ScopeAddress {
		t.Fatalf("ann: %+v", v)
	}
	if v := mustCheck(t, g, "bob@mail.spam.test"); !v.Blocked || v.Scope != guard.ScopeDomain {
		t.Fatalf("bob: %+v", v)
	}
	if _, err := g.Check(ctx, "not a recipient"); err == nil {
		t.Fatal("invalid input checked without error")
	}

	rep := g.Replication()
	if err := rep.SetOffset(ctx, "remote/x", 2); err != nil {
		t.Fatal(err)
	}
	last, err := rep.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}

	s = r.Collect(t)
	s.Want(t, "sendguard.checks", 6, resAllowed)
	s.Want(t, "sendguard.checks", 1, resBlocked, matchAddr)
	s.Want(t, "sendguard.checks", 1, resBlocked, matchDom)
	s.Want(t, "sendguard.checks", 1, resInvalid)
	s.Want(t, "sendguard.checks", 0, resError)
	s.Want(t, "sendguard.filter.maybes", 3)
	s.Want(t, "sendguard.filter.false_positives", 1)
	s.Want(t, "sendguard.store.errors", 0)
	s.Want(t, "sendguard.blocks", 1, source("local"))
	s.Want(t, "sendguard.blocks", 1, source("operator"))
	s.Want(t, "sendguard.blocks", 1, source("sms"))
	s.Want(t, "sendguard.blocks", 3, source("import"))
	s.Want(t, "sendguard.blocks", 2, source("other"))
	s.Want(t, "sendguard.unblocks", 1, source("local"))
	s.Want(t, "sendguard.entries", 7)
	s.Want(t, "sendguard.domains", 1)
	s.Want(t, "sendguard.changelog.lag", int64(last-2), attribute.String("consumer", "remote/x"))
	if fill, ok := s.Float(t, "sendguard.filter.fill_ratio"); !ok || fill <= 0 || fill >= 0.01 {
		t.Errorf("fill ratio = %v, %v; want a small positive fraction", fill, ok)
	}
	if fp, ok := s.Float(t, "sendguard.filter.false_positive_rate"); !ok || fp < 0 || fp >= 0.001 {
		t.Errorf("false-positive rate = %v, %v; want under the target 0.001", fp, ok)
	}
	if st := g.Stats(); st.Allowed != 6 || st.FilterMaybes != 3 {
		t.Errorf("Stats disagrees: %+v", st)
	}

	units := map[string]string{
		"sendguard.checks":                     "{check}",
		"sendguard.filter.maybes":              "{lookup}",
		"sendguard.filter.false_positives":     "{lookup}",
		"sendguard.store.errors":               "{error}",
		"sendguard.blocks":                     "{block}",
		"sendguard.unblocks":                   "{unblock}",
		"sendguard.entries":                    "{entry}",
		"sendguard.domains":                    "{domain}",
		"sendguard.changelog.lag":              "{record}",
		"sendguard.filter.fill_ratio":          "1",
		"sendguard.filter.false_positive_rate": "1",
	}
	for name, unit := range units {
		if m, ok := s[name]; !ok || m.Unit != unit {
			t.Errorf("%s: unit %q (observed %v), want %q", name, m.Unit, ok, unit)
		}
	}
	assertNoRecipients(t, s)

	// A consumer forgotten is no longer reported; a new one is at once.
	if err := rep.Forget(ctx, "remote/x"); err != nil {
		t.Fatal(err)
	}
	if err := rep.SetOffset(ctx, "fleet/b", last); err != nil {
		t.Fatal(err)
	}
	s = r.Collect(t)
	if _, ok := s.Int(t, "sendguard.changelog.lag", attribute.String("consumer", "remote/x")); ok {
		t.Error("a forgotten consumer's lag is still reported")
	}
	s.Want(t, "sendguard.changelog.lag", 0, attribute.String("consumer", "fleet/b"))

	// A Closed guard stops reporting.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if s := r.Collect(t); len(s) != 0 {
		t.Errorf("after Close, %d instruments still reported", len(s))
	}
}

// assertNoRecipients fails if an attribute value looks like an email
// address or a phone number.
func assertNoRecipients(t *testing.T, s telemetrytest.Snapshot) {
	t.Helper()
	check := func(name string, set attribute.Set) {
		for _, kv := range set.ToSlice() {
			v := kv.Value.Emit()
			if strings.Contains(v, "@") || strings.Count(v, "0")+strings.Count(v, "1")+strings.Count(v, "2") >= 5 {
				t.Errorf("%s: attribute %s=%q looks like a recipient", name, kv.Key, v)
			}
		}
	}
	for name, m := range s {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				check(name, p.Attributes)
			}
		case metricdata.Gauge[float64]:
			for _, p := range d.DataPoints {
				check(name, p.Attributes)
			}
		}
	}
}

// TestGuard_MetricsStoreError counts a check the store could not confirm
// as result=error and in sendguard.store.errors.
func TestGuard_MetricsStoreError(t *testing.T) {
	ctx := t.Context()
	r := telemetrytest.New(t)
	g := openGuard(t, t.TempDir(), guard.WithMeterProvider(r.Provider), guard.WithSnapshot(false))
	if _, err := g.Block(ctx, "ann@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	if err := guard.StoreOf(g).Close(); err != nil { // break the store under the guard
		t.Fatal(err)
	}
	if _, err := g.Check(ctx, "ann@example.com"); !errors.Is(err, guard.ErrUnavailable) {
		t.Fatalf("Check on a closed store: %v, want ErrUnavailable", err)
	}
	s := r.Collect(t)
	s.Want(t, "sendguard.checks", 1, resError)
	s.Want(t, "sendguard.checks", 0, resBlocked)
	s.Want(t, "sendguard.store.errors", 1)
	s.Want(t, "sendguard.filter.maybes", 1)
	if _, ok := s.Int(t, "sendguard.changelog.lag"); ok {
		t.Error("changelog lag reported from a closed store")
	}
}

// TestGuard_MetricsEntriesAfterSnapshot: a guard opened from a filter
// snapshot has not scanned its store; the first collection starts a count
// in the background, and a later one reports it.
func TestGuard_MetricsEntriesAfterSnapshot(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Import(ctx, []string{"a@x.test", "b@x.test", "c@x.test"}, "list"); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	r := telemetrytest.New(t)
	g = openGuard(t, dir, guard.WithMeterProvider(r.Provider))
	if _, err := g.Block(ctx, "d@x.test", "test"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Collect(t).Int(t, "sendguard.entries"); ok {
		t.Fatal("entries reported before the store was counted (the filter came from the snapshot)")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if n, ok := r.Collect(t).Int(t, "sendguard.entries"); ok {
			if n != 4 {
				t.Fatalf("entries = %d, want 4", n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("entries never reported")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
