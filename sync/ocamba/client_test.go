package ocamba_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
)

func pair(t *testing.T, opts ocambatest.Options, cfg ocamba.Config) (*ocambatest.Server, *ocamba.Client) {
	t.Helper()
	srv := ocambatest.NewInMemoryServer(opts)
	t.Cleanup(srv.Close)
	cfg.BaseURL, cfg.HTTPClient = srv.URL(), srv.Client()
	if cfg.Token == "" {
		cfg.Token = srv.Token()
	}
	c, err := ocamba.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func asError(t *testing.T, err error) *ocamba.Error {
	t.Helper()
	var e *ocamba.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *ocamba.Error", err, err)
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func TestNew(t *testing.T) {
	const secret = "oc_s3cr3t_token"
	if _, err := ocamba.New(ocamba.Config{}); err == nil {
		t.Error("New without a token succeeded")
	}
	if _, err := ocamba.New(ocamba.Config{Token: secret, BaseURL: "not a url"}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("bad base URL: %v", err)
	}
	if _, err := ocamba.New(ocamba.Config{Token: "a b"}); err == nil {
		t.Error("token with a space accepted")
	}
	if _, err := ocamba.New(ocamba.Config{Token: secret}); err != nil {
		t.Error(err)
	}
}

// TestNew_BaseURL: Ocamba's docs give the base both as
// https://api.ocamba.com and as https://api.ocamba.com/v1/hood; either
// form (with or without a trailing slash) reaches /v1/hood/blocked-contacts,
// never /v1/hood/v1/hood/blocked-contacts.
func TestNew_BaseURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{})
		defer srv.Close()
		for _, base := range []string{srv.URL(), srv.URL() + "/", srv.URL() + "/v1/hood", srv.URL() + "/v1/hood/"} {
			c, err := ocamba.New(ocamba.Config{BaseURL: base, Token: srv.Token(), HTTPClient: srv.Client()})
			if err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			reqs := srv.Requests()
			if got := reqs[len(reqs)-1].Path; got != "/v1/hood/blocked-contacts" {
				t.Fatalf("base %s: request to %s", base, got)
			}
		}
	})
	for _, base := range []string{"/v1/hood", "/v1/hood/"} {
		if _, err := ocamba.New(ocamba.Config{BaseURL: base, Token: "t"}); err == nil {
			t.Errorf("base %q accepted", base)
		}
	}
}

func TestClient_Create(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{})
		got, err := c.CreateBlockedContact(t.Context(), "+38112345678", "opted out")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "1000" || got.Type != ocamba.TypePhone || got.Contact != ocamba.MaskedContact ||
			got.Description != "opted out" || got.CompanyID != "7196310" || got.CreatorID != "1000163" {
			t.Fatalf("created %+v", got)
		}
		got, err = c.CreateBlockedContact(t.Context(), "ann@example.com", "")
		if err != nil || got.ID != "1001" || got.Type != "email" {
			t.Fatalf("email: %+v %v", got, err)
		}
		held := srv.Blocked()
		if len(held) != 2 || held[0].Contact != "+38112345678" || !held[0].CreateTime.Equal(time.Now()) {
			t.Fatalf("fake holds %+v", held)
		}
		r := srv.Requests()[0]
		if r.Method != "POST" || r.Path != "/v1/hood/blocked-contacts" || r.Status != 201 ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Authorization") != "Bearer ***" ||
			r.Header.Get("Accept") != "application/json" {
			t.Fatalf("request %+v", r)
		}
		var body map[string]any
		if json.Unmarshal(r.Body, &body) != nil || body["contact"] != "+38112345678" || body["description"] != "opted out" {
			t.Fatalf("body %s", r.Body)
		}
		var body2 map[string]any
		if json.Unmarshal(srv.Requests()[1].Body, &body2) != nil || len(body2) != 1 {
			t.Fatalf("empty description must be omitted: %s", srv.Requests()[1].Body)
		}

		// duplicate: a new row (the conservative reading), counted
		dup, err := c.CreateBlockedContact(t.Context(), "+38112345678", "again")
		if err != nil || dup.ID != "1002" || srv.Duplicates() != 1 || len(srv.Blocked()) != 3 {
			t.Fatalf("duplicate: %+v %v, %d duplicates", dup, err, srv.Duplicates())
		}

		n := len(srv.Requests())
		for _, bad := range []string{"38112345678", "+381 1234 5678", "ann@", "* * * * *"} {
			_, err := c.CreateBlockedContact(t.Context(), bad, "")
			if !errors.Is(err, ocamba.ErrInvalidContact) || asError(t, err).Temporary() {
				t.Fatalf("%q: %v", bad, err)
			}
		}
		if len(srv.Requests()) != n || c.Stats().Rejected != 4 {
			t.Fatal("an invalid contact was sent")
		}
	})
}

