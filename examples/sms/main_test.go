package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
)

const (
	testSID   = "ACtest"
	testToken = "test-token"
	ourNumber = "+12025550100"
)

// rig is the demo's wiring for one test: a guard, the fake provider, the
// guarded sending chain, and the webhook on a test server.
type rig struct {
	g        *guard.Guard
	provider *fakeProvider
	api      *client
	send     guard.Sender[SMS]
	hookURL  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	p := newFakeProvider(testSID, testToken)
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	api := &client{BaseURL: ps.URL, AccountSID: testSID, AuthToken: testToken, HTTP: ps.Client()}
	mux := http.NewServeMux()
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	hookURL := hs.URL + "/sms"
	hook, err := optout.NewSMSHandler(g, optout.SMSConfig{AuthToken: testToken, URL: hookURL})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sms", hook)
	return &rig{g: g, provider: p, api: api, send: guarded(g, api), hookURL: hookURL}
}

// reply posts an incoming message from `from` to the webhook, signed.
func (r *rig) reply(t *testing.T, from, body string) *http.Response {
	t.Helper()
	form := url.Values{"From": {from}, "To": {ourNumber}, "Body": {body}, "MessageSid": {"SMx"}}
	return r.post(t, form, optout.TwilioSignature(testToken, r.hookURL, form))
}

