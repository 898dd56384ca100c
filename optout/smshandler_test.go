package optout_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
)

const smsToken = "test-auth-token"

type smsRig struct {
	g   *guard.Guard
	h   *optout.SMSHandler
	url string
}

func newSMSRig(t *testing.T, cfg optout.SMSConfig) *smsRig {
	t.Helper()
	g := memGuard(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if cfg.URL == "" {
		cfg.URL = srv.URL + "/sms/incoming?account=1"
	}
	h, err := optout.NewSMSHandler(g, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sms/incoming", h)
	return &smsRig{g: g, h: h, url: srv.URL + "/sms/incoming?account=1"}
}

func (r *smsRig) post(t *testing.T, form url.Values, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, r.url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *smsRig) reply(t *testing.T, from, body string) (int, string) {
	t.Helper()
	form := url.Values{"From": {from}, "To": {"+12025550100"}, "Body": {body}, "MessageSid": {"SM1"}, "NumMedia": {"0"}}
	return r.post(t, form, optout.TwilioSignature(smsToken, r.url, form))
}

func TestSMSHandler_OptOutAndIn(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken})
	code, body := r.reply(t, "+12025550110", "Stop texting me")
	if code != http.StatusOK || !strings.Contains(body, "<Response>") {
		t.Fatalf("STOP: %d %q", code, body)
	}
	v := blocked(t, r.g, "(202) 555-0110")
	if !v.Blocked || v.Source != optout.SourceSMS {
		t.Fatalf("after STOP: %+v", v)
	}
	if code, _ := r.reply(t, "+12025550110", "START"); code != http.StatusOK {
		t.Fatalf("START: %d", code)
	}
	if blocked(t, r.g, "+12025550110").Blocked {
		t.Fatal("START did not lift the SMS opt-out")
	}
	if st := r.h.Stats(); st.BySource[optout.SourceSMS].Count != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSMSHandler_StartKeepsOtherBlocks: an opt-in lifts an SMS opt-out only.
func TestSMSHandler_StartKeepsOtherBlocks(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken})
	if _, err := r.g.Block(t.Context(), "+12025550199", "do not contact"); err != nil {
		t.Fatal(err)
	}
	if code, _ := r.reply(t, "+12025550199", "unstop"); code != http.StatusOK {
		t.Fatalf("UNSTOP: %d", code)
	}
	if v := blocked(t, r.g, "+12025550199"); !v.Blocked || v.Reason != "do not contact" {
		t.Fatalf("an operator's block was lifted: %+v", v)
	}
}

func TestSMSHandler_Answers(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken, HelpReply: "Acme alerts <help> Reply STOP to cancel"})
	if code, _ := r.reply(t, "+12025550120", "Thanks, see you then"); code != http.StatusNoContent {
		t.Errorf("ordinary message: %d, want 204", code)
	}
	if blocked(t, r.g, "+12025550120").Blocked {
		t.Error("an ordinary message blocked")
	}
	code, body := r.reply(t, "+12025550121", "HELP")
	if code != http.StatusOK || !strings.Contains(body, "<Message>Acme alerts &lt;help&gt; Reply STOP to cancel</Message>") {
		t.Errorf("HELP: %d %q", code, body)
	}
	if code, _ := r.reply(t, "not a number", "STOP"); code != http.StatusBadRequest {
		t.Errorf("bad From: %d, want 400", code)
	}
}

func TestSMSHandler_Signature(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken})
	form := url.Values{"From": {"+12025550130"}, "To": {"+12025550100"}, "Body": {"STOP"}}
	tampered := url.Values{"From": {"+12025550131"}, "To": {"+12025550100"}, "Body": {"STOP"}}
	for name, sig := range map[string]string{
		"none":         "",
		"wrong token":  optout.TwilioSignature("wrong", r.url, form),
		"other fields": optout.TwilioSignature(smsToken, r.url, tampered),
		"other URL":    optout.TwilioSignature(smsToken, "https://evil.example/sms/incoming?account=1", form),
		"garbage":      "not base64 at all",
	} {
		if code, _ := r.post(t, form, sig); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	if blocked(t, r.g, "+12025550130").Blocked {
		t.Fatal("an unsigned request blocked")
	}
	if code, _ := r.post(t, form, optout.TwilioSignature(smsToken, r.url, form)); code != http.StatusOK || !blocked(t, r.g, "+12025550130").Blocked {
		t.Fatalf("signed: %d", code)
	}
}

func TestSMSHandler_Refusals(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken})
	resp, err := http.Get(r.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", resp.StatusCode)
	}
	big := url.Values{"From": {"+12025550140"}, "Body": {"STOP"}, "Pad": {strings.Repeat("x", 70<<10)}}
	if code, _ := r.post(t, big, optout.TwilioSignature(smsToken, r.url, big)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d, want 413", code)
	}
	if blocked(t, r.g, "+12025550140").Blocked {
		t.Error("a refused request blocked")
	}
	if _, err := optout.NewSMSHandler(r.g, optout.SMSConfig{AuthToken: "x"}); err == nil {
		t.Error("an auth token without a URL was accepted")
	}
}

// TestSMSHandler_Clock: the compliance clock measures from receipt to
// enforcement with the configured clock.
func TestSMSHandler_Clock(t *testing.T) {
	clock := new(optout.Clock)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	calls := 0
	now := func() time.Time { calls++; return t0.Add(time.Duration(calls) * time.Second) }
	r := newSMSRig(t, optout.SMSConfig{AuthToken: smsToken, Clock: clock, Now: now})
	if code, _ := r.reply(t, "+12025550150", "STOP"); code != http.StatusOK {
		t.Fatal(code)
	}
	st := clock.Stats()
	if st.Count != 1 || st.Worst != time.Second || st.Mean != time.Second {
		t.Errorf("clock %+v, want one opt-out of 1s", st)
	}
	if v := blocked(t, r.g, "+12025550150"); !v.CreatedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("the block's CreatedAt %v is not the time asked %v", v.CreatedAt, t0.Add(time.Second))
	}
}

// TestSMSHandler_NoToken: without an auth token nothing is checked (for a
// handler behind something else that authenticates the provider).
func TestSMSHandler_NoToken(t *testing.T) {
	r := newSMSRig(t, optout.SMSConfig{})
	code, body := r.post(t, url.Values{"From": {"+12025550160"}, "Body": {"HELP"}}, "")
	if code != http.StatusOK || strings.Contains(body, "<Message>") {
		t.Errorf("HELP without a reply configured: %d %q, want an empty TwiML", code, body)
	}
	if code, _ := r.post(t, url.Values{"From": {"+12025550160"}, "Body": {"stop"}}, ""); code != http.StatusOK || !blocked(t, r.g, "+12025550160").Blocked {
		t.Fatalf("unsigned STOP without a token: %d", code)
	}
}
