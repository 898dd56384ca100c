package opencx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// pair starts an in-memory fake and a client for it. Call inside a bubble.
func pair(t *testing.T, opts opencxtest.Options, cfg opencx.Config) (*opencxtest.Server, *opencx.Client) {
	t.Helper()
	srv := opencxtest.NewInMemoryServer(opts)
	t.Cleanup(srv.Close)
	cfg.BaseURL, cfg.HTTPClient = srv.URL(), srv.Client()
	if cfg.Token == "" {
		cfg.Token = srv.Token()
	}
	c, err := opencx.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func asError(t *testing.T, err error) *opencx.Error {
	t.Helper()
	var e *opencx.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *opencx.Error", err, err)
	}
	return e
}

func TestNew(t *testing.T) {
	const secret = "ocx_live_s3cr3t"
	if _, err := opencx.New(opencx.Config{}); err == nil {
		t.Error("New without a token succeeded")
	}
	for _, bad := range []string{"ftp://api.open.cx", "api.open.cx", "https://api.open.cx/?x=1", "http://%zz"} {
		_, err := opencx.New(opencx.Config{Token: secret, BaseURL: bad})
		if err == nil {
			t.Errorf("New accepted base URL %q", bad)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("error contains the token: %v", err)
		}
	}
	_, err := opencx.New(opencx.Config{Token: secret + "\n"})
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("token with a newline: %v", err)
	}
	if _, err := opencx.New(opencx.Config{Token: secret}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestClient_BlockContact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{Duplicates: opencxtest.KeepOne}, opencx.Config{})
		if err := c.BlockContact(t.Context(), "Ann.Lee@Example.com", "opt-out"); err != nil {
			t.Fatal(err)
		}
		if err := c.BlockContact(t.Context(), "bob@example.org", ""); err != nil {
			t.Fatal(err)
		}
		got := srv.Contacts()
		if len(got) != 2 || got[0].Email != "Ann.Lee@Example.com" || got[0].Reason != "opt-out" || got[0].ID == "" ||
			got[0].ContactID == "" || !got[0].CreatedAt.Equal(time.Now()) {
			t.Fatalf("fake holds %+v", got)
		}
		reqs := srv.Requests()
		r := reqs[0]
		if r.Method != "POST" || r.Path != "/blocklist/contacts" || r.Status != 200 {
			t.Fatalf("request %s %s -> %d", r.Method, r.Path, r.Status)
		}
		if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Accept") != "application/json" ||
			r.Header.Get("Authorization") != "Bearer ***" {
			t.Fatalf("headers %v", r.Header)
		}
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil || body["email"] != "Ann.Lee@Example.com" || body["reason"] != "opt-out" || len(body) != 2 {
			t.Fatalf("body %s", r.Body)
		}
		var body2 map[string]any
		if err := json.Unmarshal(reqs[1].Body, &body2); err != nil || len(body2) != 1 {
			t.Fatalf("an empty reason must be omitted: %s", reqs[1].Body)
		}

		// a duplicate (any case): 200, one entry kept, counted
		if err := c.BlockContact(t.Context(), "ann.lee@example.com", "again"); err != nil {
			t.Fatalf("duplicate: %v", err)
		}
		if n := len(srv.Contacts()); n != 2 || srv.Duplicates() != 1 {
			t.Fatalf("after duplicate: %d contacts, %d duplicates", n, srv.Duplicates())
		}

		// refused before sending
		before := len(srv.Requests())
		err := c.BlockContact(t.Context(), "bad..dots@example.com", "x")
		e := asError(t, err)
		if !errors.Is(err, opencx.ErrInvalidEmail) || e.Temporary() || e.StatusCode != 0 {
			t.Fatalf("invalid email: %v temporary=%v", err, e.Temporary())
		}
		if len(srv.Requests()) != before {
			t.Fatal("an invalid email was sent")
		}
		if st := c.Stats(); st.Requests != 3 || st.Rejected != 1 || st.Errors != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestClient_BlockContactConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pair(t, opencxtest.Options{Duplicates: opencxtest.Conflict}, opencx.Config{})
		if err := c.BlockContact(t.Context(), "a@example.com", ""); err != nil {
			t.Fatal(err)
		}
		e := asError(t, c.BlockContact(t.Context(), "a@example.com", ""))
		if e.StatusCode != 409 || e.Temporary() || e.Message != "Contact is already blocked" || e.ErrorText != "Conflict" {
			t.Fatalf("conflict: %+v", e)
		}
	})
}

