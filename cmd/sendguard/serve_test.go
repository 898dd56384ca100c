package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sendguard/sendguard/optout"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// The API token the serve tests use: no log line may show it.
const apiToken = "api-s3cr3t-token-5c1e9d2f"

// serveProc is one running "sendguard serve".
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT
	http *http.Client

	mu     gosync.Mutex
	stderr bytes.Buffer // everything serve wrote to stderr
	done   chan struct{}
	code   int // exit code, once done is closed
}

// startServe starts serve on the sandbox's database, on a free port, with
// the API token and env, and waits for its "listening on" line.
func startServe(t *testing.T, s *sandbox, env []string, args ...string) *serveProc {
	t.Helper()
	base := []string{"serve", "--addr", "127.0.0.1:0"}
	if slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, envAddr+"=") }) {
		base = base[:1] // the address comes from the environment
	}
	cmd := exec.Command(binPath, append(base, args...)...)
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), append([]string{"SENDGUARD_DB=" + s.db, "SENDGUARD_API_TOKEN=" + apiToken}, env...)...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, cmd: cmd, done: make(chan struct{}),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, listeningPrefix); ok {
				select {
				case addr <- rest:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, errPipe)
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		_ = err
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		p.noSecrets()
	})
	select {
	case p.base = <-addr:
	case <-p.done:
		t.Fatalf("serve exited with %d before listening:\n%s", p.code, p.logs())
	case <-time.After(20 * time.Second):
		t.Fatalf("serve did not listen within 20s:\n%s", p.logs())
	}
	return p
}

func (p *serveProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// noSecrets fails if the logs show a token or secret.
func (p *serveProc) noSecrets() {
	p.t.Helper()
	logs := p.logs()
	for _, s := range []string{apiToken, "s3cr3t", cxToken, ocToken} {
		if strings.Contains(logs, s) {
			p.t.Errorf("serve's logs show a secret %q:\n%s", s, logs)
		}
	}
}

// noRecipient fails if the logs show any of these recipients whole.
func (p *serveProc) noRecipient(rs ...string) {
	p.t.Helper()
	logs := p.logs()
	for _, r := range rs {
		if strings.Contains(logs, r) {
			p.t.Errorf("serve's logs show the recipient %q:\n%s", r, logs)
		}
	}
}

// stop sends SIGTERM and waits for the exit; it returns the exit code and
// how long the stop took.
func (p *serveProc) stop() (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Fatalf("serve did not exit within 15s of SIGTERM:\n%s", p.logs())
	}
	return p.code, time.Since(start)
}

// resp is one HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; token "" sends no Authorization.
func (p *serveProc) do(method, path, token, contentType string, body []byte) resp {
	p.t.Helper()
	req, err := http.NewRequest(method, p.base+path, bytes.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := p.http.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// api sends an authorized JSON request.
func (p *serveProc) api(method, path string, body any) resp {
	p.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			p.t.Fatal(err)
		}
	}
	return p.do(method, path, apiToken, "application/json", b)
}

// want fails unless r has status; it decodes the JSON body into v (if
// not nil).
func (r resp) want(t *testing.T, status int, v any) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatalf("body is not the JSON expected: %v: %s", err, r.body)
		}
	}
	return r
}

// wantError fails unless r is status with a JSON {"error"} containing
// every part.
func (r resp) wantError(t *testing.T, status int, parts ...string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.want(t, status, &e)
	if e.Error == "" {
		t.Fatalf("status %d without an error message: %s", status, r.body)
	}
	for _, p := range parts {
		if !strings.Contains(e.Error, p) {
			t.Fatalf("error %q does not contain %q", e.Error, p)
		}
	}
}

type checkResults struct {
	Results []checkJSON `json:"results"`
}

// checkOne returns /v1/check's result for one recipient.
func (p *serveProc) checkOne(recipient string) checkJSON {
	p.t.Helper()
	var out checkResults
	p.api("POST", "/v1/check", map[string]any{"recipients": []string{recipient}}).want(p.t, 200, &out)
	if len(out.Results) != 1 {
		p.t.Fatalf("results: %+v", out.Results)
	}
	return out.Results[0]
}