func TestClient_CreateConflict(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := pair(t, ocambatest.Options{Duplicates: ocambatest.Conflict}, ocamba.Config{})
		if _, err := c.CreateBlockedContact(t.Context(), "+12025550123", ""); err != nil {
			t.Fatal(err)
		}
		e := asError(t, func() error { _, err := c.CreateBlockedContact(t.Context(), "+12025550123", ""); return err }())
		if e.StatusCode != 409 || e.Temporary() || e.Title != "Conflict." || len(e.TraceID) != 36 {
			t.Fatalf("conflict %+v", e)
		}
	})
}

func seed(srv *ocambatest.Server, n int, start time.Time) {
	for i := range n {
		srv.Seed(ocambatest.Entry{Contact: fmt.Sprintf("+1202555%04d", i), Description: "seeded",
			CreateTime: start.Add(time.Duration(i) * time.Minute)})
	}
}

func pullAll(t *testing.T, c *ocamba.Client, q ocamba.ListQuery) ([]ocamba.BlockedContact, int) {
	t.Helper()
	var all []ocamba.BlockedContact
	for pages := 1; ; pages++ {
		p, err := c.ListBlockedContacts(t.Context(), q)
		if err != nil {
			t.Fatalf("page %d: %v", q.Page, err)
		}
		all = append(all, p.Items...)
		next, more := p.Next()
		if !more {
			return all, pages
		}
		q = next
	}
}

func TestClient_ListPagination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{PageSize: 40})
		start := time.Now().Add(-300 * time.Minute)
		seed(srv, 250, start)
		all, pages := pullAll(t, c, ocamba.ListQuery{})
		if pages != 7 || len(all) != 250 {
			t.Fatalf("%d pages, %d items", pages, len(all))
		}
		for i, bc := range all {
			if bc.Contact != fmt.Sprintf("+1202555%04d", i) || bc.Masked() || bc.Type != ocamba.TypePhone ||
				!bc.CreateTime.Equal(start.Add(time.Duration(i)*time.Minute).UTC().Truncate(time.Second)) || bc.UpdateTime.IsZero() {
				t.Fatalf("item %d = %+v", i, bc)
			}
		}
		if raw := srv.Requests()[1].RawQuery; raw != "page=2,40&sort=create_time&read_gdpr_fields=true" {
			t.Fatalf("query %q", raw)
		}
	})
}

func TestClient_ListShortPages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The fake caps M at 30 while the client asks for 100: Next adapts.
		srv, c := pair(t, ocambatest.Options{MaxPageSize: 30}, ocamba.Config{})
		seed(srv, 95, time.Now().Add(-time.Hour))
		all, _ := pullAll(t, c, ocamba.ListQuery{})
		seen := map[string]bool{}
		for _, bc := range all {
			seen[bc.ID] = true
		}
		if len(all) != 95 || len(seen) != 95 {
			t.Fatalf("%d items, %d distinct", len(all), len(seen))
		}
		// Next from a later short page picks a size that stays aligned
		p := ocamba.Page{Total: 95, Items: make([]ocamba.BlockedContact, 30), Query: ocamba.ListQuery{Page: 2, PerPage: 40}}
		next, more := p.Next() // read items 1-40 then 41-70: continue at 71
		if !more || (next.Page-1)*next.PerPage != 70 {
			t.Fatalf("next %+v", next)
		}
	})
}