func TestClient_BlockDomains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{}, opencx.Config{})
		srv.SeedDomains(opencxtest.Domain{Domain: "old.example"})
		res, err := c.BlockDomains(t.Context(), []string{"spam.com", "Junk.org", "old.example"}, "abuse")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Blocked) != 2 || res.Blocked[0].Domain != "spam.com" || res.Blocked[1].Domain != "junk.org" ||
			res.Blocked[0].Reason != "abuse" || res.Blocked[0].ID == "" || !res.Blocked[0].CreatedAt.Equal(time.Now().UTC()) {
			t.Fatalf("blocked %+v", res.Blocked)
		}
		if fmt.Sprint(res.Skipped) != "[old.example]" || res.Summary != (opencx.DomainsSummary{Total: 3, Blocked: 2, Skipped: 1}) {
			t.Fatalf("skipped %v summary %+v", res.Skipped, res.Summary)
		}
		var body map[string]string
		json.Unmarshal(srv.Requests()[0].Body, &body)
		if body["domains"] != "spam.com, Junk.org, old.example" || body["reason"] != "abuse" {
			t.Fatalf("body %v", body)
		}
		// idempotent: everything is skipped the second time
		res, err = c.BlockDomains(t.Context(), []string{"spam.com"}, "")
		if err != nil || len(res.Blocked) != 0 || res.Summary.Skipped != 1 {
			t.Fatalf("again: %+v %v", res, err)
		}
		if len(srv.Domains()) != 3 {
			t.Fatalf("fake holds %+v", srv.Domains())
		}

		n := len(srv.Requests())
		if res, err := c.BlockDomains(t.Context(), nil, "x"); err != nil || res.Summary.Total != 0 {
			t.Fatalf("empty list: %+v %v", res, err)
		}
		if _, err := c.BlockDomains(t.Context(), []string{"ok.com", "*.bad.com"}, ""); !errors.Is(err, opencx.ErrInvalidDomain) || asError(t, err).Temporary() {
			t.Fatalf("invalid domain: %v", err)
		}
		if len(srv.Requests()) != n {
			t.Fatal("a request was sent for an empty or invalid list")
		}
	})
}

func seedContacts(srv *opencxtest.Server, n int) {
	start := time.Now().Add(-time.Duration(n) * time.Minute)
	for i := range n {
		srv.Seed(opencxtest.Contact{Email: fmt.Sprintf("user%03d@example.com", i), PhoneNumber: "+15550100", Name: "N",
			Reason: "r", CreatedAt: start.Add(time.Duration(i) * time.Minute)})
	}
}

func listAll(t *testing.T, c *opencx.Client) ([]opencx.BlockedContact, int) {
	t.Helper()
	var all []opencx.BlockedContact
	pages := 0
	for page := 1; ; page++ {
		p, err := c.ListContacts(t.Context(), page)
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		pages++
		if p.Page != page {
			t.Fatalf("asked page %d, got %d", page, p.Page)
		}
		all = append(all, p.Data...)
		if !p.More() {
			return all, pages
		}
	}
}

func TestClient_ListContactsPagination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{}, opencx.Config{PageSize: 20})
		seedContacts(srv, 250)
		all, pages := listAll(t, c)
		if pages != 13 || len(all) != 250 {
			t.Fatalf("%d pages, %d contacts; want 13 and 250", pages, len(all))
		}
		seen := map[string]bool{}
		for _, bc := range all {
			seen[bc.Email] = true
		}
		if len(seen) != 250 {
			t.Fatalf("%d distinct emails", len(seen))
		}
		// newest first by default
		if all[0].Email != "user249@example.com" || all[0].PhoneNumber != "+15550100" || all[0].ContactID == "" || all[0].CreatedAt.IsZero() {
			t.Fatalf("first entry %+v", all[0])
		}
		q := srv.Requests()[3].Query
		if q.Get("page") != "4" || q.Get("limit") != "20" {
			t.Fatalf("query %v", q)
		}
	})
}