func (r *rig) post(t *testing.T, form url.Values, sig string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, r.hookURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func (r *rig) blocked(t *testing.T, number string) bool {
	t.Helper()
	v, err := r.g.Check(t.Context(), number)
	if err != nil {
		t.Fatalf("Check(%q): %v", number, err)
	}
	return v.Blocked
}

// TestOptOut_EndToEnd: a STOP reply through the webhook makes the next
// send to that number (written another way) stop at the guard — the
// provider never sees it — and UNSTOP lets it through again.
func TestOptOut_EndToEnd(t *testing.T) {
	r := newRig(t)
	msg := func(to string) SMS { return SMS{To: to, From: ourNumber, Body: "hi"} }

	if err := r.send.Send(t.Context(), msg("(202) 555-0110")); err != nil {
		t.Fatalf("first send: %v", err)
	}
	resp := r.reply(t, "+12025550110", " sToP \n")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") {
		t.Fatalf("STOP: %d %q, want 200 TwiML", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if b, _ := io.ReadAll(resp.Body); !bytes.Contains(b, []byte("<Response>")) {
		t.Errorf("STOP answer %q is not TwiML", b)
	}

	err := r.send.Send(t.Context(), msg("202-555-0110"))
	var be *guard.BlockedError
	if !errors.Is(err, guard.ErrBlocked) || !errors.As(err, &be) || be.Sent {
		t.Fatalf("send after STOP = %v, want a *BlockedError, not sent", err)
	}
	if got := be.Suppressed[0].Verdict.Reason; got != "sms opt-out" {
		t.Errorf("reason %q", got)
	}

	if resp := r.reply(t, "+12025550110", "unstop"); resp.StatusCode != http.StatusOK {
		t.Fatalf("UNSTOP: %d", resp.StatusCode)
	}
	if err := r.send.Send(t.Context(), msg("+1 202 555 0110")); err != nil {
		t.Fatalf("send after UNSTOP: %v", err)
	}

	if got, want := r.provider.Attempts(), []string{"+12025550110", "+12025550110"}; !slices.Equal(got, want) {
		t.Errorf("the provider was asked to send to %v, want %v (the send between STOP and UNSTOP never reaches it)", got, want)
	}
	if n := len(r.provider.Accepted()); n != 2 {
		t.Errorf("the provider accepted %d messages, want 2", n)
	}
}

func TestOptOut_Keywords(t *testing.T) {
	r := newRig(t)
	for i, body := range []string{"STOP", "stopall", " Unsubscribe", "cancel\n", "End", "QUIT ", "revoke", "\tOptOut", "stop please", "STOP!"} {
		from := fmt.Sprintf("+120255502%02d", i)
		if resp := r.reply(t, from, body); resp.StatusCode != http.StatusOK {
			t.Errorf("%q: status %d, want 200", body, resp.StatusCode)
		}
		if !r.blocked(t, from) {
			t.Errorf("%q did not block the sender", body)
		}
	}
	for i, body := range []string{"stopwatch", "nonstop", "S T O P", "halt", "", "HELP", "start"} {
		from := "+1202555030" + string(rune('0'+i))
		if resp := r.reply(t, from, body); resp.StatusCode != http.StatusNoContent && !((body == "start" || body == "HELP") && resp.StatusCode == http.StatusOK) {
			t.Errorf("%q: status %d, want 204", body, resp.StatusCode)
		}
		if r.blocked(t, from) {
			t.Errorf("%q blocked the sender", body)
		}
	}
}

// TestOptOut_StartKeepsOtherBlocks: START lifts only an opt-out's block.
func TestOptOut_StartKeepsOtherBlocks(t *testing.T) {
	r := newRig(t)
	if _, err := r.g.Block(t.Context(), "+12025550199", "fraud"); err != nil {
		t.Fatal(err)
	}
	if resp := r.reply(t, "+12025550199", "START"); resp.StatusCode != http.StatusOK {
		t.Fatalf("START: %d", resp.StatusCode)
	}
	if !r.blocked(t, "+12025550199") {
		t.Error("START lifted an operator's block")
	}
	err := r.send.Send(t.Context(), SMS{To: "(202) 555-0199", From: ourNumber, Body: "x"})
	if !errors.Is(err, guard.ErrBlocked) || len(r.provider.Attempts()) != 0 {
		t.Errorf("send = %v, provider attempts %v; want blocked, none", err, r.provider.Attempts())
	}
}

// TestOptOut_Refused: the webhook acts only on signed POSTs with a phone
// number in From.
func TestOptOut_Refused(t *testing.T) {
	r := newRig(t)
	form := url.Values{"From": {"+12025550111"}, "To": {ourNumber}, "Body": {"STOP"}}
	if resp := r.post(t, form, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned: %d, want 403", resp.StatusCode)
	}
	if resp := r.post(t, form, optout.TwilioSignature("wrong-token", r.hookURL, form)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong key: %d, want 403", resp.StatusCode)
	}
	tampered := url.Values{"From": {"+12025550111"}, "To": {ourNumber}, "Body": {"START"}}
	if resp := r.post(t, form, optout.TwilioSignature(testToken, r.hookURL, tampered)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("signature of other fields: %d, want 403", resp.StatusCode)
	}
	if r.blocked(t, "+12025550111") {
		t.Error("a refused request blocked the number")
	}
	if resp := r.reply(t, "not a number", "STOP"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad From: %d, want 400", resp.StatusCode)
	}
	resp, err := http.Get(r.hookURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
}

// TestFakeProvider checks the fake's refusals through the client.
func TestFakeProvider(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	bad := *r.api
	bad.AuthToken = "nope"
	var ae *apiError
	if _, err := bad.Create(ctx, SMS{To: "+12025550101", From: ourNumber, Body: "x"}); !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != 20003 {
		t.Errorf("wrong token: %v, want 401 / 20003", err)
	}
	// Without the guard's E.164 step a national number is refused.
	if _, err := r.api.Create(ctx, SMS{To: "(202) 555-0101", From: ourNumber, Body: "x"}); !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != 21211 {
		t.Errorf("national To: %v, want 400 / 21211", err)
	}
	if _, err := r.api.Create(ctx, SMS{To: "+12025550101", From: ourNumber}); !errors.As(err, &ae) || ae.Code != 21602 {
		t.Errorf("no body: %v, want 21602", err)
	}
	mr, err := r.api.Create(ctx, SMS{To: "+12025550101", From: ourNumber, Body: "x"})
	if err != nil || !strings.HasPrefix(mr.SID, "SM") || mr.To != "+12025550101" || mr.Status != "queued" {
		t.Errorf("Create = %+v, %v", mr, err)
	}
	if n := len(r.provider.Accepted()); n != 1 {
		t.Errorf("accepted %d, want 1", n)
	}
}

// TestRun runs the demo and checks, from the fake provider's records,
// that no suppressed number reached it and every allowed one did.
func TestRun(t *testing.T) {
	rep, err := run(t.Context(), defaultConfig(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Provider == nil {
		t.Fatal("no local provider")
	}
	var want []string
	for _, round := range rep.Rounds {
		for _, res := range round {
			if res.Err != nil {
				t.Errorf("%s: %v", res.To, res.Err)
			}
			if res.Suppressed == nil {
				want = append(want, res.E164)
			}
		}
	}
	if got := rep.Provider.Attempts(); !slices.Equal(got, want) {
		t.Errorf("the provider was asked to send to\n%v\nwant\n%v", got, want)
	}
	count := func(n string) (c int) {
		for _, a := range rep.Provider.Attempts() {
			if a == n {
				c++
			}
		}
		return c
	}
	if c := count("+12025550199"); c != 0 {
		t.Errorf("the blocked +12025550199 reached the provider %d times", c)
	}
	if c := count("+12025550102"); c != 2 { // rounds 1 and 3, not 2 (after STOP)
		t.Errorf("+12025550102 reached the provider %d times, want 2", c)
	}
	if c := count("+442079460124"); c != 2 { // "011 44 ..." read with region US
		t.Errorf("+442079460124 reached the provider %d times, want 2", c)
	}
}

// TestRealMain is `go run ./examples/sms` with no flags: it must exit 0.
func TestRealMain(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain(t.Context(), nil, &out, &errb); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "blocked: sms opt-out") {
		t.Errorf("output lacks the opt-out:\n%s", out.String())
	}
	if code := realMain(t.Context(), []string{"-region"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad flags: exit code %d, want 2", code)
	}
}
