package optout_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sendguard/sendguard/internal/telemetry/telemetrytest"
	"github.com/sendguard/sendguard/optout"
)

// TestMetrics_Captured: one-click unsubscribes, an SMS STOP, a hard bounce
// and a complaint, on one provider, are counted by channel and their
// delays land in the histogram; a replay is not counted again.
func TestMetrics_Captured(t *testing.T) {
	ctx := t.Context()
	g := memGuard(t)
	r := telemetrytest.New(t)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return t0.Add(3 * time.Hour) } // every block is enforced 3h after t0

	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret,
		URL: "https://mail.example.com/unsubscribe", Now: now, MeterProvider: r.Provider})
	if err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"ann@example.com", "bob@example.com", "ann@example.com"} { // the last a replay
		hdr, err := u.Headers(rcpt)
		if err != nil {
			t.Fatal(err)
		}
		link := strings.Trim(hdr["List-Unsubscribe"], "<>")
		tok := link[strings.LastIndexByte(link, '/')+1:]
		if _, err := u.UnsubscribeToken(ctx, tok, t0.Add(time.Hour)); err != nil { // asked 2h before enforcement
			t.Fatal(err)
		}
	}

	h, err := optout.NewSMSHandler(g, optout.SMSConfig{Now: now, MeterProvider: r.Provider})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"From": {"+12025550147"}, "Body": {"STOP"}}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("sms STOP answered %d", w.Code)
	}

	rec, err := optout.NewRecorder(g, optout.RecorderConfig{Now: now, MeterProvider: r.Provider})
	if err != nil {
		t.Fatal(err)
	}
	for _, fb := range []*optout.Feedback{
		{Type: optout.HardBounce, Recipients: []string{"gone@example.org"}, Date: t0},
		{Type: optout.Complaint, Recipients: []string{"angry@example.org"}, Date: t0},
	} {
		if n, err := rec.Record(ctx, fb); n != 1 || err != nil {
			t.Fatalf("Record(%v) = %d, %v", fb.Type, n, err)
		}
	}

	s := r.Collect(t)
	ch := func(c string) attribute.KeyValue { return attribute.String("channel", c) }
	s.Want(t, "sendguard.optout.captured", 2, ch(optout.SourceUnsubscribe))
	s.Want(t, "sendguard.optout.captured", 1, ch(optout.SourceSMS))
	s.Want(t, "sendguard.optout.captured", 1, ch(optout.SourceBounce))
	s.Want(t, "sendguard.optout.captured", 1, ch(optout.SourceComplaint))
	for _, c := range []struct {
		channel string
		n       uint64
		delay   float64
	}{
		{optout.SourceUnsubscribe, 2, 2 * 3600},
		{optout.SourceBounce, 1, 3 * 3600},
		{optout.SourceComplaint, 1, 3 * 3600},
	} {
		p, ok := s.Histogram(t, "sendguard.optout.delay", ch(c.channel))
		if !ok || p.Count != c.n || p.Sum != c.delay*float64(c.n) {
			t.Errorf("%s delay: count %d sum %v (observed %v), want %d of %vs", c.channel, p.Count, p.Sum, ok, c.n, c.delay)
			continue
		}
		// 2h and 3h both fall in the (1h, 6h] bucket.
		for i, b := range p.Bounds {
			if b == 6*3600 && p.BucketCounts[i] != c.n {
				t.Errorf("%s: bucket <= 6h holds %d, want %d (bounds %v, counts %v)", c.channel, p.BucketCounts[i], c.n, p.Bounds, p.BucketCounts)
			}
		}
	}
	if m := s["sendguard.optout.delay"]; m.Unit != "s" {
		t.Errorf("delay unit %q, want s", m.Unit)
	}
	if m := s["sendguard.optout.captured"]; m.Unit != "{opt-out}" {
		t.Errorf("captured unit %q, want {opt-out}", m.Unit)
	}
	// The SMS handler stamps "received" with its clock: no delay.
	if p, ok := s.Histogram(t, "sendguard.optout.delay", ch(optout.SourceSMS)); !ok || p.Count != 1 || p.Sum != 0 {
		t.Errorf("sms delay: %+v (observed %v)", p, ok)
	}
}