func TestClient_IncrementalPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{})
		start := time.Date(2025, 2, 13, 8, 0, 0, 0, time.UTC)
		seed(srv, 10, start) // 08:00 ... 08:09
		since := start.Add(6*time.Minute + 500*time.Millisecond)
		all, _ := pullAll(t, c, ocamba.ListQuery{CreatedSince: since})
		if len(all) != 4 || all[0].Contact != "+12025550006" {
			t.Fatalf("since 08:06: %+v", all)
		}
		if raw := srv.Requests()[0].RawQuery; raw != "page=1,100&sort=create_time&create_time=rl:2025-02-13%2008:06:00&read_gdpr_fields=true" {
			t.Fatalf("query %q", raw)
		}
		if q := srv.Requests()[0].Query; q.Get("create_time") != "rl:2025-02-13 08:06:00" || q.Get("page") != "1,100" {
			t.Fatalf("decoded query %v", q)
		}
		// newest first, if asked
		p, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{Sort: "-create_time", PerPage: 3})
		if err != nil || p.Total != 10 || len(p.Items) != 3 || p.Items[0].Contact != "+12025550009" {
			t.Fatalf("newest first: %+v %v", p, err)
		}
	})
}

func TestClient_Masking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{})
		ids := srv.Seed(ocambatest.Entry{Contact: "+12025550100"}, ocambatest.Entry{Contact: "ann@example.com", Masked: true})
		p, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		if err != nil || len(p.Items) != 2 || p.Items[0].Masked() || !p.Items[1].Masked() || p.Items[1].Type != "" {
			t.Fatalf("gdpr read: %+v %v", p, err)
		}

		noGDPR, _ := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client(), ReadGDPRFields: ptr(false)})
		p, err = noGDPR.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		if err != nil || !p.Items[0].Masked() || p.Items[0].Contact != ocamba.MaskedContact || p.Items[0].Type != "" || p.Items[0].ID != ids[0] {
			t.Fatalf("read without read_gdpr_fields: %+v %v", p, err)
		}
		if strings.Contains(srv.Requests()[1].RawQuery, "read_gdpr_fields") {
			t.Fatal("read_gdpr_fields sent though disabled")
		}

		srv3, c3 := pair(t, ocambatest.Options{Masking: ocambatest.MaskAlways}, ocamba.Config{})
		srv3.Seed(ocambatest.Entry{Contact: "+12025550100"})
		p, err = c3.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		if err != nil || !p.Items[0].Masked() {
			t.Fatalf("MaskAlways: %+v %v", p, err)
		}

		// As Ocamba's examples show: a list without read_gdpr_fields has
		// real values, a get-by-id without it does not.
		srv4 := ocambatest.NewInMemoryServer(ocambatest.Options{Masking: ocambatest.MaskGetUnlessGDPR})
		defer srv4.Close()
		ids4 := srv4.Seed(ocambatest.Entry{Contact: "+12025550100"})
		c4, _ := ocamba.New(ocamba.Config{BaseURL: srv4.URL(), Token: srv4.Token(), HTTPClient: srv4.Client(), ReadGDPRFields: ptr(false)})
		if p, err := c4.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil || p.Items[0].Masked() || p.Items[0].Contact != "+12025550100" {
			t.Fatalf("MaskGetUnlessGDPR list: %+v %v", p, err)
		}
		if got, err := c4.GetBlockedContact(t.Context(), ids4[0]); err != nil || !got.Masked() {
			t.Fatalf("MaskGetUnlessGDPR get: %+v %v", got, err)
		}

		got, err := c.GetBlockedContact(t.Context(), ids[0])
		if err != nil || got.Contact != "+12025550100" || got.ID != ids[0] {
			t.Fatalf("get: %+v %v", got, err)
		}
		if raw := srv.Requests()[len(srv.Requests())-1]; raw.Path != "/v1/hood/blocked-contacts/"+ids[0] || raw.RawQuery != "read_gdpr_fields=true" {
			t.Fatalf("get request %s?%s", raw.Path, raw.RawQuery)
		}
		_, err = c.GetBlockedContact(t.Context(), "999999")
		if e := asError(t, err); e.StatusCode != 404 || e.Temporary() {
			t.Fatalf("unknown id: %+v", e)
		}
	})
}