func TestClient_ListContactsSizeParam(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The client names the size "per_page"; a fake that calls it so obeys it.
		srv, c := pair(t, opencxtest.Options{PageSizeParam: "per_page"}, opencx.Config{PageSize: 50, PageSizeParam: "per_page"})
		seedContacts(srv, 120)
		if _, pages := listAll(t, c); pages != 3 {
			t.Fatalf("%d pages with per_page=50", pages)
		}
		// A fake that does not know the name uses its default (20): the client
		// still gets everything by following total_pages.
		srv2, c2 := pair(t, opencxtest.Options{}, opencx.Config{PageSize: 50, PageSizeParam: "per_page"})
		seedContacts(srv2, 120)
		all, pages := listAll(t, c2)
		if pages != 6 || len(all) != 120 {
			t.Fatalf("%d pages, %d contacts", pages, len(all))
		}
		// A page size above the fake's cap is clamped; total_pages follows.
		srv3, c3 := pair(t, opencxtest.Options{MaxPageSize: 30}, opencx.Config{PageSize: 100})
		seedContacts(srv3, 61)
		if all, pages := listAll(t, c3); pages != 3 || len(all) != 61 {
			t.Fatalf("clamped: %d pages, %d contacts", pages, len(all))
		}
		// Negative PageSize sends no size parameter.
		srv4, c4 := pair(t, opencxtest.Options{}, opencx.Config{PageSize: -1})
		if _, err := c4.ListContacts(t.Context(), 0); err != nil {
			t.Fatal(err)
		}
		if r := srv4.Requests()[0]; r.RawQuery != "page=1" {
			t.Fatalf("query %q", r.RawQuery)
		}
	})
}

func TestClient_Auth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wrong = "ocx_live_wrong_token"
		_, c := pair(t, opencxtest.Options{}, opencx.Config{Token: wrong})
		err := c.BlockContact(t.Context(), "a@example.com", "")
		e := asError(t, err)
		if e.StatusCode != 401 || e.Message != "Unauthorized" || e.ErrorText != "Unauthorized" || e.Temporary() {
			t.Fatalf("401: %+v", e)
		}
		if strings.Contains(err.Error(), wrong) || err.Error() != "opencx: block contact: 401 Unauthorized: Unauthorized" {
			t.Fatalf("error text %q", err)
		}

		_, ro := pair(t, opencxtest.Options{Scopes: []string{"blocklist:read"}}, opencx.Config{})
		if _, err := ro.ListContacts(t.Context(), 1); err != nil {
			t.Fatalf("read with a read scope: %v", err)
		}
		e = asError(t, ro.BlockContact(t.Context(), "a@example.com", ""))
		if e.StatusCode != 403 || e.Temporary() {
			t.Fatalf("403: %+v", e)
		}
	})
}

func TestClient_FaultClasses(t *testing.T) {
	cases := []struct {
		name      string
		faults    opencxtest.Faults
		status    int
		temporary bool
		is        error
	}{
		{"server error", opencxtest.Faults{ServerError: opencxtest.Fault{Next: 1}}, 500, true, nil},
		{"503", opencxtest.Faults{ServerError: opencxtest.Fault{Next: 1}, ServerErrorStatus: 503}, 503, true, nil},
		{"reset", opencxtest.Faults{Reset: opencxtest.Fault{Next: 1}}, 0, true, nil},
		{"truncated", opencxtest.Faults{Truncated: opencxtest.Fault{Next: 1}}, 200, true, io.ErrUnexpectedEOF},
		{"malformed", opencxtest.Faults{Malformed: opencxtest.Fault{Next: 1}}, 200, false, opencx.ErrBadResponse},
		{"schema", opencxtest.Faults{Schema: opencxtest.Fault{Next: 1}}, 200, false, opencx.ErrBadResponse},
		{"slow past the timeout", opencxtest.Faults{Slow: opencxtest.Fault{Next: 1}, SlowDelay: time.Minute}, 0, true, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, c := pair(t, opencxtest.Options{}, opencx.Config{Timeout: 5 * time.Second})
				seedContacts(srv, 3)
				srv.SetFaults(tc.faults)
				start := time.Now()
				_, err := c.ListContacts(t.Context(), 1)
				e := asError(t, err)
				if e.StatusCode != tc.status || e.Temporary() != tc.temporary {
					t.Fatalf("%v: status %d temporary %v; want %d %v", err, e.StatusCode, e.Temporary(), tc.status, tc.temporary)
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("%v does not wrap %v", err, tc.is)
				}
				if tc.status == 500 && (e.Message != "Internal server error" || e.ErrorText != "Internal Server Error") {
					t.Fatalf("vendor message not surfaced: %+v", e)
				}
				if tc.name == "slow past the timeout" && time.Since(start) != 5*time.Second {
					t.Fatalf("timed out after %v, want 5s", time.Since(start))
				}
				// the fault is spent: the next call works
				if _, err := c.ListContacts(t.Context(), 1); err != nil {
					t.Fatalf("after the fault: %v", err)
				}
				if st := c.Stats(); st.Errors != 1 || st.Requests != 2 {
					t.Fatalf("stats %+v", st)
				}
			})
		})
	}
}

