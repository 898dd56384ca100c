package optout_test

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/optout"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func memGuard(t testing.TB) *guard.Guard {
	t.Helper()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	return g
}

func blocked(t testing.TB, g *guard.Guard, r string) guard.Verdict {
	t.Helper()
	v, err := g.Check(t.Context(), r)
	if err != nil {
		t.Fatalf("Check(%q): %v", r, err)
	}
	return v
}

// unsubRig mounts an Unsubscriber as documented, on a real server.
type unsubRig struct {
	g   *guard.Guard
	u   *optout.Unsubscriber
	srv *httptest.Server
}

func newUnsubRig(t *testing.T, g *guard.Guard, cfg optout.UnsubscribeConfig) *unsubRig {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testSecret
	}
	if cfg.URL == "" {
		cfg.URL = "https://mail.example.com/unsubscribe"
	}
	u, err := optout.NewUnsubscriber(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe/", u)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &unsubRig{g: g, u: u, srv: srv}
}

// local turns a link from Headers into the test server's URL, keeping its
// path exactly.
func (r *unsubRig) local(t *testing.T, link string) string {
	t.Helper()
	i := strings.Index(link, "/unsubscribe/")
	if i < 0 {
		t.Fatalf("link %q", link)
	}
	return r.srv.URL + link[i:]
}