func TestClient_Auth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const wrong = "not_the_token"
		_, c := pair(t, ocambatest.Options{}, ocamba.Config{Token: wrong})
		_, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		e := asError(t, err)
		if e.StatusCode != 401 || e.Temporary() || e.Title != "Unauthorized." || strings.Contains(err.Error(), wrong) {
			t.Fatalf("401: %v", err)
		}
	})
}

func TestClient_FaultClasses(t *testing.T) {
	cases := []struct {
		name      string
		faults    ocambatest.Faults
		status    int
		temporary bool
		is        error
	}{
		{"server error", ocambatest.Faults{ServerError: ocambatest.Fault{Next: 1}}, 500, true, nil},
		{"502", ocambatest.Faults{ServerError: ocambatest.Fault{Next: 1}, ServerErrorStatus: 502}, 502, true, nil},
		{"reset", ocambatest.Faults{Reset: ocambatest.Fault{Next: 1}}, 0, true, nil},
		{"truncated", ocambatest.Faults{Truncated: ocambatest.Fault{Next: 1}}, 200, true, io.ErrUnexpectedEOF},
		{"malformed", ocambatest.Faults{Malformed: ocambatest.Fault{Next: 1}}, 200, false, ocamba.ErrBadResponse},
		{"schema", ocambatest.Faults{Schema: ocambatest.Fault{Next: 1}}, 200, false, ocamba.ErrBadResponse},
		{"slow past the timeout", ocambatest.Faults{Slow: ocambatest.Fault{Next: 1}, SlowDelay: time.Minute}, 0, true, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, c := pair(t, ocambatest.Options{}, ocamba.Config{Timeout: 5 * time.Second})
				seed(srv, 3, time.Now())
				srv.SetFaults(tc.faults)
				_, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
				e := asError(t, err)
				if e.StatusCode != tc.status || e.Temporary() != tc.temporary {
					t.Fatalf("%v: status %d temporary %v", err, e.StatusCode, e.Temporary())
				}
				if tc.is != nil && !errors.Is(err, tc.is) {
					t.Fatalf("%v does not wrap %v", err, tc.is)
				}
				if tc.status == 500 && (e.Title != "Internal server error." || len(e.TraceID) != 36 || !strings.Contains(err.Error(), e.TraceID)) {
					t.Fatalf("vendor body not surfaced: %+v", e)
				}
				if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
					t.Fatalf("after the fault: %v", err)
				}
			})
		})
	}
}

func TestClient_CreateUnreadableAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{})
		for i, f := range []ocambatest.Faults{{Malformed: ocambatest.Fault{Next: 1}}, {Schema: ocambatest.Fault{Next: 1}}} {
			srv.SetFaults(f)
			_, err := c.CreateBlockedContact(t.Context(), fmt.Sprintf("+1202555010%d", i), "")
			e := asError(t, err)
			if !errors.Is(err, ocamba.ErrBadResponse) || e.Temporary() || !e.Accepted() || e.StatusCode != 201 {
				t.Fatalf("fault %d: %v", i, err)
			}
		}
		if len(srv.Blocked()) != 2 {
			t.Fatal("the creates were not carried out")
		}
		// ServerError with Applied=1: carried out, answered 500
		srv.SetFaults(ocambatest.Faults{ServerError: ocambatest.Fault{Next: 1}, Applied: 1})
		_, err := c.CreateBlockedContact(t.Context(), "+12025550200", "")
		if e := asError(t, err); e.StatusCode != 500 || !e.Temporary() || len(srv.Blocked()) != 3 {
			t.Fatalf("applied 500: %v, %d held", err, len(srv.Blocked()))
		}
	})
}