func TestClient_BlockContactIgnoresBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// POST /blocklist/contacts documents no body: a garbled one is not an error.
		srv, c := pair(t, opencxtest.Options{}, opencx.Config{})
		srv.SetFaults(opencxtest.Faults{Malformed: opencxtest.Fault{Next: 1}, Schema: opencxtest.Fault{Next: 1}})
		for i := range 2 {
			if err := c.BlockContact(t.Context(), fmt.Sprintf("u%d@example.com", i), ""); err != nil {
				t.Fatalf("block %d: %v", i, err)
			}
		}
		if got := srv.FaultCounts(); got[opencxtest.FaultMalformed] != 1 || got[opencxtest.FaultSchema] != 1 {
			t.Fatalf("faults fired %v", got)
		}
	})
}

func TestClient_RateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{RequestsPerMinute: 2, RetryAfter: true}, opencx.Config{RequestsPerMinute: -1})
		for range 2 {
			if _, err := c.ListContacts(t.Context(), 1); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Second)
		_, err := c.ListContacts(t.Context(), 1)
		e := asError(t, err)
		if e.StatusCode != 429 || !e.Temporary() || e.RetryAfter != 40*time.Second {
			t.Fatalf("429: %+v", e)
		}
		// the client holds its next request until Retry-After has passed
		start := time.Now()
		if _, err := c.ListContacts(t.Context(), 1); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
		if d := time.Since(start); d != 40*time.Second {
			t.Fatalf("held %v, want 40s", d)
		}
		if st := c.Stats(); st.RateLimited != 1 || st.Waited != 40*time.Second {
			t.Fatalf("stats %+v", st)
		}
		if srv.RateViolations() != 1 {
			t.Fatalf("fake counted %d violations", srv.RateViolations())
		}
	})
}

func TestClient_PacingUnderSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{}, opencx.Config{})
		start := time.Now()
		for i := range 250 {
			if _, err := c.ListContacts(t.Context(), 1); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		elapsed := time.Since(start)
		if srv.RateViolations() != 0 || srv.MaxRate() > 100 {
			t.Fatalf("fake saw %d violations, at most %d in a minute", srv.RateViolations(), srv.MaxRate())
		}
		// requests 1, 101 and 201 must be a minute apart at least; the
		// smoothing (100/min after a burst of 10) adds little on top.
		if elapsed < 120*time.Second || elapsed > 150*time.Second {
			t.Fatalf("250 requests took %v of fake time", elapsed)
		}
		if st := c.Stats(); st.Requests != 250 || st.RateLimited != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestClient_ContextCanceledWhilePacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pair(t, opencxtest.Options{}, opencx.Config{RequestsPerMinute: 1, Burst: 1})
		if _, err := c.ListContacts(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		_, err := c.ListContacts(ctx, 1)
		if !errors.Is(err, context.Canceled) || !asError(t, err).Temporary() {
			t.Fatalf("canceled while pacing: %v", err)
		}
		ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if _, err = c.ListContacts(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline shorter than the pace: %v", err)
		}
	})
}

func TestClient_OversizedBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, opencxtest.Options{}, opencx.Config{MaxBodyBytes: 1024})
		seedContacts(srv, 50)
		_, err := c.ListContacts(t.Context(), 1)
		e := asError(t, err)
		if !errors.Is(err, opencx.ErrTooLarge) || e.Temporary() || !e.Accepted() {
			t.Fatalf("oversized: %v temporary=%v", err, e.Temporary())
		}
	})
}

