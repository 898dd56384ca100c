package vendorhttp_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/internal/memnet"
	"github.com/sendguard/sendguard/internal/vendorhttp"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in           string
		d            time.Duration
		inFlight, ok bool
	}{
		{"5", 5 * time.Second, false, true},
		{" 0 ", 0, false, true},
		{"-1", 0, true, true},
		{"-7", 0, true, true},
		{"Thu, 02 Jan 2025 03:04:35 GMT", 30 * time.Second, false, true},
		{"Thu, 02 Jan 2025 03:00:00 GMT", 0, false, true},
		{"", 0, false, false},
		{"soon", 0, false, false},
		{"1.5", 0, false, false},
	}
	for _, c := range cases {
		d, inFlight, ok := vendorhttp.ParseRetryAfter(c.in, now)
		if d != c.d || inFlight != c.inFlight || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v %v %v; want %v %v %v", c.in, d, inFlight, ok, c.d, c.inFlight, c.ok)
		}
	}
}

func TestParseResetSeconds(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for in, want := range map[string]time.Duration{"0": 0, "42": 42 * time.Second, "1700000010": 10 * time.Second} {
		if d, ok := vendorhttp.ParseResetSeconds(in, now); !ok || d != want {
			t.Errorf("ParseResetSeconds(%q) = %v %v, want %v", in, d, ok, want)
		}
	}
	for _, in := range []string{"", "x", "-3"} {
		if _, ok := vendorhttp.ParseResetSeconds(in, now); ok {
			t.Errorf("ParseResetSeconds(%q) ok", in)
		}
	}
}

func TestCheckToken(t *testing.T) {
	if err := vendorhttp.CheckToken("ocx_live_abc123"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "a b", "a\r\nX-Evil: 1", "tök"} {
		err := vendorhttp.CheckToken(bad)
		if !errors.Is(err, vendorhttp.ErrTokenInvalid) {
			t.Errorf("CheckToken(%q) = %v", bad, err)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error text contains the token")
		}
	}
}

func TestParseBaseURL(t *testing.T) {
	if got, err := vendorhttp.ParseBaseURL("", "https://api.example/"); err != nil || got != "https://api.example" {
		t.Fatalf("default: %q %v", got, err)
	}
	if got, err := vendorhttp.ParseBaseURL("http://h:8/prefix/", ""); err != nil || got != "http://h:8/prefix" {
		t.Fatalf("prefix: %q %v", got, err)
	}
	for _, bad := range []string{"ftp://h", "/relative", "http://h/?q=1", "http://u:p@h", "http://h/#f", "http://%zz"} {
		if _, err := vendorhttp.ParseBaseURL(bad, ""); err == nil {
			t.Errorf("ParseBaseURL(%q) accepted", bad)
		}
	}
}

func TestSnippet(t *testing.T) {
	if got := vendorhttp.Snippet([]byte(" <html>\x00oops\n</html> ")); got != "<html>oops</html>" {
		t.Fatalf("Snippet = %q", got)
	}
	long := vendorhttp.Snippet([]byte(strings.Repeat("é", 300)))
	if !strings.HasSuffix(long, "…") || len(long) > 205 || strings.ContainsRune(long, '\uFFFD') {
		t.Fatalf("long snippet = %q", long)
	}
}

func TestDo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var gotAuth, gotCT, gotAccept string
		ln := memnet.Listen("do")
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(
			func(w http.ResponseWriter, r *http.Request) {
				gotAuth, gotCT, gotAccept = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.Header.Get("Accept")
				switch r.URL.Path {
				case "/big":
					io.WriteString(w, strings.Repeat("x", 100))
				case "/err":
					w.WriteHeader(500)
					io.WriteString(w, strings.Repeat("e", 100))
				case "/slow":
					time.Sleep(time.Minute)
				case "/cut":
					w.Header().Set("Content-Length", "50")
					io.WriteString(w, `{"a":`)
					w.(http.Flusher).Flush()
					panic(http.ErrAbortHandler)
				default:
					b, _ := io.ReadAll(r.Body)
					w.Write(b)
				}
			})}}
		srv.Start()
		defer srv.Close()
		tr := &http.Transport{DialContext: ln.DialContext}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		req := vendorhttp.Request{Method: "POST", URL: srv.URL + "/echo", Token: "tok", Body: []byte(`{"a":1}`), MaxBody: 50, Timeout: 10 * time.Second}

		resp, err := vendorhttp.Do(t.Context(), client, req)
		if err != nil || resp.Status != 200 || string(resp.Body) != `{"a":1}` || resp.TooLarge {
			t.Fatalf("echo: %+v %v", resp, err)
		}
		if gotAuth != "Bearer tok" || gotCT != "application/json" || gotAccept != "application/json" {
			t.Fatalf("headers: %q %q %q", gotAuth, gotCT, gotAccept)
		}

		req.Method, req.Body, req.URL = "GET", nil, srv.URL+"/big"
		resp, err = vendorhttp.Do(t.Context(), client, req)
		if err != nil || !resp.TooLarge || len(resp.Body) != 50 {
			t.Fatalf("big: TooLarge=%v len=%d err=%v", resp.TooLarge, len(resp.Body), err)
		}
		if gotCT != "" {
			t.Fatalf("GET sent Content-Type %q", gotCT)
		}

		req.URL, req.MaxBody = srv.URL+"/err", 1<<20
		resp, err = vendorhttp.Do(t.Context(), client, req)
		if err != nil || resp.Status != 500 || len(resp.Body) != 100 {
			t.Fatalf("err body: %+v %v", resp, err)
		}

		req.URL = srv.URL + "/cut"
		if _, err = vendorhttp.Do(t.Context(), client, req); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut body: %v", err)
		}

		req.URL = srv.URL + "/slow"
		start := time.Now()
		_, err = vendorhttp.Do(t.Context(), client, req)
		if err == nil || time.Since(start) != 10*time.Second {
			t.Fatalf("slow: err=%v after %v, want a timeout after 10s", err, time.Since(start))
		}
		if strings.Contains(err.Error(), "tok") {
			t.Fatalf("error contains the token: %v", err)
		}
	})
}