func TestClient_RetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: 2},
			ocamba.Config{RequestsPerSecond: -1, RequestsPerMinute: -1})
		for range 2 {
			if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
				t.Fatal(err)
			}
		}
		// Remaining is now 0: the client holds until the window resets, so
		// the third request goes a minute later and is not refused.
		st := c.Stats()
		if st.LastLimit.Limit != 2 || st.LastLimit.Remaining != 0 || st.LastLimit.Reset != time.Minute {
			t.Fatalf("rate headers %+v", st.LastLimit)
		}
		start := time.Now()
		if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != time.Minute || srv.RateViolations() != 0 {
			t.Fatalf("held %v, %d violations", time.Since(start), srv.RateViolations())
		}
	})
}

func TestClient_429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: 1},
			ocamba.Config{RequestsPerSecond: -1, RequestsPerMinute: -1, MaxInFlight: 2})
		srv.Seed(ocambatest.Entry{Contact: "+12025550100"})
		// a second client on the same fake ignores the headers of the first
		other, _ := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: srv.Token(), HTTPClient: srv.Client(), RequestsPerSecond: -1, RequestsPerMinute: -1})
		if _, err := other.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(15 * time.Second)
		_, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		e := asError(t, err)
		// the refused request counts too: the window frees a minute after it
		if e.StatusCode != 429 || !e.Temporary() || e.RetryAfter != 60*time.Second || e.WaitInFlight || e.Title != "Too many requests." {
			t.Fatalf("429: %+v", e)
		}
		if h := srv.Requests()[1].Header; h.Get("X-RateLimit-Limit") != "" {
			t.Fatal("request headers recorded as response headers?")
		}
		start := time.Now()
		if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
		if time.Since(start) != 60*time.Second {
			t.Fatalf("held %v, want 60s", time.Since(start))
		}
	})
}

func TestClient_RetryAfterInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{MaxInFlight: 1}, ocamba.Config{MaxInFlight: 2})
		srv.SetFaults(ocambatest.Faults{Slow: ocambatest.Fault{Next: 1}, SlowDelay: 3 * time.Second})
		done := make(chan error, 1)
		go func() {
			_, err := c.ListBlockedContacts(context.Background(), ocamba.ListQuery{})
			done <- err
		}()
		synctest.Wait()
		_, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		e := asError(t, err)
		if e.StatusCode != 429 || !e.WaitInFlight || !e.Temporary() || e.RetryAfter != 0 || !strings.Contains(err.Error(), "in flight") {
			t.Fatalf("-1: %+v", e)
		}
		start := time.Now()
		if err := c.AwaitInFlight(t.Context()); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) != 3*time.Second {
			t.Fatalf("AwaitInFlight returned after %v, want when the slow request ended (3s)", time.Since(start))
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
			t.Fatal(err)
		}
		if st := c.Stats(); st.WaitInFlight != 1 || st.RateLimited != 1 || srv.InFlightRejections() != 1 {
			t.Fatalf("stats %+v, fake %d", st, srv.InFlightRejections())
		}
	})
}