func TestServeRefusesBadConfiguration(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	longSecret := strings.Repeat("k", optout.MinSecretLen)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no token", nil, nil, []string{"SENDGUARD_API_TOKEN is not set"}},
		{"url without secret", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_UNSUBSCRIBE_URL=https://m.example.test/u"}, nil,
			[]string{"SENDGUARD_UNSUBSCRIBE_URL", "SENDGUARD_UNSUBSCRIBE_SECRET"}},
		{"short secret", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_UNSUBSCRIBE_URL=https://m.example.test/u",
			"SENDGUARD_UNSUBSCRIBE_SECRET=short-s3cr3t"}, nil, []string{"at least 32 bytes"}},
		{"http unsubscribe url", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_UNSUBSCRIBE_URL=http://m.example.test/u",
			"SENDGUARD_UNSUBSCRIBE_SECRET=" + longSecret}, nil, []string{"SENDGUARD_UNSUBSCRIBE_URL", "https"}},
		{"unsubscribe on serve's path", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_UNSUBSCRIBE_URL=https://m.example.test/v1",
			"SENDGUARD_UNSUBSCRIBE_SECRET=" + longSecret}, nil, []string{"/v1", "serve's own"}},
		{"sms token without url", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_TWILIO_AUTH_TOKEN=x-s3cr3t"}, nil,
			[]string{"SENDGUARD_SMS_WEBHOOK_URL"}},
		{"relative sms url", []string{"SENDGUARD_API_TOKEN=t", "SENDGUARD_TWILIO_AUTH_TOKEN=x-s3cr3t", "SENDGUARD_SMS_WEBHOOK_URL=/sms/inbound"}, nil,
			[]string{"SENDGUARD_SMS_WEBHOOK_URL", "absolute"}},
		{"sync without vendor", []string{"SENDGUARD_API_TOKEN=t"}, []string{"--sync"}, []string{"no vendor configured"}},
		{"fleet", []string{"SENDGUARD_API_TOKEN=t"}, []string{"--nats", "nats://127.0.0.1:4222", "--member", "a"},
			[]string{"fleet", "not available"}},
		{"argument", []string{"SENDGUARD_API_TOKEN=t"}, []string{"extra"}, []string{"unexpected argument"}},
		// Last: the address is bound after the store is opened.
		{"bad address", []string{"SENDGUARD_API_TOKEN=t"}, []string{"--addr", "127.0.0.1:99999"}, []string{"--addr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.runEnv(append([]string{"SENDGUARD_DB=" + s.db}, tc.env...), "", append([]string{"serve", "--addr", "127.0.0.1:0"}, tc.args...)...).want(t, 2)
			wantOneErrorLine(t, r, tc.want...)
			if strings.Contains(r.stderr, "s3cr3t") {
				t.Fatalf("stderr shows a secret: %s", r.stderr)
			}
			if tc.name != "bad address" && exists(s.db) {
				t.Fatalf("a refused serve created the data directory")
			}
		})
	}
	if exists(filepath.Join(s.db, serveNoteFile)) {
		t.Fatal("a refused serve left its note")
	}
}

