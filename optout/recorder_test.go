package optout_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/optout"
)

func parseFixture(t *testing.T, name string) *optout.Feedback {
	t.Helper()
	fb, err := optout.ParseFeedback(bytes.NewReader(readFixture(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return fb
}

func TestRecorder_HardBounceAndComplaint(t *testing.T) {
	g := memGuard(t)
	rec, err := optout.NewRecorder(g, optout.RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := rec.Record(t.Context(), parseFixture(t, "postfix-hard.eml"))
	if n != 1 || err != nil {
		t.Fatalf("hard bounce: %d, %v", n, err)
	}
	v := blocked(t, g, "gone@example.org")
	if !v.Blocked || v.Source != optout.SourceBounce || v.Reason != "hard bounce 5.1.1" {
		t.Fatalf("after hard bounce: %+v", v)
	}
	// The block records when the bounce was reported.
	if !v.CreatedAt.Equal(time.Date(2026, 1, 12, 10, 15, 2, 0, time.UTC)) {
		t.Errorf("CreatedAt %v", v.CreatedAt)
	}
	if n, err := rec.Record(t.Context(), parseFixture(t, "arf-redacted.eml")); n != 1 || err != nil {
		t.Fatalf("complaint: %d, %v", n, err)
	}
	if v := blocked(t, g, "complainer@hotmail.com"); !v.Blocked || v.Source != optout.SourceComplaint {
		t.Fatalf("after complaint: %+v", v)
	}
	// A replay changes nothing.
	if n, err := rec.Record(t.Context(), parseFixture(t, "postfix-hard.eml")); n != 0 || err != nil {
		t.Fatalf("replay: %d, %v", n, err)
	}
	st := rec.Stats()
	if st.Count != 2 || st.BySource[optout.SourceBounce].Count != 1 || st.BySource[optout.SourceComplaint].Count != 1 {
		t.Errorf("stats %+v", st)
	}
	// Mixed DSN: only the hard one blocks at once; the delivered one never.
	if n, err := rec.Record(t.Context(), parseFixture(t, "rfc3464-mixed.eml")); n != 1 || err != nil {
		t.Fatalf("mixed: %d, %v", n, err)
	}
	if !blocked(t, g, "arathib@vnet.ibm.com").Blocked || blocked(t, g, "wsnell@sdcc13.ucsd.edu").Blocked || blocked(t, g, "johnh@hpnjld.njd.hp.com").Blocked {
		t.Error("mixed DSN applied wrongly")
	}
}

// TestRecorder_SoftBounces: the third soft bounce within the window blocks;
// the count is in the store, so it survives a restart of the guard.
func TestRecorder_SoftBounces(t *testing.T) {
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	soft := func(day int) *optout.Feedback {
		at := t0.Add(time.Duration(day) * 24 * time.Hour)
		return &optout.Feedback{Type: optout.SoftBounce, Recipients: []string{"full@example.net"}, Date: at, ArrivalDate: at,
			Statuses: []optout.RecipientStatus{{Recipient: "full@example.net", Action: "delayed", Status: "4.2.2", Type: optout.SoftBounce}}}
	}
	now := func() time.Time { return t0.Add(30 * 24 * time.Hour) }
	rec, _ := optout.NewRecorder(g, optout.RecorderConfig{Now: now})
	ctx := t.Context()
	for _, day := range []int{0, 1} {
		if n, err := rec.Record(ctx, soft(day)); n != 0 || err != nil {
			t.Fatalf("soft bounce on day %d: %d, %v", day, n, err)
		}
	}
	if blocked(t, g, "full@example.net").Blocked {
		t.Fatal("blocked after two soft bounces")
	}
	// Restart: the count is durable.
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	g, err = guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec, _ = optout.NewRecorder(g, optout.RecorderConfig{Now: now})
	if n, err := rec.Record(ctx, soft(3)); n != 1 || err != nil {
		t.Fatalf("third soft bounce: %d, %v", n, err)
	}
	v := blocked(t, g, "full@example.net")
	if !v.Blocked || v.Source != optout.SourceBounce {
		t.Fatalf("after three soft bounces: %+v", v)
	}

	// Outside the window they do not add up.
	for _, day := range []int{0, 8, 16} {
		fb := soft(day)
		fb.Recipients = []string{"slow@example.net"}
		fb.Statuses[0].Recipient = "slow@example.net"
		if n, _ := rec.Record(ctx, fb); n != 0 {
			t.Fatalf("spread soft bounces blocked on day %d", day)
		}
	}
}

// TestRecorder_SameReportThrice: one soft-bounce report recorded three
// times (a sender retrying, or three notices with the same dates) counts
// three times and blocks at the third, also across a restart.
func TestRecorder_SameReportThrice(t *testing.T) {
	dir := t.TempDir()
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	fb := parseFixture(t, "postfix-delayed.eml")
	if fb.Type != optout.SoftBounce || len(fb.Recipients) != 1 {
		t.Fatalf("fixture: %v %v", fb.Type, fb.Recipients)
	}
	rcpt := fb.Recipients[0]
	ctx := t.Context()
	rec, _ := optout.NewRecorder(g, optout.RecorderConfig{})
	for i := range 2 {
		if n, err := rec.Record(ctx, parseFixture(t, "postfix-delayed.eml")); n != 0 || err != nil {
			t.Fatalf("soft bounce %d: %d, %v", i+1, n, err)
		}
	}
	if blocked(t, g, rcpt).Blocked {
		t.Fatal("blocked after two soft bounces")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if g, err = guard.Open(dir); err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec, _ = optout.NewRecorder(g, optout.RecorderConfig{})
	if n, err := rec.Record(ctx, parseFixture(t, "postfix-delayed.eml")); n != 1 || err != nil {
		t.Fatalf("third soft bounce: %d, %v; want 1 newly blocked", n, err)
	}
	if v := blocked(t, g, rcpt); !v.Blocked || v.Source != optout.SourceBounce {
		t.Fatalf("after three soft bounces: %+v", v)
	}
}

func TestRecorder_InvalidRecipient(t *testing.T) {
	g := memGuard(t)
	rec, _ := optout.NewRecorder(g, optout.RecorderConfig{})
	fb := &optout.Feedback{Type: optout.Complaint, Recipients: []string{"redacted@", "ok@example.com"}}
	n, err := rec.Record(t.Context(), fb)
	if n != 1 || !errors.Is(err, normalize.ErrInvalid) {
		t.Fatalf("Record = %d, %v; want 1 and ErrInvalid", n, err)
	}
	if !blocked(t, g, "ok@example.com").Blocked {
		t.Fatal("the valid recipient was not blocked")
	}
	if _, err := optout.NewRecorder(g, optout.RecorderConfig{SoftBounces: -1}); err == nil {
		t.Error("negative SoftBounces accepted")
	}
}

func TestClock(t *testing.T) {
	var c optout.Clock
	if st := c.Stats(); st.Count != 0 || st.Mean != 0 {
		t.Fatalf("zero clock %+v", st)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Observe("sms", t0, t0.Add(2*time.Second))
	c.Observe("sms", t0, t0.Add(4*time.Second))
	c.Observe("bounce", t0.Add(time.Hour), t0) // skewed: no delay
	st := c.Stats()
	if st.Count != 3 || st.Worst != 4*time.Second || st.Mean != 2*time.Second {
		t.Errorf("all %+v", st.Delays)
	}
	if s := st.BySource["sms"]; s.Count != 2 || s.Mean != 3*time.Second || !s.Last.Equal(t0.Add(4*time.Second)) {
		t.Errorf("sms %+v", s)
	}
}
