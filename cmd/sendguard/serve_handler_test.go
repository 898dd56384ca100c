package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// newTestServer is serve's handler in this process, on a real store.
func newTestServer(t *testing.T) (*server, *guard.Guard, http.Handler) {
	t.Helper()
	g, err := guard.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &app{ctx: t.Context(), getenv: func(string) string { return "" }}
	s, err := newServer(a, g, serveConfig{token: "tok", interval: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s, g, s.handler()
}

func serveOnce(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestServeReadyz: 503 until serving and once stopping, 200 between.
func TestServeReadyz(t *testing.T) {
	t.Parallel()
	s, g, h := newTestServer(t)
	t.Cleanup(func() { _ = g.Close() })
	if w := serveOnce(h, "GET", "/readyz", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("before serving: %d", w.Code)
	}
	s.ready.Store(true)
	if w := serveOnce(h, "GET", "/readyz", ""); w.Code != http.StatusOK {
		t.Fatalf("serving: %d", w.Code)
	}
	s.ready.Store(false)
	if w := serveOnce(h, "GET", "/readyz", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("stopping: %d", w.Code)
	}
	if w := serveOnce(h, "GET", "/healthz", ""); w.Code != http.StatusOK {
		t.Fatalf("healthz while stopping: %d", w.Code)
	}
}

// TestServeBlocklistFailure: when the store fails, check, block, unblock
// and stats answer 500 with a JSON error, never "allowed".
func TestServeBlocklistFailure(t *testing.T) {
	t.Parallel()
	_, g, h := newTestServer(t)
	if _, err := g.Block(context.Background(), "a@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/check", `{"recipients":["a@example.com"]}`},
		{"POST", "/v1/check", `{"recipients":["b@example.com"]}`},
		{"POST", "/v1/blocks", `{"recipients":["c@example.com"]}`},
		{"DELETE", "/v1/blocks?recipient=a%40example.com", ""},
		{"GET", "/v1/stats", ""},
	} {
		w := serveOnce(h, tc.method, tc.path, tc.body)
		var e apiError
		if w.Code != http.StatusInternalServerError || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("%s %s on a closed guard: %d %s", tc.method, tc.path, w.Code, w.Body)
		}
	}
}