func TestServeAdminAPI(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)

	// Auth: none, wrong, wrong scheme.
	body := []byte(`{"recipients":["a@example.com"]}`)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + apiToken, "Bearer " + apiToken + "x", apiToken} {
		req, _ := http.NewRequest("POST", p.base+"/v1/check", bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		resp{res.StatusCode, res.Header, b}.wantError(t, 401, "token")
		if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("401 without WWW-Authenticate: Bearer: %v", res.Header)
		}
	}
	for _, path := range []string{"/v1/stats", "/v1/nope"} {
		p.do("GET", path, "", "", nil).wantError(t, 401)
	}

	// Block: any invalid recipient is a 400 naming it, and nothing is blocked.
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"ann@example.com", "not a recipient", "+14155550100"}, "reason": "r"}).
		wantError(t, 400, `"not a recipient"`, "nothing was blocked")
	if c := p.checkOne("ann@example.com"); c.Blocked {
		t.Fatalf("a refused block request blocked ann: %+v", c)
	}
	// A mailbox provider's domain needs "force".
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"ann@example.com", "gmail.com"}}).wantError(t, 400, `"gmail.com"`, "force")
	if c := p.checkOne("ann@example.com"); c.Blocked {
		t.Fatalf("a refused block request blocked ann: %+v", c)
	}
	// A bad expiry, an empty list, a blank source.
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"ann@example.com"}, "expires": "soon"}).wantError(t, 400, "expires")
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{}}).wantError(t, 400, "recipients")
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"ann@example.com"}, "source": "  "}).wantError(t, 400, "source")

	var blocked struct {
		Blocks []blockJSON `json:"blocks"`
	}
	before := time.Now()
	p.api("POST", "/v1/blocks", map[string]any{
		"recipients": []string{"Ann <ANN@example.com>", "(415) 555-0100", "spam.test"},
		"reason":     "hard bounce", "source": "crm", "expires": "30d",
	}).want(t, 200, &blocked)
	if len(blocked.Blocks) != 3 {
		t.Fatalf("blocks: %+v", blocked.Blocks)
	}
	for i, want := range []struct{ kind, canonical string }{{"email", "ann@example.com"}, {"phone", "+14155550100"}, {"domain", "spam.test"}} {
		b := blocked.Blocks[i]
		if b.Kind != want.kind || b.Canonical != want.canonical || b.Reason != "hard bounce" || b.Source != "crm" || b.CreatedAt == nil || b.ExpiresAt == nil {
			t.Fatalf("block %d: %+v", i, b)
		}
		exp, err := time.Parse(time.RFC3339, *b.ExpiresAt)
		if err != nil || exp.Before(before.Add(30*24*time.Hour-time.Minute)) || exp.After(time.Now().Add(30*24*time.Hour+time.Minute)) {
			t.Fatalf("block %d expires at %v, want in 30 days", i, *b.ExpiresAt)
		}
	}
	var noExp struct {
		Blocks []blockJSON `json:"blocks"`
	}
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"bob@example.com"}}).want(t, 200, &noExp)
	if b := noExp.Blocks[0]; b.Source != "local" || b.ExpiresAt != nil {
		t.Fatalf("default block: %+v", b)
	}

	// Check: the fields of check --json, in order, invalid inputs included.
	var res checkResults
	p.api("POST", "/v1/check", map[string]any{"recipients": []string{"ann@example.com", "x@sub.spam.test", "carol@example.com", "nonsense"}}).want(t, 200, &res)
	if len(res.Results) != 4 {
		t.Fatalf("results: %+v", res.Results)
	}
	if r := res.Results[0]; !r.Blocked || r.Kind != "email" || r.Canonical != "ann@example.com" || r.Reason != "hard bounce" || r.Source != "crm" || r.CreatedAt == nil || r.Error != "" {
		t.Fatalf("ann: %+v", r)
	}
	if r := res.Results[1]; !r.Blocked || r.Canonical != "x@sub.spam.test" || r.Matched != "spam.test" || r.Match != "domain" || r.ExpiresAt == nil {
		t.Fatalf("subdomain of a blocked domain: %+v", r)
	}
	if r := res.Results[2]; r.Blocked || r.CreatedAt != nil || r.Canonical != "carol@example.com" {
		t.Fatalf("carol: %+v", r)
	}
	if r := res.Results[3]; r.Blocked || r.Kind != "" || r.Error == "" || r.Input != "nonsense" {
		t.Fatalf("invalid: %+v", r)
	}
	// The raw field names are check --json's.
	raw := p.api("POST", "/v1/check", map[string]any{"recipients": []string{"ann@example.com"}}).body
	for _, f := range []string{`"input"`, `"kind"`, `"canonical"`, `"blocked"`, `"reason"`, `"source"`, `"created_at"`, `"error"`, `"matched"`, `"match"`, `"expires_at"`} {
		if !bytes.Contains(raw, []byte(f)) {
			t.Fatalf("check result lacks %s: %s", f, raw)
		}
	}

	// Unblock.
	var ub struct {
		Canonical    string `json:"canonical"`
		Unblocked    bool   `json:"unblocked"`
		StillBlocked bool   `json:"still_blocked"`
	}
	p.api("DELETE", "/v1/blocks?recipient="+url.QueryEscape("ANN@example.com"), nil).want(t, 200, &ub)
	if ub.Canonical != "ann@example.com" || !ub.Unblocked || ub.StillBlocked {
		t.Fatalf("unblock: %+v", ub)
	}
	p.api("DELETE", "/v1/blocks?recipient="+url.QueryEscape("ann@example.com"), nil).want(t, 200, &ub)
	if ub.Unblocked {
		t.Fatalf("second unblock: %+v", ub)
	}
	p.api("DELETE", "/v1/blocks?recipient=x%40sub.spam.test", nil).want(t, 200, &ub)
	if ub.Unblocked || !ub.StillBlocked {
		t.Fatalf("unblock under a domain block: %+v", ub)
	}
	p.api("DELETE", "/v1/blocks", nil).wantError(t, 400, "recipient")
	p.api("DELETE", "/v1/blocks?recipient=a%40b.com&recipient=c%40d.com", nil).wantError(t, 400, "exactly one")
	p.api("DELETE", "/v1/blocks?recipient=nonsense", nil).wantError(t, 400, "nonsense")

	// Bad JSON, wrong types, trailing data, oversized bodies.
	p.do("POST", "/v1/check", apiToken, "application/json", []byte(`{"recipients": [`)).wantError(t, 400, "invalid JSON")
	p.do("POST", "/v1/check", apiToken, "application/json", []byte(`{"recipients": "a@b.com"}`)).wantError(t, 400, "recipients")
	p.do("POST", "/v1/check", apiToken, "application/json", []byte(`{"recipients": ["a@b.com"]} {}`)).wantError(t, 400, "more than one")
	p.do("POST", "/v1/check", apiToken, "application/json", nil).wantError(t, 400, "empty body")
	p.do("POST", "/v1/blocks", apiToken, "application/json", []byte(`nope`)).wantError(t, 400, "invalid JSON")
	huge := []byte(`{"recipients": ["` + strings.Repeat("a", maxJSONBody) + `@example.com"]}`)
	p.do("POST", "/v1/blocks", apiToken, "application/json", huge).wantError(t, 413, "over")
	p.do("POST", "/v1/check", apiToken, "application/json", huge).wantError(t, 413, "over")
	// An oversized body is a 413 whatever it holds, with a Content-Length
	// or without (chunked), not a 400 for its first bad byte.
	garbage := bytes.Repeat([]byte("a"), 2*maxJSONBody)
	p.do("POST", "/v1/check", apiToken, "application/json", garbage).wantError(t, 413, "over")
	chunked, err := http.NewRequest("POST", p.base+"/v1/blocks", io.MultiReader(bytes.NewReader(garbage)))
	if err != nil {
		t.Fatal(err)
	}
	chunked.Header.Set("Authorization", "Bearer "+apiToken)
	if res, err := p.http.Do(chunked); err != nil {
		t.Fatalf("chunked oversized body: %v", err)
	} else {
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("chunked oversized body: status %d, want 413", res.StatusCode)
		}
	}
	many := make([]string, maxRecipients+1)
	for i := range many {
		many[i] = "a@b.co"
	}
	p.api("POST", "/v1/check", map[string]any{"recipients": many}).wantError(t, 400, "at most")

	// Unknown routes and methods: JSON 404 and 405.
	p.api("GET", "/v1/nope", nil).wantError(t, 404)
	r := p.api("GET", "/v1/check", nil)
	r.wantError(t, 405)
	if r.header.Get("Allow") != "POST" {
		t.Fatalf("405 Allow: %q", r.header.Get("Allow"))
	}
	p.api("PUT", "/v1/blocks", nil).wantError(t, 405)

	// One-click is not configured: the headers route says so.
	p.api("POST", "/v1/unsubscribe-headers", map[string]string{"recipient": "a@b.com"}).wantError(t, 501, "SENDGUARD_UNSUBSCRIBE_URL")

	// Stats: the JSON of stats --json (compared after the stop).
	var apiStats map[string]any
	p.api("GET", "/v1/stats", nil).want(t, 200, &apiStats)
	// bob, the phone and the domain (ann was unblocked).
	if apiStats["entries"] != float64(3) || apiStats["domains"] != float64(1) {
		t.Fatalf("stats: %v", apiStats)
	}

	p.noRecipient("ann@example.com", "ANN@example.com", "bob@example.com", "carol@example.com", "4155550100")
	if code, took := p.stop(); code != 0 || took > 10*time.Second {
		t.Fatalf("stop: exit %d after %v:\n%s", code, took, p.logs())
	}
	var cliStats map[string]any
	if err := json.Unmarshal([]byte(s.run("", "stats", "--json").want(t, 0).stdout), &cliStats); err != nil {
		t.Fatal(err)
	}
	if !sameKeys(apiStats, cliStats) || apiStats["entries"] != cliStats["entries"] || apiStats["domains"] != cliStats["domains"] {
		t.Fatalf("GET /v1/stats differs from stats --json:\napi: %v\ncli: %v", apiStats, cliStats)
	}
	// The blocks are there after the stop.
	wantLines(t, s.run("", "check", "bob@example.com", "+14155550100").want(t, 1).stdout,
		"blocked\tbob@example.com\t\tlocal\tbob@example.com", "blocked\t+14155550100\thard bounce\tcrm\t+14155550100")
}