func TestErrorText(t *testing.T) {
	cause := errors.New("v: boom")
	cases := []struct {
		status        int
		detail, trace string
		cause         error
		want          string
	}{
		{0, "", "", cause, "v: op: boom"},
		{404, "", "", nil, "v: op: 404 Not Found"},
		{400, "Bad request. Nope", "t-1", nil, "v: op: 400 Bad request. Nope [trace t-1]"},
		{200, "", "", cause, "v: op: 200 OK: boom"},
	}
	for _, c := range cases {
		if got := vendorhttp.ErrorText("v", "op", c.status, c.detail, c.trace, c.cause); got != c.want {
			t.Errorf("ErrorText = %q, want %q", got, c.want)
		}
	}
}

func TestTemporary(t *testing.T) {
	for status, want := range map[int]bool{0: true, 200: true, 201: true, 302: false, 400: false, 401: false,
		403: false, 404: false, 408: true, 409: false, 422: false, 429: true, 500: true, 502: true, 503: true} {
		if got := vendorhttp.Temporary(status, false); got != want {
			t.Errorf("Temporary(%d) = %v", status, got)
		}
		if vendorhttp.Temporary(status, true) {
			t.Errorf("Temporary(%d, permanent cause) = true", status)
		}
	}
}

func TestNewCaller(t *testing.T) {
	c, err := vendorhttp.NewCaller(vendorhttp.CallerConfig{Vendor: "v", DefaultBaseURL: "https://api.example/", Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Base != "https://api.example" || c.Timeout != vendorhttp.DefaultTimeout || c.MaxBody != vendorhttp.DefaultMaxBody ||
		c.Client == nil || c.Client.CheckRedirect == nil || c.Log == nil || c.Pacer == nil {
		t.Fatalf("defaults not filled: %+v", c)
	}
	if _, err := vendorhttp.NewCaller(vendorhttp.CallerConfig{Vendor: "v", Token: "a\nb", BaseURL: "https://x"}); err == nil ||
		!strings.HasPrefix(err.Error(), "v: ") || strings.Contains(err.Error(), "a\nb") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := vendorhttp.NewCaller(vendorhttp.CallerConfig{Vendor: "v", Token: "t", BaseURL: "x"}); err == nil {
		t.Fatal("bad base URL accepted")
	}
}

// TestDoDoesNotReplayGET: net/http would send a GET a second time, unpaced,
// when a reused connection breaks after the request went out. Do must
// leave that to its caller: the server sees the request once.
func TestDoDoesNotReplayGET(t *testing.T) {
	var requests atomic.Int32
	var badBody atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.Header.Get("Content-Type") != "" {
			badBody.Store(true)
		}
		if r.URL.Path == "/reset" {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close() // the request was read; no answer comes
			}
			return
		}
		io.WriteString(w, "{}")
	}))
	defer srv.Close()
	client := srv.Client()
	req := vendorhttp.Request{Method: "GET", URL: srv.URL + "/ok", Token: "tok", MaxBody: 1 << 10, Timeout: 10 * time.Second}
	if resp, err := vendorhttp.Do(t.Context(), client, req); err != nil || resp.Status != 200 {
		t.Fatalf("first GET: %+v %v", resp, err)
	}
	req.URL = srv.URL + "/reset" // on the kept-alive connection
	if _, err := vendorhttp.Do(t.Context(), client, req); err == nil {
		t.Fatal("GET on a reset connection succeeded")
	}
	if n := requests.Load(); n != 2 {
		t.Fatalf("server saw %d requests, want 2 (the broken GET was replayed)", n)
	}
	if badBody.Load() {
		t.Fatal("a GET arrived with a body, a length or a content type")
	}
}
