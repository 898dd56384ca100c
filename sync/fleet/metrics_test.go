package fleet_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
	"github.com/sendguard/sendguard/sync/fleet"
)

// TestMetrics: the member's instruments, read with the SDK's manual
// reader, follow a scripted sequence — a's three blocks are applied by
// b, which then shows the stream position, no lag, two members, a's lease
// — and are gone once Run has returned.
func TestMetrics(t *testing.T) {
	srv := startServer(t)
	ra, rb := telemetrytest.New(t), telemetrytest.New(t)
	a := newMember(t, "a", srv.url(), fleet.Config{MeterProvider: ra.Provider, LeaseTTL: 2 * time.Second,
		Vendors: fleet.Vendors{Run: func(ctx context.Context) error { <-ctx.Done(); return nil }}})
	b := newMember(t, "b", srv.url(), fleet.Config{MeterProvider: rb.Provider})
	ctx := t.Context()
	for i := range 3 {
		if _, err := a.g.Block(ctx, fmt.Sprintf("m%d@example.com", i), "test"); err != nil {
			t.Fatal(err)
		}
	}
	waitCheck(t, b, "m2@example.com", true, 5*time.Second)

	// The figures the instruments read come with the heartbeat (every
	// 2s) and the apply loop: wait for both members and a's lease.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sa, sb := ra.Collect(t), rb.Collect(t)
		members, _ := sb.Int(t, "sendguard.fleet.members")
		held, _ := sa.Int(t, "sendguard.fleet.lease_held")
		applied, _ := sb.Int(t, "sendguard.fleet.applied")
		if members == 2 && held == 1 && applied == 3 {
			sb.Want(t, "sendguard.fleet.lag", 0)
			sb.Want(t, "sendguard.fleet.unpublished", 0)
			sb.Want(t, "sendguard.fleet.applied_changes", 3)
			sb.Want(t, "sendguard.fleet.connected", 1)
			sb.Want(t, "sendguard.fleet.lease_held", 0)
			sa.Want(t, "sendguard.fleet.applied", 3)
			sa.Want(t, "sendguard.fleet.applied_changes", 0) // its own changes
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: b members %d applied %d, a lease held %d; want 2, 3, 1", members, applied, held)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m, ok := rb.Collect(t)["sendguard.fleet.applied"]; !ok || m.Unit != "{message}" {
		t.Errorf("sendguard.fleet.applied unit = %q (found %v), want {message}", m.Unit, ok)
	}

	b.stopRun()
	if _, ok := rb.Collect(t).Int(t, "sendguard.fleet.applied"); ok {
		t.Error("sendguard.fleet.applied still observed after Run returned")
	}
	if _, ok := ra.Collect(t).Int(t, "sendguard.fleet.applied"); !ok {
		t.Error("a's instruments went with b's")
	}
}

// TestReadStats_AfterRun: the figures saved when Run returns are those of
// the end, not of the last heartbeat (up to 2s older): sendguard stats
// after a member stopped shows what it applied.
func TestReadStats_AfterRun(t *testing.T) {
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	b := newMember(t, "b", srv.url(), fleet.Config{})
	if _, err := a.g.Block(t.Context(), "late@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	waitCheck(t, b, "late@example.com", true, 5*time.Second)
	for b.m.Stats().Applied < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	live := b.m.Stats()
	b.stopRun()
	st, ok, err := fleet.ReadStats(t.Context(), b.g.Replication())
	if err != nil || !ok {
		t.Fatalf("ReadStats = %v, %v", ok, err)
	}
	if st.Applied != live.Applied || st.Lag != 0 || st.Member != "b" {
		t.Errorf("saved after Run: applied %d lag %d member %q; want applied %d lag 0 member b", st.Applied, st.Lag, st.Member, live.Applied)
	}
}

// TestMetrics_GlobalProvider: without Config.MeterProvider the member's
// instruments go to the global provider the application set.
func TestMetrics_GlobalProvider(t *testing.T) {
	r := telemetrytest.New(t)
	otel.SetMeterProvider(r.Provider)
	t.Cleanup(func() { otel.SetMeterProvider(noop.NewMeterProvider()) })
	srv := startServer(t)
	a := newMember(t, "a", srv.url(), fleet.Config{})
	if _, err := a.g.Block(t.Context(), "global@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if v, ok := r.Collect(t).Int(t, "sendguard.fleet.applied"); ok && v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sendguard.fleet.applied not 1 on the global provider within 5s")
		}
	}
}
