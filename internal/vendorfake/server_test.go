package vendorfake_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/internal/vendorfake"
)

func newServer(t *testing.T, mutate func(*vendorfake.Config)) *vendorfake.Server {
	cfg := vendorfake.Config{
		InMemory:     true,
		Token:        "secret",
		Unauthorized: func() vendorfake.Response { return vendorfake.Response{Status: 401, Body: []byte(`{"e":401}`)} },
		Handle: func(r *vendorfake.Request) vendorfake.Response {
			return vendorfake.Response{Status: 200, Body: []byte(`{"ok":true,"path":"` + r.Path + `"}`)}
		},
		Error: func(status int, trace string) vendorfake.Response {
			return vendorfake.Response{Status: status, Body: fmt.Appendf(nil, `{"code":%d,"trace_id":%q}`, status, trace)}
		},
		RetryAfter: true,
		Decorate: func(resp *vendorfake.Response, rs vendorfake.RateState) {
			resp.Header.Set("X-Limit", fmt.Sprint(rs.Limit, "/", rs.Remaining, "/", int(rs.Reset/time.Second)))
		},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s := vendorfake.Start(cfg)
	t.Cleanup(s.Close)
	return s
}

type result struct {
	status int
	header http.Header
	body   string
	err    error
}

func get(s *vendorfake.Server, method, path, token string) result {
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader("{}"))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b), err}
}

func TestServer_RecordsAndRedacts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, nil)
		defer s.Close()
		if r := get(s, "POST", "/a?x=1", "secret"); r.status != 200 {
			t.Fatalf("authorized: %+v", r)
		}
		if r := get(s, "GET", "/b", "wrong"); r.status != 401 {
			t.Fatalf("wrong token: %+v", r)
		}
		reqs := s.Requests()
		if len(reqs) != 2 {
			t.Fatalf("recorded %d requests", len(reqs))
		}
		a := reqs[0]
		if a.Method != "POST" || a.Path != "/a" || a.Query.Get("x") != "1" || a.RawQuery != "x=1" ||
			string(a.Body) != "{}" || a.Status != 200 || !a.Time.Equal(time.Now()) {
			t.Fatalf("record = %+v", a)
		}
		for _, r := range reqs {
			if got := r.Header.Get("Authorization"); got != "Bearer ***" {
				t.Fatalf("Authorization recorded as %q", got)
			}
			if r.Token != "" || bytes.Contains([]byte(fmt.Sprint(r)), []byte("secret")) {
				t.Fatalf("record keeps the token: %+v", r)
			}
		}
	})
}

func TestServer_SlidingRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, func(c *vendorfake.Config) {
			c.Limits = []vendorfake.Limit{{N: 3, Per: time.Second}, {N: 5, Per: time.Minute}}
		})
		var statuses []int
		for range 4 {
			statuses = append(statuses, get(s, "GET", "/", "secret").status)
		}
		if fmt.Sprint(statuses) != "[200 200 200 429]" {
			t.Fatalf("statuses %v", statuses)
		}
		r := get(s, "GET", "/", "secret")
		if r.status != 429 || r.header.Get("Retry-After") != "1" || r.header.Get("X-Limit") != "" {
			t.Fatalf("429 answer: %+v", r)
		}
		time.Sleep(time.Second)
		r = get(s, "GET", "/", "secret")
		// 6 arrivals in the minute (two of them refused) against a limit of 5
		if r.status != 429 || r.header.Get("Retry-After") != "59" {
			t.Fatalf("minute window: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		if got := s.RateViolations(); got != 3 {
			t.Fatalf("RateViolations = %d, want 3", got)
		}
		if got := fmt.Sprint(s.MaxInWindow()); got != "[5 6]" {
			t.Fatalf("MaxInWindow = %s", got)
		}
	})
}

func TestServer_RateHeadersFixed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, func(c *vendorfake.Config) {
			c.Limits = []vendorfake.Limit{{N: 10, Per: time.Second}, {N: 150, Per: time.Minute}}
			c.RateMode = vendorfake.Fixed
		})
		time.Sleep(500 * time.Millisecond)
		var last string
		for range 10 {
			last = get(s, "GET", "/", "secret").header.Get("X-Limit")
		}
		if last != "10/0/1" {
			t.Fatalf("after 10 in a second: %q, want the second window exhausted", last)
		}
		time.Sleep(500 * time.Millisecond) // a new fixed second begins
		if h := get(s, "GET", "/", "secret").header.Get("X-Limit"); h != "10/9/1" {
			t.Fatalf("next second: %q", h)
		}
	})
}

