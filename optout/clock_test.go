package optout_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
	"github.com/sendguard/sendguard/storage"
)

// TestCompliance_Durable: an opt-out's two times are in the store — the
// block's CreatedAt is when it was asked for, the change-log record's Time
// when it was enforced — and the Clock reports the delay between them.
func TestCompliance_Durable(t *testing.T) {
	dir := t.TempDir()
	asked := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	enforced := asked.Add(3 * time.Second)
	g, err := guard.Open(dir, guard.WithClock(func() time.Time { return enforced }))
	if err != nil {
		t.Fatal(err)
	}
	clock := new(optout.Clock)
	var logs bytes.Buffer
	calls := 0
	now := func() time.Time { // the handler's clock: receipt, then enforcement
		calls++
		if calls == 1 {
			return asked
		}
		return enforced
	}
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{
		Secret: testSecret, URL: "https://mail.example.com/unsubscribe",
		Clock: clock, Now: now, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := u.Headers("ivy.longname@example.com")
	req := httptest.NewRequest(http.MethodPost, strings.Trim(h["List-Unsubscribe"], "<>"), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	u.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("POST: %d", w.Code)
	}
	st := clock.Stats()
	if d := st.BySource[optout.SourceUnsubscribe]; d.Count != 1 || d.Worst != 3*time.Second || d.Mean != 3*time.Second {
		t.Errorf("clock %+v, want one opt-out of 3s", d)
	}
	if strings.Contains(logs.String(), "ivy.longname") {
		t.Errorf("the log names the recipient: %s", logs.String())
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs, err := s.ReadLog(t.Context(), 0, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("log: %v, %v", recs, err)
	}
	if r := recs[0]; r.Op != storage.OpBlock || r.Source != optout.SourceUnsubscribe || !r.Time.Equal(enforced) {
		t.Errorf("record %+v, want a block by unsubscribe at %v", r, enforced)
	}
	e, ok, err := s.Get(t.Context(), recs[0].Contact)
	if err != nil || !ok || !e.CreatedAt.Equal(asked) {
		t.Errorf("entry %+v (%v, %v), want CreatedAt %v", e, ok, err, asked)
	}
}
