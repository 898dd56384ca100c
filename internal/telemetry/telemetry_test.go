package telemetry_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sendguard/sendguard/internal/telemetry"
	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
)

type owner struct{ n atomic.Int64 }

// TestRegisterFor: the callback reads the owner while it is reachable and
// is unregistered once it has been collected.
func TestRegisterFor(t *testing.T) {
	r := telemetrytest.New(t)
	m := telemetry.Meter(r.Provider, "test")
	c, err := m.Int64ObservableCounter("sendguard.test.count", metric.WithUnit("{event}"))
	if err != nil {
		t.Fatal(err)
	}
	o := new(owner)
	o.n.Add(3)
	if err := telemetry.RegisterFor(m, o, func(_ context.Context, o *owner, obs metric.Observer) error {
		obs.ObserveInt64(c, o.n.Load())
		return nil
	}, c); err != nil {
		t.Fatal(err)
	}
	r.Collect(t).Want(t, "sendguard.test.count", 3)
	o.n.Add(1)
	r.Collect(t).Want(t, "sendguard.test.count", 4)
	runtime.KeepAlive(o)
	for i := 0; ; i++ { // o is unreachable from here
		runtime.GC()
		if _, ok := r.Collect(t).Int(t, "sendguard.test.count"); !ok {
			break
		}
		if i == 1000 {
			t.Fatal("still reported after the owner was collected")
		}
		runtime.Gosched()
	}
}

// TestInstruments_KeepsFirstError: an instrument the SDK refuses (a name
// that breaks OpenTelemetry's syntax) is reported once, and every later
// call returns nil without asking the meter again.
func TestInstruments_KeepsFirstError(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	in := telemetry.NewInstruments(telemetry.Meter(mp, "test"))
	if c := in.Counter("sendguard.ok", "{x}", "fine"); c == nil || in.Err != nil {
		t.Fatalf("a valid counter: %v, %v", c, in.Err)
	}
	if c := in.UpDown("9 not a name", "{x}", "refused"); c != nil || in.Err == nil {
		t.Fatalf("an invalid name: %v, err %v; want nil and an error", c, in.Err)
	}
	first := in.Err
	if c := in.Gauge("sendguard.later", "1", "after the error"); c != nil || in.Err != first {
		t.Fatalf("after an error: %v, err %v; want nil and the first error kept", c, in.Err)
	}
}