func (r *unsubRig) link(t *testing.T, rcpt string) string {
	t.Helper()
	h, err := r.u.Headers(rcpt)
	if err != nil {
		t.Fatal(err)
	}
	v := h["List-Unsubscribe"]
	return strings.TrimSuffix(strings.TrimPrefix(strings.SplitN(v, ",", 2)[0], "<"), ">")
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func oneClick(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := noRedirect().Post(u, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestNewUnsubscriber_Refuses(t *testing.T) {
	g := memGuard(t)
	for name, cfg := range map[string]optout.UnsubscribeConfig{
		"short secret":     {Secret: testSecret[:31], URL: "https://a.example/u"},
		"no secret":        {URL: "https://a.example/u"},
		"short old secret": {Secret: testSecret, OldSecrets: [][]byte{[]byte("short")}, URL: "https://a.example/u"},
		"http":             {Secret: testSecret, URL: "http://a.example/u"},
		"no URL":           {Secret: testSecret},
		"relative":         {Secret: testSecret, URL: "/unsubscribe"},
		"query":            {Secret: testSecret, URL: "https://a.example/u?x=1"},
		"bad mailto":       {Secret: testSecret, URL: "https://a.example/u", Mailto: "nobody"},
	} {
		if _, err := optout.NewUnsubscriber(g, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := optout.NewUnsubscriber(nil, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://a.example/u"}); err == nil {
		t.Error("nil guard accepted")
	}
}

func TestUnsubscriber_Headers(t *testing.T) {
	g := memGuard(t)
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://mail.example.com/unsubscribe", Mailto: "unsub@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := u.Headers("Ann <ANN@Example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if got := h["List-Unsubscribe-Post"]; got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", got)
	}
	lu := h["List-Unsubscribe"]
	if !strings.HasPrefix(lu, "<https://mail.example.com/unsubscribe/") || !strings.Contains(lu, ">, <mailto:unsub@example.com?subject=unsubscribe%20") {
		t.Errorf("List-Unsubscribe %q", lu)
	}
	// The same address written otherwise gets the same link; the token is
	// URL-safe and carries at least 128 bits of tag.
	h2, _ := u.Headers("ann@example.com")
	if h2["List-Unsubscribe"] != lu {
		t.Errorf("%q != %q", h2["List-Unsubscribe"], lu)
	}
	link := strings.TrimSuffix(strings.TrimPrefix(strings.Split(lu, ",")[0], "<"), ">")
	tok := link[strings.LastIndex(link, "/")+1:]
	if url.PathEscape(tok) != tok || strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not URL-safe", tok)
	}
	if _, tag, _ := strings.Cut(tok, "."); len(tag)*6 < 128 {
		t.Errorf("tag %q is under 128 bits", tag)
	}
	for _, bad := range []string{"not an address", "+12025550100", "example.com", ""} {
		if _, err := u.Headers(bad); !errors.Is(err, normalize.ErrInvalid) {
			t.Errorf("Headers(%q) error %v, want ErrInvalid", bad, err)
		}
	}
}

func TestUnsubscriber_OneClick(t *testing.T) {
	g, err := guard.Open(t.TempDir()) // on disk: the block must be durable
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	link := r.local(t, r.link(t, "Ann <ann@example.com>"))

	resp := oneClick(t, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Location") != "" {
		t.Errorf("cookie or redirect: %v", resp.Header)
	}
	v := blocked(t, g, "ann@example.com")
	if !v.Blocked || v.Source != optout.SourceUnsubscribe {
		t.Fatalf("after POST: %+v", v)
	}
	// A replay is harmless: same answer, same block, one observed opt-out.
	if resp := oneClick(t, link); resp.StatusCode != http.StatusOK {
		t.Fatalf("replay: %d", resp.StatusCode)
	}
	if v2 := blocked(t, g, "ann@example.com"); v2.CreatedAt != v.CreatedAt {
		t.Errorf("replay changed the block: %v -> %v", v.CreatedAt, v2.CreatedAt)
	}
	if st := r.u.Stats(); st.Count != 1 || st.BySource[optout.SourceUnsubscribe].Count != 1 {
		t.Errorf("stats %+v, want one opt-out", st)
	}
}

func TestUnsubscriber_Multipart(t *testing.T) {
	g := memGuard(t)
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("List-Unsubscribe", "One-Click")
	_ = mw.Close()
	resp, err := noRedirect().Post(r.local(t, r.link(t, "bob@example.com")), mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !blocked(t, g, "bob@example.com").Blocked {
		t.Fatalf("multipart POST: %d, blocked %v", resp.StatusCode, blocked(t, g, "bob@example.com").Blocked)
	}
}

// TestUnsubscriber_NoContentType: a one-click body without a Content-Type
// still counts, straight through ServeHTTP (no server, no mux).
func TestUnsubscriber_NoContentType(t *testing.T) {
	g := memGuard(t)
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := u.Headers("hal@example.com")
	link := strings.Trim(h["List-Unsubscribe"], "<>")
	w := httptest.NewRecorder()
	u.ServeHTTP(w, httptest.NewRequest(http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click")))
	if w.Code != http.StatusOK || !blocked(t, g, "hal@example.com").Blocked {
		t.Fatalf("POST without Content-Type: %d", w.Code)
	}
}

// TestUnsubscriber_TrailingLineBreak: an urlencoded one-click body ending
// in a line break (as a client writing it as a line sends it) still counts.
func TestUnsubscriber_TrailingLineBreak(t *testing.T) {
	g := memGuard(t)
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"List-Unsubscribe=One-Click\r\n", "List-Unsubscribe=One-Click\n"} {
		rcpt := []string{"ida@example.com", "jo@example.com"}[i]
		h, _ := u.Headers(rcpt)
		req := httptest.NewRequest(http.MethodPost, strings.Trim(h["List-Unsubscribe"], "<>"), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		u.ServeHTTP(w, req)
		if w.Code != http.StatusOK || !blocked(t, g, rcpt).Blocked {
			t.Fatalf("POST %q: %d, blocked %v", body, w.Code, blocked(t, g, rcpt).Blocked)
		}
	}
}

func TestUnsubscriber_GetNeverBlocks(t *testing.T) {
	g := memGuard(t)
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	link := r.local(t, r.link(t, "cat@example.com"))
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		req, _ := http.NewRequest(m, link, nil)
		resp, err := noRedirect().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", m, resp.StatusCode)
		}
		if m == http.MethodGet && (!bytes.Contains(page, []byte(`method="post"`)) || !bytes.Contains(page, []byte(`name="List-Unsubscribe" value="One-Click"`))) {
			t.Errorf("GET page has no one-click button: %s", page)
		}
	}
	if blocked(t, g, "cat@example.com").Blocked {
		t.Fatal("a GET blocked")
	}
}

func TestUnsubscriber_Refusals(t *testing.T) {
	g := memGuard(t)
	other, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: bytes.Repeat([]byte{7}, 32), URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		t.Fatal(err)
	}
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	good := r.link(t, "dan@example.com")
	tok := good[strings.LastIndex(good, "/")+1:]

	var forged []string
	// Every single character of the token changed.
	for i := range tok {
		for _, c := range []byte{'A', 'b', '-', '_', '.'} {
			if tok[i] == c {
				continue
			}
			forged = append(forged, r.srv.URL+"/unsubscribe/"+tok[:i]+string(c)+tok[i+1:])
		}
	}
	h, _ := other.Headers("dan@example.com")
	otherLink := strings.Trim(h["List-Unsubscribe"], "<>")
	forged = append(forged,
		r.local(t, otherLink),                               // signed with another secret
		r.srv.URL+"/unsubscribe/"+tok+"?x=1",                // a query added
		r.srv.URL+"/unsubscribe/"+tok+"x",                   // appended
		r.srv.URL+"/unsubscribe/"+tok[:len(tok)-1],          // cut
		r.srv.URL+"/unsubscribe/"+strings.ToUpper(tok),      // case
		r.srv.URL+"/unsubscribe/"+url.PathEscape(tok)+"%2E", // encoded
		r.srv.URL+"/unsubscribe/",                           // nothing
		r.srv.URL+"/unsubscribe/ZGFuQGV4YW1wbGUuY29t.",      // unsigned
		r.srv.URL+"/unsubscribe/ZGFuQGV4YW1wbGUuY29t",       // unsigned, no dot
	)
	for _, u := range forged {
		resp := oneClick(t, u)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("forged %s: %d, want 4xx", u, resp.StatusCode)
		}
	}
	if blocked(t, g, "dan@example.com").Blocked {
		t.Fatal("a forged link blocked")
	}

	link := r.local(t, good)
	post := func(ct, body string) int {
		resp, err := noRedirect().Post(link, ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post("text/plain", "hello"); s != http.StatusBadRequest {
		t.Errorf("text body: %d, want 400", s)
	}
	if s := post("application/x-www-form-urlencoded", ""); s != http.StatusBadRequest {
		t.Errorf("no one-click field: %d, want 400", s)
	}
	if s := post("application/x-www-form-urlencoded", "List-Unsubscribe=Two-Click"); s != http.StatusBadRequest {
		t.Errorf("wrong one-click value: %d, want 400", s)
	}
	if s := post("application/x-www-form-urlencoded", "List-Unsubscribe=One-Click&pad="+strings.Repeat("x", 64<<10)); s != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d, want 413", s)
	}
	if s := post("multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n"+strings.Repeat("x", 64<<10)+"\r\n--zz--\r\n"); s < 400 || s >= 500 {
		t.Errorf("big multipart body: %d, want 4xx", s)
	}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, "BREW"} {
		req, _ := http.NewRequest(m, link, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirect().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%s: %d, want 405 with Allow", m, resp.StatusCode)
		}
	}
	if blocked(t, g, "dan@example.com").Blocked {
		t.Fatal("a refused request blocked")
	}
}

// TestUnsubscriber_NeverHost: the handler reads the path, never the Host
// header; a link works whatever Host says.
func TestUnsubscriber_NeverHost(t *testing.T) {
	g := memGuard(t)
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	req, _ := http.NewRequest(http.MethodPost, r.local(t, r.link(t, "eve@example.com")), strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !blocked(t, g, "eve@example.com").Blocked {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestUnsubscriber_KeyRotation(t *testing.T) {
	g := memGuard(t)
	oldKey := bytes.Repeat([]byte{1}, 32)
	before, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: oldKey, URL: "https://mail.example.com/unsubscribe"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := before.Headers("fay@example.com")
	oldLink := strings.Trim(h["List-Unsubscribe"], "<>")

	// Rotated without the old key: the old link is refused.
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	if resp := oneClick(t, r.local(t, oldLink)); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("old link without the old key: %d", resp.StatusCode)
	}
	// With the old key kept: accepted.
	r = newUnsubRig(t, g, optout.UnsubscribeConfig{OldSecrets: [][]byte{oldKey}})
	if resp := oneClick(t, r.local(t, oldLink)); resp.StatusCode != http.StatusOK || !blocked(t, g, "fay@example.com").Blocked {
		t.Fatalf("old link with the old key: %d", resp.StatusCode)
	}
	// New links are made with the new key.
	if r.link(t, "fay@example.com") == oldLink {
		t.Error("new links still use the old key")
	}
}

func TestUnsubscriber_UnsubscribeToken(t *testing.T) {
	g := memGuard(t)
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: testSecret, URL: "https://m.example/u", Mailto: "unsub@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := u.Headers("gus@example.com")
	_, mt, _ := strings.Cut(h["List-Unsubscribe"], "subject=unsubscribe%20")
	tok := strings.TrimSuffix(mt, ">")
	if _, err := u.UnsubscribeToken(t.Context(), "unsubscribe "+tok+"x", time.Time{}); err == nil {
		t.Error("an altered token was accepted")
	}
	if blocked(t, g, "gus@example.com").Blocked {
		t.Fatal("an altered token blocked")
	}
	if ok, err := u.UnsubscribeToken(t.Context(), "Unsubscribe "+tok, time.Time{}); !ok || err != nil {
		t.Fatalf("UnsubscribeToken = %v, %v", ok, err)
	}
	if !blocked(t, g, "gus@example.com").Blocked {
		t.Fatal("not blocked")
	}
}

// TestUnsubscriber_Concurrent: many one-clicks at once, -race clean, one
// block each.
func TestUnsubscriber_Concurrent(t *testing.T) {
	g := memGuard(t)
	r := newUnsubRig(t, g, optout.UnsubscribeConfig{})
	var links []string
	for i := range 20 {
		links = append(links, r.local(t, r.link(t, "user"+string(rune('a'+i))+"@example.com")))
	}
	var wg sync.WaitGroup
	codes := make([]int, len(links)*2)
	for i := range codes {
		wg.Go(func() {
			resp, err := noRedirect().Post(links[i%len(links)], "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
			if err != nil {
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("request %d: %d", i, c)
		}
	}
	if st := r.u.Stats(); st.Count != uint64(len(links)) {
		t.Errorf("%d opt-outs observed, want %d", st.Count, len(links))
	}
}