// TestClient_Pacing drives 300 requests through a default client: the
// fake's counters never pass 10 per second or 150 per minute, it never
// answers 429, and fake time advances by the minute that the minute limit
// demands.
func TestClient_Pacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{})
		start := time.Now()
		for i := range 300 {
			var err error
			if i%2 == 0 {
				_, err = c.CreateBlockedContact(t.Context(), fmt.Sprintf("+1202555%04d", i), "")
			} else {
				_, err = c.ListBlockedContacts(t.Context(), ocamba.ListQuery{PerPage: 10})
			}
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		elapsed := time.Since(start)
		perSecond, perMinute := srv.MaxRate()
		if perSecond > 10 || perMinute > 150 || srv.RateViolations() != 0 {
			t.Fatalf("fake saw %d/s, %d/min, %d violations", perSecond, perMinute, srv.RateViolations())
		}
		if perSecond < 5 || perMinute < 140 {
			t.Fatalf("suspiciously slow: %d/s, %d/min", perSecond, perMinute)
		}
		if elapsed < time.Minute || elapsed > 130*time.Second {
			t.Fatalf("300 requests took %v of fake time", elapsed)
		}
		st := c.Stats()
		if st.Requests != 300 || st.RateLimited != 0 || st.Waited < time.Minute || len(srv.Blocked()) != 150 {
			t.Fatalf("stats %+v, %d held", st, len(srv.Blocked()))
		}
		t.Logf("300 requests in %v of fake time; max %d/s, %d/min", elapsed, perSecond, perMinute)
	})
}

func TestClient_PacingFixedWindows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Against Ocamba's documented fixed windows, at an awkward offset.
		srv, c := pair(t, ocambatest.Options{RateMode: ocambatest.Fixed}, ocamba.Config{Burst: 10})
		time.Sleep(999 * time.Millisecond)
		for i := range 200 {
			if _, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}); err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
		}
		if srv.RateViolations() != 0 {
			t.Fatalf("%d violations", srv.RateViolations())
		}
	})
}

func TestClient_OversizedBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := pair(t, ocambatest.Options{}, ocamba.Config{MaxBodyBytes: 2048})
		seed(srv, 40, time.Now())
		_, err := c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})
		if e := asError(t, err); !errors.Is(err, ocamba.ErrTooLarge) || e.Temporary() {
			t.Fatalf("oversized: %v", err)
		}
	})
}

func TestClient_TokenNeverLeaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const token = "ocamba_TOPSECRET_987"
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv, c := pair(t, ocambatest.Options{Token: token, RequestsPerMinute: 4}, ocamba.Config{Token: token, Logger: log, RequestsPerMinute: -1})
		var errs []error
		keep := func(_ any, err error) { errs = append(errs, err) }
		keep(c.CreateBlockedContact(t.Context(), "secret.person@example.com", "d"))
		srv.SetFaults(ocambatest.Faults{ServerError: ocambatest.Fault{Next: 1}})
		keep(c.ListBlockedContacts(t.Context(), ocamba.ListQuery{})) // 500
		srv.SetFaults(ocambatest.Faults{Reset: ocambatest.Fault{Next: 1}})
		keep(c.CreateBlockedContact(t.Context(), "other.person@example.com", "d")) // reset (a POST is not replayed)
		keep(c.ListBlockedContacts(t.Context(), ocamba.ListQuery{}))               // Remaining: 0 from here: c would hold
		other, _ := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: token, HTTPClient: srv.Client(), Logger: log})
		keep(other.ListBlockedContacts(t.Context(), ocamba.ListQuery{})) // the fifth request in a minute: 429
		keep(c.CreateBlockedContact(t.Context(), "nope", ""))
		_, bad := pair(t, ocambatest.Options{}, ocamba.Config{Token: token})
		keep(bad.GetBlockedContact(t.Context(), "1"))
		n := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			n++
			if strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		}
		if n != 5 {
			t.Fatalf("%d errors, want 5: %v", n, errs)
		}
		if logs.Len() == 0 || strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "secret.person") {
			t.Fatalf("log leaks the token or the contact:\n%s", logs.String())
		}
	})
}

func TestClient_OverTCP(t *testing.T) {
	srv := ocambatest.NewServer(ocambatest.Options{})
	defer srv.Close()
	c, err := ocamba.New(ocamba.Config{BaseURL: srv.URL(), Token: srv.Token()})
	if err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateBlockedContact(t.Context(), "+447911123456", "tcp")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetBlockedContact(t.Context(), created.ID)
	if err != nil || got.Contact != "+447911123456" || got.Description != "tcp" {
		t.Fatalf("%+v %v", got, err)
	}
}