// sameKeys reports whether two decoded JSON objects have the same keys,
// nested objects compared the same way.
func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		ma, oka := va.(map[string]any)
		mb, okb := vb.(map[string]any)
		if oka != okb || (oka && !sameKeys(ma, mb)) {
			return false
		}
	}
	return true
}

func TestServeHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	var st map[string]string
	p.do("GET", "/healthz", "", "", nil).want(t, 200, &st)
	if st["status"] != "ok" {
		t.Fatalf("healthz: %v", st)
	}
	p.do("GET", "/readyz", "", "", nil).want(t, 200, &st)
	if st["status"] != "ready" {
		t.Fatalf("readyz: %v", st)
	}
	p.do("POST", "/healthz", "", "", nil).want(t, 405, nil)

	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"dan@example.com"}}).want(t, 200, nil)
	p.api("POST", "/v1/check", map[string]any{"recipients": []string{"dan@example.com", "eve@example.com", "junk"}}).want(t, 200, nil)

	r := p.do("GET", "/metrics", "", "", nil).want(t, 200, nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("metrics Content-Type %q", ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v\n%s", err, r.body)
	}
	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		f, ok := families[name]
		if !ok {
			t.Fatalf("no metric %s in:\n%s", name, r.body)
		}
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
		t.Fatalf("no %s with %v in:\n%s", name, labels, r.body)
		return 0
	}
	if v := value("sendguard_checks_total", map[string]string{"result": "blocked"}); v != 1 {
		t.Fatalf("checks blocked %v, want 1", v)
	}
	if v := value("sendguard_checks_total", map[string]string{"result": "allowed"}); v != 1 {
		t.Fatalf("checks allowed %v, want 1", v)
	}
	if v := value("sendguard_checks_total", map[string]string{"result": "invalid"}); v != 1 {
		t.Fatalf("checks invalid %v, want 1", v)
	}
	if v := value("sendguard_blocks_total", nil); v != 1 {
		t.Fatalf("blocks %v, want 1", v)
	}
	if v := value("sendguard_http_requests_total", map[string]string{"route": "POST /v1/check", "code": "200"}); v != 1 {
		t.Fatalf("check requests %v, want 1", v)
	}
	if v := value("sendguard_ready", nil); v != 1 {
		t.Fatalf("ready %v", v)
	}
	for name := range families {
		if name != "target_info" && !strings.HasPrefix(name, "sendguard_") {
			t.Fatalf("metric %s lacks the sendguard_ prefix", name)
		}
	}
	// No recipient anywhere in the text, and no part of one in a label
	// (the help texts are ours: "every" is not "eve").
	for _, rcpt := range []string{"dan@example.com", "eve@example.com"} {
		if bytes.Contains(r.body, []byte(rcpt)) {
			t.Fatalf("/metrics shows a recipient %q:\n%s", rcpt, r.body)
		}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				for _, rcpt := range []string{"dan", "eve", "junk", "example.com"} {
					if strings.Contains(lp.GetValue(), rcpt) {
						t.Fatalf("/metrics: %s{%s=%q} shows a recipient %q", name, lp.GetName(), lp.GetValue(), rcpt)
					}
				}
			}
		}
	}
	// The OpenAPI document is served too.
	var doc map[string]any
	p.do("GET", "/openapi.json", "", "", nil).want(t, 200, &doc)
	if doc["openapi"] == nil {
		t.Fatalf("openapi.json: %v", doc)
	}
}

