package sync_test

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// TestEngine_Metrics: against the OpenCX fake limiting harder than the
// client paces (429s) and refusing one address (a dead letter), every
// per-remote instrument reads what happened.
func TestEngine_Metrics(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		r := telemetrytest.New(t)
		v := startVendors(t, vendorConfig{inMemory: true, cx: opencxtest.Options{RequestsPerMinute: 30, RetryAfter: true}})
		defer v.close()
		for i := range 40 {
			block(t, g, emailN(i))
		}
		block(t, g, "ann@пример.рф") // OpenCX's pattern refuses it: a dead letter
		e := newEngine(t, g, []blocksync.Remote{v.cxr},
			blocksync.WithBackoff(100*time.Millisecond, time.Minute), blocksync.WithMeterProvider(r.Provider))
		cx := attribute.String("remote", "opencx")

		s := r.Collect(t)
		s.Want(t, "sendguard.sync.pending", 40, cx)
		s.Want(t, "sendguard.sync.dead_letters", 0, cx)
		s.Want(t, "sendguard.sync.requests", 0, cx)
		if _, ok := s.Float(t, "sendguard.sync.last_success", cx); ok {
			t.Error("last success reported before any pass")
		}

		start := time.Now()
		if p := syncOnce(t, e).Pending(); p != 0 {
			t.Fatalf("%d pending", p)
		}
		reqs := v.cx.Requests()
		limited := 0
		for _, rq := range reqs {
			if rq.Status == http.StatusTooManyRequests {
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("the fake sent no 429: the test proves nothing")
		}

		s = r.Collect(t)
		s.Want(t, "sendguard.sync.requests", int64(len(reqs)), cx)
		s.Want(t, "sendguard.sync.rate_limited", int64(limited), cx)
		s.Want(t, "sendguard.sync.pushed", 40, cx)
		s.Want(t, "sendguard.sync.pulled", 0, cx)
		s.Want(t, "sendguard.sync.retries", int64(limited), cx)
		s.Want(t, "sendguard.sync.dead_lettered", 1, cx)
		s.Want(t, "sendguard.sync.dead_letters", 1, cx)
		s.Want(t, "sendguard.sync.pending", 0, cx)
		ls, ok := s.Float(t, "sendguard.sync.last_success", cx)
		if now := float64(time.Now().UnixNano()) / 1e9; !ok || ls < float64(start.UnixNano())/1e9 || ls > now {
			t.Errorf("last success = %v (observed %v), want between the pass's start and now (%v)", ls, ok, now)
		}
		for name, unit := range map[string]string{
			"sendguard.sync.requests":      "{request}",
			"sendguard.sync.rate_limited":  "{request}",
			"sendguard.sync.dead_lettered": "{record}",
			"sendguard.sync.dead_letters":  "{record}",
			"sendguard.sync.pending":       "{record}",
			"sendguard.sync.last_success":  "s",
		} {
			if s[name].Unit != unit {
				t.Errorf("%s: unit %q, want %q", name, s[name].Unit, unit)
			}
		}

		// A retried dead letter is pending again, and counted as such.
		if n, err := e.RetryDeadLetters(t.Context(), "opencx"); err != nil || n != 1 {
			t.Fatalf("RetryDeadLetters = %d, %v", n, err)
		}
		r.Collect(t).Want(t, "sendguard.sync.dead_letters", 0, cx)
		runtime.KeepAlive(e) // reported only while the engine is reachable
	})
}

// TestEngine_MetricsUnregistered: an engine that is dropped stops being
// reported once it is garbage collected.
func TestEngine_MetricsUnregistered(t *testing.T) {
	g := openGuard(t)
	defer g.Close()
	r := telemetrytest.New(t)
	e := newEngine(t, g, []blocksync.Remote{newFakeRemote("fake")}, blocksync.WithMeterProvider(r.Provider))
	if _, ok := r.Collect(t).Int(t, "sendguard.sync.pushed", attribute.String("remote", "fake")); !ok {
		t.Fatal("engine not reported")
	}
	runtime.KeepAlive(e)
	// e is not used after this point: it may be collected.
	for i := 0; ; i++ {
		runtime.GC()
		if _, ok := r.Collect(t).Int(t, "sendguard.sync.pushed"); !ok {
			return
		}
		if i == 1000 {
			t.Fatal("a dropped engine is still reported")
		}
		runtime.Gosched()
	}
}
