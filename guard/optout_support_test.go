package guard_test

import (
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

func TestGuard_UnblockContactIfSource(t *testing.T) {
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx := t.Context()
	sms := normalize.Contact{Kind: normalize.Phone, Value: "+12025550101"}
	op := normalize.Contact{Kind: normalize.Phone, Value: "+12025550102"}
	if _, err := g.BlockContact(ctx, sms, "x", "stop", guard.WithSource("sms")); err != nil {
		t.Fatal(err)
	}
	if _, err := g.BlockContact(ctx, op, "x", "operator"); err != nil {
		t.Fatal(err)
	}
	if ok, err := g.UnblockContactIfSource(ctx, op, "sms"); ok || err != nil {
		t.Errorf("unblock of a local block by source sms = %v, %v; want false, nil", ok, err)
	}
	if v, _ := g.Check(ctx, op.Value); !v.Blocked {
		t.Error("the operator's block was lifted")
	}
	if ok, err := g.UnblockContactIfSource(ctx, sms, "sms"); !ok || err != nil {
		t.Errorf("unblock of an sms block = %v, %v; want true, nil", ok, err)
	}
	if v, _ := g.Check(ctx, sms.Value); v.Blocked {
		t.Error("the sms block is still there")
	}
	if ok, _ := g.UnblockContactIfSource(ctx, sms, "sms"); ok {
		t.Error("a second unblock reported a removal")
	}
}

// TestGuard_CountEvent: counts are per contact and name, windowed, count
// every event (also two at one time), and survive a reopen of the store on
// disk.
func TestGuard_CountEvent(t *testing.T) {
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	c := normalize.Contact{Kind: normalize.Email, Value: "ann@example.com"}
	other := normalize.Contact{Kind: normalize.Email, Value: "bob@example.com"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	week := 7 * 24 * time.Hour
	steps := []struct {
		c    normalize.Contact
		at   time.Time
		want int
	}{
		{c, t0, 1},
		{c, t0, 2}, // another at the same time: counted too
		{other, t0, 1},
		{c, t0.Add(24 * time.Hour), 3},
		{c, t0.Add(8 * 24 * time.Hour), 1}, // both earlier ones are over a week older
		{c, t0.Add(9 * 24 * time.Hour), 2},
	}
	for i, s := range steps {
		n, err := g.CountEvent(ctx, "soft-bounce", s.c, s.at, week)
		if err != nil || n != s.want {
			t.Fatalf("step %d: CountEvent = %d, %v; want %d", i, n, err, s.want)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g, err = guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if n, err := g.CountEvent(ctx, "soft-bounce", c, t0.Add(10*24*time.Hour), week); n != 3 || err != nil {
		t.Fatalf("after reopen: %d, %v; want 3 (the count is durable)", n, err)
	}
	if err := g.ResetEvents(ctx, "soft-bounce", c); err != nil {
		t.Fatal(err)
	}
	if n, _ := g.CountEvent(ctx, "soft-bounce", c, t0.Add(10*24*time.Hour), week); n != 1 {
		t.Fatalf("after reset: %d, want 1", n)
	}
	if _, err := g.CountEvent(ctx, "", c, t0, week); err == nil {
		t.Error("an empty name was accepted")
	}
}