func TestServeAddrFromEnvironment(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, []string{"SENDGUARD_ADDR=127.0.0.1:0"})
	if !strings.HasPrefix(p.base, "http://127.0.0.1:") || strings.HasSuffix(p.base, ":0") {
		t.Fatalf("bound %q", p.base)
	}
	p.do("GET", "/healthz", "", "", nil).want(t, 200, nil)
	// The default, without flag or variable, is documented.
	if !strings.Contains(s.run("", "help", "serve").stdout, defaultAddr) {
		t.Fatalf("help serve does not give the default address %s", defaultAddr)
	}
}

func TestServeInUseSaysWhere(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	r := s.run("", "check", "a@example.com").want(t, 2)
	wantOneErrorLine(t, r, "in use by another process", "sendguard serve (pid", p.base)
	if code, _ := p.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if exists(filepath.Join(s.db, serveNoteFile)) {
		t.Fatal("serve left its note after a clean stop")
	}
	s.run("", "check", "a@example.com").want(t, 0)

	// A note left by a crash (the process is gone) is not believed.
	if err := os.WriteFile(filepath.Join(s.db, serveNoteFile), []byte("pid=999999999\naddr=http://127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if hint := servingHint(s.db); hint != "" {
		t.Fatalf("hint from a dead process: %q", hint)
	}
	// Such a note does not stop the store from opening, and the next
	// serve replaces it and removes it at its stop.
	s.run("", "check", "a@example.com").want(t, 0)
	p2 := startServe(t, s, nil)
	b, err := os.ReadFile(filepath.Join(s.db, serveNoteFile))
	if err != nil || !strings.Contains(string(b), "addr="+p2.base+"\n") {
		t.Fatalf("note while serving: %q, %v", b, err)
	}
	if code, _ := p2.stop(); code != 0 || exists(filepath.Join(s.db, serveNoteFile)) {
		t.Fatalf("exit %d; note left: %v", code, exists(filepath.Join(s.db, serveNoteFile)))
	}
}

func TestServeOneClickUnsubscribe(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	secret := "unsub-s3cr3t-" + strings.Repeat("x", 40)
	p := startServe(t, s, []string{
		"SENDGUARD_UNSUBSCRIBE_URL=https://mail.example.test/unsubscribe",
		"SENDGUARD_UNSUBSCRIBE_SECRET=" + secret,
	})
	var hdr map[string]string
	p.api("POST", "/v1/unsubscribe-headers", map[string]string{"recipient": "Fay <Fay@Example.com>"}).want(t, 200, &hdr)
	if hdr["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Fatalf("headers: %v", hdr)
	}
	link := strings.Trim(strings.SplitN(hdr["List-Unsubscribe"], ",", 2)[0], "<> ")
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host != "mail.example.test" || !strings.HasPrefix(u.Path, "/unsubscribe/") {
		t.Fatalf("link %q", link)
	}
	p.api("POST", "/v1/unsubscribe-headers", map[string]string{"recipient": "+14155550100"}).wantError(t, 400)
	p.api("POST", "/v1/unsubscribe-headers", map[string]string{}).wantError(t, 400)

	path := u.EscapedPath()
	form := "application/x-www-form-urlencoded"
	oneClick := []byte("List-Unsubscribe=One-Click")
	// A link scanner's GET never blocks.
	p.do("GET", path, "", "", nil).want(t, 200, nil)
	if p.checkOne("fay@example.com").Blocked {
		t.Fatal("a GET blocked")
	}
	// Forged links: a character altered in the tag, and another address
	// with this tag.
	tok := strings.TrimPrefix(path, "/unsubscribe/")
	last := tok[len(tok)-1]
	flip := byte('A')
	if last == 'A' {
		flip = 'B'
	}
	p.do("POST", "/unsubscribe/"+tok[:len(tok)-1]+string(flip), "", form, oneClick).want(t, 404, nil)
	first := "Z"
	if tok[0] == 'Z' {
		first = "Y"
	}
	p.do("POST", "/unsubscribe/"+first+tok[1:], "", form, oneClick).want(t, 404, nil)
	p.do("POST", "/unsubscribe/", "", form, oneClick).want(t, 404, nil)
	if p.checkOne("fay@example.com").Blocked {
		t.Fatal("a forged link blocked")
	}
	// Without the one-click field: 400, nothing blocked.
	p.do("POST", path, "", form, []byte("x=y")).want(t, 400, nil)
	if p.checkOne("fay@example.com").Blocked {
		t.Fatal("a POST without List-Unsubscribe=One-Click blocked")
	}
	// The real one-click POST, no token needed.
	p.do("POST", path, "", form, oneClick).want(t, 200, nil)
	c := p.checkOne("fay@example.com")
	if !c.Blocked || c.Source != optout.SourceUnsubscribe {
		t.Fatalf("after one-click: %+v", c)
	}
	p.noRecipient("fay@example.com", "Fay@Example.com", tok)
	if code, _ := p.stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	wantLines(t, s.run("", "check", "fay@example.com").want(t, 1).stdout, "blocked\tfay@example.com\tone-click unsubscribe\tunsubscribe\tfay@example.com")
}

func TestServeSMSWebhook(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	const twilioToken = "twilio-s3cr3t-auth-0b7d"
	const hookURL = "https://sms.example.test/sms/inbound"
	p := startServe(t, s, []string{"SENDGUARD_TWILIO_AUTH_TOKEN=" + twilioToken, "SENDGUARD_SMS_WEBHOOK_URL=" + hookURL})

	post := func(body, sig string) resp {
		t.Helper()
		form := url.Values{"From": {"+14155550123"}, "To": {"+14155559999"}, "Body": {body}, "MessageSid": {"SM1"}}
		req, _ := http.NewRequest("POST", p.base+"/sms/inbound", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig == "" {
			sig = optout.TwilioSignature(twilioToken, hookURL, form)
		}
		req.Header.Set("X-Twilio-Signature", sig)
		res, err := p.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return resp{res.StatusCode, res.Header, b}
	}
	// Bad signatures change nothing.
	post("STOP", "bm90IGEgc2lnbmF0dXJl").want(t, 403, nil)
	wrong := url.Values{"From": {"+14155550123"}, "To": {"+14155559999"}, "Body": {"STOP"}, "MessageSid": {"SM1"}}
	post("STOP", optout.TwilioSignature("another-token", hookURL, wrong)).want(t, 403, nil)
	post("STOP", optout.TwilioSignature(twilioToken, "https://other.example.test/sms/inbound", wrong)).want(t, 403, nil)
	if p.checkOne("+14155550123").Blocked {
		t.Fatal("a badly signed STOP blocked")
	}
	// A signed STOP blocks; a signed START lifts it.
	post("STOP", "").want(t, 200, nil)
	c := p.checkOne("+1 415 555 0123")
	if !c.Blocked || c.Source != optout.SourceSMS {
		t.Fatalf("after STOP: %+v", c)
	}
	post("hello there", "").want(t, 204, nil)
	post("START", "").want(t, 200, nil)
	if p.checkOne("+14155550123").Blocked {
		t.Fatal("START did not lift the SMS block")
	}
	p.do("GET", "/sms/inbound", "", "", nil).want(t, 405, nil)
	p.noRecipient("4155550123")

	// Without the SMS configuration, the route does not exist.
	s2 := newSandbox(t)
	p2 := startServe(t, s2, nil)
	p2.do("POST", "/sms/inbound", "", "application/x-www-form-urlencoded", []byte("From=%2B14155550123&Body=STOP")).want(t, 404, nil)
}

func TestServeFeedback(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "optout", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type feedback struct {
		Type       string `json:"type"`
		Reporter   string `json:"reporter"`
		Recipients []struct {
			Recipient string `json:"recipient"`
			Canonical string `json:"canonical"`
			Blocked   bool   `json:"blocked"`
			Source    string `json:"source"`
		} `json:"recipients"`
		Statuses []struct {
			Status string `json:"status"`
		} `json:"statuses"`
		NewlyBlocked int `json:"newly_blocked"`
	}
	var fb feedback
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", read("postfix-hard.eml")).want(t, 200, &fb)
	if fb.Type != "hard-bounce" || fb.NewlyBlocked < 1 || len(fb.Recipients) < 1 || len(fb.Statuses) < 1 {
		t.Fatalf("feedback: %+v", fb)
	}
	for _, r := range fb.Recipients {
		if !r.Blocked || r.Source != optout.SourceBounce {
			t.Fatalf("recipient not blocked by the bounce: %+v", r)
		}
		if c := p.checkOne(r.Canonical); !c.Blocked || c.Source != optout.SourceBounce {
			t.Fatalf("check after the bounce: %+v", c)
		}
	}
	// The same report again blocks nothing new.
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", read("postfix-hard.eml")).want(t, 200, &fb)
	if fb.NewlyBlocked != 0 {
		t.Fatalf("replayed report: %+v", fb)
	}
	// A complaint.
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", read("arf-rfc5965.eml")).want(t, 200, &fb)
	if fb.Type != "complaint" || len(fb.Recipients) == 0 || !fb.Recipients[0].Blocked || fb.Recipients[0].Source != optout.SourceComplaint {
		t.Fatalf("complaint: %+v", fb)
	}
	// A soft bounce is counted, not blocked (3 within 7 days block).
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", read("postfix-delayed.eml")).want(t, 200, &fb)
	if fb.Type != "soft-bounce" || fb.NewlyBlocked != 0 || len(fb.Recipients) != 1 || fb.Recipients[0].Blocked {
		t.Fatalf("soft bounce: %+v", fb)
	}
	// Not a report; the wrong type; empty; too large; no token.
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", read("not-report.eml")).wantError(t, 422, "not a delivery-status")
	p.do("POST", "/v1/feedback", apiToken, "application/json", read("postfix-hard.eml")).wantError(t, 415, "message/rfc822")
	// The report's own type, as a client may label the message it posts.
	var fb2 struct {
		Type string `json:"type"`
	}
	p.do("POST", "/v1/feedback", apiToken, "multipart/report; report-type=delivery-status; boundary=x", read("postfix-hard.eml")).want(t, 200, &fb2)
	if fb2.Type != "hard-bounce" {
		t.Fatalf("feedback sent as multipart/report: %+v", fb2)
	}
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", nil).wantError(t, 400, "empty")
	p.do("POST", "/v1/feedback", apiToken, "message/rfc822", bytes.Repeat([]byte("x"), optout.MaxFeedbackSize+1)).wantError(t, 413, "over")
	p.do("POST", "/v1/feedback", "", "message/rfc822", read("postfix-hard.eml")).wantError(t, 401)
	for _, r := range fb.Recipients {
		p.noRecipient(r.Canonical)
	}
}

func TestServeSync(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cx, oc, env := fakes(t)
	p := startServe(t, s, env, "--sync", "--interval", "100ms")
	p.api("POST", "/v1/blocks", map[string]any{"recipients": []string{"gil@example.com"}, "reason": "complained"}).want(t, 200, nil)
	deadline := time.Now().Add(20 * time.Second)
	for {
		inCX := slices.ContainsFunc(cx.Contacts(), func(c opencxtest.Contact) bool { return strings.EqualFold(c.Email, "gil@example.com") })
		inOC := slices.ContainsFunc(oc.Blocked(), func(e ocambatest.Entry) bool { return e.Contact == "gil@example.com" })
		if inCX && inOC {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the block did not reach the vendors (opencx %v, ocamba %v):\n%s", inCX, inOC, p.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.noRecipient("gil@example.com")
	if code, took := p.stop(); code != 0 || took > 10*time.Second {
		t.Fatalf("stop: exit %d after %v", code, took)
	}
	for _, want := range []string{`summary="opencx: pushed `, `summary="ocamba: pushed `} {
		if !strings.Contains(p.logs(), want) {
			t.Fatalf("no sync summary %q at the stop:\n%s", want, p.logs())
		}
	}
}

// TestServeStopUnderLoad sends SIGTERM while clients block recipients:
// serve exits 0 within 10 s, and every block it acknowledged with a 2xx
// is there after the restart.
func TestServeStopUnderLoad(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	const workers = 8
	var (
		mu    gosync.Mutex
		acked []string
		wg    gosync.WaitGroup
	)
	stopLoad := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			client := &http.Client{Timeout: 15 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				r := fmt.Sprintf("load-%d-%d@example.com", w, i)
				body, _ := json.Marshal(map[string]any{"recipients": []string{r}, "reason": "load"})
				req, _ := http.NewRequest("POST", p.base+"/v1/blocks", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+apiToken)
				res, err := client.Do(req)
				if err != nil {
					return // the server stopped accepting
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, r)
					mu.Unlock()
				}
			}
		})
	}
	// Let the load run, then stop serve in the middle of it.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopAt := time.Now()
	code, took := p.stop()
	close(stopLoad)
	wg.Wait()
	if code != 0 || took > 10*time.Second {
		t.Fatalf("stop under load: exit %d after %v:\n%s", code, took, p.logs())
	}
	if len(acked) < 200 {
		t.Fatalf("only %d blocks acknowledged", len(acked))
	}
	// The guard was closed: the filter snapshot was written at the stop.
	if fi, err := os.Stat(filepath.Join(s.db, "sendguard-filter.snap")); err != nil || fi.ModTime().Before(stopAt.Add(-time.Second)) {
		t.Fatalf("no filter snapshot written at the stop: %v", err)
	}
	exported := map[string]bool{}
	for _, l := range lines(s.run("", "export").want(t, 0).stdout) {
		contact, _, _ := strings.Cut(l, ",")
		exported[contact] = true
	}
	for _, r := range acked {
		if !exported[r] {
			t.Fatalf("acknowledged block %s lost after the restart (%d acknowledged, %d exported)", r, len(acked), len(exported))
		}
	}
	if !strings.Contains(p.logs(), "serve: stopped") {
		t.Fatalf("no clean stop in the logs:\n%s", p.logs())
	}
}