func TestServer_InFlightLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, func(c *vendorfake.Config) { c.MaxInFlight = 1 })
		s.SetFaults(vendorfake.Faults{Slow: vendorfake.Fault{Next: 1}, SlowDelay: 5 * time.Second})
		done := make(chan result, 1)
		go func() { done <- get(s, "GET", "/slow", "secret") }()
		synctest.Wait()
		r := get(s, "GET", "/", "secret")
		if r.status != 429 || r.header.Get("Retry-After") != "-1" {
			t.Fatalf("second in flight: %+v", r)
		}
		if first := <-done; first.status != 200 {
			t.Fatalf("slow request: %+v", first)
		}
		if s.InFlightRejections() != 1 || s.PeakInFlight() != 1 {
			t.Fatalf("rejections %d peak %d", s.InFlightRejections(), s.PeakInFlight())
		}
	})
}

func TestServer_Faults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		handled := 0
		s := newServer(t, func(c *vendorfake.Config) {
			inner := c.Handle
			c.Handle = func(r *vendorfake.Request) vendorfake.Response { handled++; return inner(r) }
			c.SchemaViolation = func(*vendorfake.Request) []byte { return []byte(`{"ok":"yes"}`) }
		})
		s.SetFaults(vendorfake.Faults{
			ServerError: vendorfake.Fault{Next: 2}, ServerErrorStatus: 503,
			Reset: vendorfake.Fault{Next: 1}, Truncated: vendorfake.Fault{Next: 1},
			Malformed: vendorfake.Fault{Next: 1}, Schema: vendorfake.Fault{Next: 1},
		})
		r := get(s, "GET", "/", "secret")
		if !errors.Is(r.err, io.EOF) && (r.err == nil || !strings.Contains(r.err.Error(), "EOF")) {
			t.Fatalf("reset: %+v", r)
		}
		for range 2 {
			if r = get(s, "GET", "/", "secret"); r.status != 503 || !strings.Contains(r.body, `"code":503`) {
				t.Fatalf("server error: %+v", r)
			}
		}
		if handled != 0 {
			t.Fatalf("failed requests were carried out: %d", handled)
		}
		if r = get(s, "GET", "/", "secret"); !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated: %+v", r)
		}
		if r = get(s, "GET", "/", "secret"); r.status != 200 || !strings.HasPrefix(r.body, `{"oops"`) {
			t.Fatalf("malformed: %+v", r)
		}
		if r = get(s, "GET", "/", "secret"); r.body != `{"ok":"yes"}` {
			t.Fatalf("schema: %+v", r)
		}
		if r = get(s, "GET", "/", "secret"); r.status != 200 || !strings.Contains(r.body, `"ok":true`) {
			t.Fatalf("after the faults: %+v", r)
		}
		var faults []string
		for _, q := range s.Requests() {
			faults = append(faults, q.Fault)
		}
		if got := strings.Join(faults, " "); got != "reset server_error server_error truncated malformed schema " {
			t.Fatalf("recorded faults %q", got)
		}
		c := s.FaultCounts()
		if c[vendorfake.FaultServerError] != 2 || c[vendorfake.FaultReset] != 1 || c[vendorfake.FaultSchema] != 1 {
			t.Fatalf("counts %v", c)
		}
	})
}

func TestServer_FaultsSeededAndMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, nil)
		pattern := func() string {
			s.SetFaults(vendorfake.Faults{Seed: 7, Method: "POST", ServerError: vendorfake.Fault{Prob: 0.5}})
			var b strings.Builder
			for range 40 {
				if get(s, "GET", "/", "secret").status != 200 {
					t.Fatal("a GET was faulted")
				}
				fmt.Fprint(&b, get(s, "POST", "/", "secret").status/100)
			}
			return b.String()
		}
		a, b := pattern(), pattern()
		if a != b || !strings.Contains(a, "5") || !strings.Contains(a, "2") {
			t.Fatalf("not reproducible or not mixed: %s / %s", a, b)
		}
	})
}

func TestServer_SlowCutByClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, nil)
		s.SetFaults(vendorfake.Faults{Slow: vendorfake.Fault{Next: 1}, SlowDelay: time.Hour})
		done := make(chan result, 1)
		go func() { done <- get(s, "GET", "/", "secret") }()
		synctest.Wait()
		start := time.Now()
		s.Close()
		if r := <-done; r.err == nil {
			t.Fatalf("slow request answered after Close: %+v", r)
		}
		if time.Since(start) != 0 {
			t.Fatalf("Close waited %v", time.Since(start))
		}
	})
}

func TestServer_TraceIDSeeded(t *testing.T) {
	a := vendorfake.Start(vendorfake.Config{Seed: 3, Handle: func(*vendorfake.Request) vendorfake.Response { return vendorfake.Response{} }})
	defer a.Close()
	b := vendorfake.Start(vendorfake.Config{Seed: 3, Handle: func(*vendorfake.Request) vendorfake.Response { return vendorfake.Response{} }})
	defer b.Close()
	ta, tb := a.TraceID(), b.TraceID()
	if ta != tb || len(ta) != 36 || ta[14] != '4' || a.TraceID() == ta {
		t.Fatalf("trace ids %q %q", ta, tb)
	}
	if !strings.HasPrefix(a.URL(), "http://127.0.0.1:") {
		t.Fatalf("TCP URL %q", a.URL())
	}
}