func TestClient_TokenNeverLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const token = "ocx_live_TOPSECRET_123"
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv, c := pair(t, opencxtest.Options{Token: token, RequestsPerMinute: 3}, opencx.Config{Token: token, Logger: log, RequestsPerMinute: -1})
		var errs []error
		errs = append(errs, c.BlockContact(t.Context(), "secret.person@example.com", "why"))
		srv.SetFaults(opencxtest.Faults{ServerError: opencxtest.Fault{Next: 1}})
		_, err := c.ListContacts(t.Context(), 1) // 500
		errs = append(errs, err)
		srv.SetFaults(opencxtest.Faults{Reset: opencxtest.Fault{Next: 1}})
		errs = append(errs, c.BlockContact(t.Context(), "other@example.com", "")) // reset (a POST is not replayed)
		_, err = c.ListContacts(t.Context(), 1)                                   // the fourth request in a minute: 429
		errs = append(errs, err)
		errs = append(errs, c.BlockContact(t.Context(), "bad", ""))
		_, bad := pair(t, opencxtest.Options{}, opencx.Config{Token: token})
		errs = append(errs, bad.BlockContact(t.Context(), "a@example.com", "")) // 401
		n := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			n++
			if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		}
		if n != 5 {
			t.Fatalf("%d errors, want 5: %v", n, errs)
		}
		if logs.Len() == 0 || strings.Contains(logs.String(), token) {
			t.Fatalf("log leaks the token or is empty:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "secret.person") || !strings.Contains(logs.String(), "s***@example.com") {
			t.Fatalf("log does not redact the email:\n%s", logs.String())
		}
		for _, r := range srv.Requests() {
			if strings.Contains(fmt.Sprint(r), token) {
				t.Fatal("the fake recorded the token")
			}
		}
	})
}

func TestClient_ErrorBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			w.Header().Set("X-Request-Id", "req-42")
			w.WriteHeader(400)
			io.WriteString(w, `{"statusCode":400,"message":["email must be an email","reason must be a string"],"error":"Bad Request"}`)
		case "2":
			w.WriteHeader(502)
			io.WriteString(w, "<html><body>Bad gateway</body></html>")
		case "3":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "4":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c, err := opencx.New(opencx.Config{BaseURL: srv.URL, Token: "ocx_test_key", RequestsPerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListContacts(t.Context(), 1)
	e := asError(t, err)
	if e.Message != "email must be an email; reason must be a string" || e.ErrorText != "Bad Request" || e.TraceID != "req-42" || e.Temporary() {
		t.Fatalf("400: %+v", e)
	}
	if !strings.Contains(err.Error(), "[trace req-42]") {
		t.Fatalf("text %q", err)
	}
	_, err = c.ListContacts(t.Context(), 2)
	if e = asError(t, err); e.StatusCode != 502 || e.Message != "<html><body>Bad gateway</body></html>" || !e.Temporary() {
		t.Fatalf("502: %+v", e)
	}
	_, err = c.ListContacts(t.Context(), 3)
	if e = asError(t, err); e.StatusCode != 302 || e.Temporary() {
		t.Fatalf("redirect: %+v", e)
	}
	_, err = c.ListContacts(t.Context(), 4)
	if e = asError(t, err); e.StatusCode != 503 || e.RetryAfter != 7*time.Second || !e.Temporary() {
		t.Fatalf("503: %+v", e)
	}
}

func TestClient_OverTCP(t *testing.T) {
	srv := opencxtest.NewServer(opencxtest.Options{})
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", srv.URL())
	}
	c, err := opencx.New(opencx.Config{BaseURL: srv.URL(), Token: srv.Token()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.BlockContact(t.Context(), "tcp@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	p, err := c.ListContacts(t.Context(), 1)
	if err != nil || p.Total != 1 || p.Data[0].Email != "tcp@example.com" || p.More() {
		t.Fatalf("%+v %v", p, err)
	}
}

// TestClient_ErrorRedactsToken: an error body that echoes the
// Authorization header never puts the token in the error.
func TestClient_ErrorRedactsToken(t *testing.T) {
	const token = "ocx_live_SECRET123"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"statusCode":400,"message":"saw %s","error":"%s"}`, r.Header.Get("Authorization"), token)
	}))
	defer srv.Close()
	c, err := opencx.New(opencx.Config{BaseURL: srv.URL, Token: token, RequestsPerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	err = c.BlockContact(t.Context(), "ann@example.com", "")
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "Bearer [token]") {
		t.Fatalf("error %v: want the token redacted", err)
	}
	if got := c.Redact("x " + token); got != "x [token]" {
		t.Fatalf("Redact = %q", got)
	}
}