// TestServeStopFinishesInFlight: a request whose body is still arriving
// when SIGTERM comes is finished and answered 200, and its block is there
// after the restart.
func TestServeStopFinishesInFlight(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", p.base+"/v1/blocks", pr)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	type answer struct {
		status int
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := p.http.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		done <- answer{status: res.StatusCode}
	}()
	if _, err := io.WriteString(pw, `{"recipients": ["inflight@example.com"], `); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server reads the headers and starts the handler
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the shutdown has begun
	select {
	case <-p.done:
		t.Fatalf("serve exited with a request in flight:\n%s", p.logs())
	default:
	}
	if _, err := io.WriteString(pw, `"reason": "late"}`); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	a := <-done
	if a.err != nil || a.status != 200 {
		t.Fatalf("in-flight request: status %d, err %v\n%s", a.status, a.err, p.logs())
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not exit within 10s")
	}
	if p.code != 0 {
		t.Fatalf("exit %d", p.code)
	}
	wantLines(t, s.run("", "check", "inflight@example.com").want(t, 1).stdout, "blocked\tinflight@example.com\tlate\tlocal\tinflight@example.com")
}

// TestServeDocumentedRoutesAnswer sends each route of the OpenAPI
// document to the binary: none is unrouted (404 or 405).
func TestServeDocumentedRoutesAnswer(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	p := startServe(t, s, nil)
	for _, op := range openAPIOperations(t) {
		body := []byte(`{}`)
		ct := "application/json"
		if op.path == "/v1/feedback" {
			body, ct = []byte("Subject: hi\r\n\r\nhello\r\n"), "message/rfc822"
		}
		r := p.do(op.method, op.path, apiToken, ct, body)
		if r.status == 404 || r.status == 405 || r.status == 401 {
			t.Errorf("%s %s: %d %s: documented but not routed", op.method, op.path, r.status, r.body)
		}
		if r := p.do(op.method, op.path, "", ct, body); r.status != 401 {
			t.Errorf("%s %s without the token: %d, want 401", op.method, op.path, r.status)
		}
	}
}

func TestServeHelp(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	out := s.run("", "help", "serve").want(t, 0).stdout
	for _, want := range []string{"sendguard serve", "SENDGUARD_API_TOKEN", "SENDGUARD_ADDR", "/v1/check", "/v1/blocks",
		"/v1/stats", "/v1/unsubscribe-headers", "/v1/feedback", "SENDGUARD_UNSUBSCRIBE_URL", "SENDGUARD_UNSUBSCRIBE_SECRET",
		"/sms/inbound", "SENDGUARD_TWILIO_AUTH_TOKEN", "SENDGUARD_SMS_WEBHOOK_URL", "/healthz", "/readyz", "/metrics",
		"--sync", "--nats", "SIGTERM", strings.TrimSpace(listeningPrefix)} {
		if !strings.Contains(out, want) {
			t.Errorf("help serve lacks %q", want)
		}
	}
}
