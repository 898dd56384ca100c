package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain parses args, runs the demo and returns the exit code: 0 on
// success, 2 for bad flags, 1 for any other failure.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	fs.StringVar(&cfg.DB, "db", "", "blocklist directory (`DIR`); default: a temporary directory, removed at exit")
	fs.StringVar(&cfg.API, "api", "", "provider base `URL` (Twilio: https://api.twilio.com); default: a local fake provider")
	fs.StringVar(&cfg.Region, "region", cfg.Region, "default `region` for national phone numbers (ISO 3166-1 alpha-2)")
	fs.StringVar(&cfg.SID, "sid", cfg.SID, "account SID (basic-auth user)")
	fs.StringVar(&cfg.Token, "token", cfg.Token, "auth token (basic-auth password, webhook signature key)")
	fs.StringVar(&cfg.From, "from", cfg.From, "sending number, E.164")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "HTTP timeout per request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sms: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if _, err := run(ctx, cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "sms:", err)
		return 1
	}
	return 0
}

// config is the demo's settings.
type config struct {
	DB      string // blocklist directory; "" = a temporary one
	API     string // provider base URL; "" = start the local fake
	Region  string
	SID     string
	Token   string
	From    string
	Timeout time.Duration
}

func defaultConfig() config {
	return config{
		Region:  "US",
		SID:     "AC5e9d0a1c2b3a4f5e6d7c8b9a0f1e2d3c",
		Token:   "demo-auth-token",
		From:    "+12025550100",
		Timeout: 10 * time.Second,
	}
}

// result is what happened to one send.
type result struct {
	To         string            // as written
	E164       string            // as read with the region; "" if unreadable
	SID        string            // the provider's message SID when sent
	Suppressed *guard.Suppressed // set when the guard stopped it
	Err        error             // any other failure
}

// report is what run did: the results of each round of sends and, with
// the local fake, the provider itself.
type report struct {
	Rounds   [][]result
	Provider *fakeProvider // nil with -api
}

// inbound is one simulated reply from a phone to the sending number.
type inbound struct{ from, body string }

// script is the demo: three rounds of sends with replies in between.
type script struct {
	round1, round3     []string
	replies1, replies2 []inbound
}

func demoScript() script {
	return script{
		round1: []string{"(202) 555-0101", "+1 202 555 0102", "202.555.0199", "+44 20 7946 0123", "011 44 20 7946 0124"},
		replies1: []inbound{
			{"+12025550102", "  Stop  "},              // opt-out
			{"+442079460123", "Thanks, see you then"}, // not a keyword
			{"+12025550199", "START"},                 // cannot lift an operator's block
		},
		replies2: []inbound{{"+12025550102", "unstop"}},
		round3:   []string{"+1 (202) 555-0102", "202-555-0199"},
	}
}

// run is the demo: guard, provider, webhook, three rounds of sends with
// opt-out replies in between. It prints what happened to stdout and
// returns an error only when the demo itself cannot run.
func run(ctx context.Context, cfg config, stdout io.Writer) (*report, error) {
	def := defaultConfig()
	if cfg.Region == "" {
		cfg.Region = def.Region
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	dir := cfg.DB
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sendguard-sms-demo-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	}
	g, err := guard.Open(dir, guard.WithRegion(cfg.Region))
	if err != nil {
		return nil, err
	}
	defer func() { _ = g.Close() }()
	fmt.Fprintf(stdout, "guard: Badger store in %s, region %s\n", dir, cfg.Region)
	if _, err := g.Block(ctx, "(202) 555-0199", "on the do-not-contact list"); err != nil {
		return nil, err
	}
	fmt.Fprintln(stdout, "  blocked (202) 555-0199: on the do-not-contact list")

	rep := &report{}
	base := cfg.API
	if base == "" {
		rep.Provider = newFakeProvider(cfg.SID, cfg.Token)
		srv := httptest.NewServer(rep.Provider)
		defer srv.Close()
		base = srv.URL
		fmt.Fprintf(stdout, "provider: local fake Messages API at %s\n", base)
	} else {
		fmt.Fprintf(stdout, "provider: %s\n", base)
	}
	hc := &http.Client{Timeout: cfg.Timeout}
	api := &client{BaseURL: base, AccountSID: cfg.SID, AuthToken: cfg.Token, HTTP: hc}

	// The webhook: optout's handler, mounted on a local test server. Its
	// URL is what the provider signs, so it is configured once the server
	// has one.
	mux := http.NewServeMux()
	wh := httptest.NewServer(mux)
	defer wh.Close()
	hookURL := wh.URL + "/sms/incoming"
	hook, err := optout.NewSMSHandler(g, optout.SMSConfig{AuthToken: cfg.Token, URL: hookURL})
	if err != nil {
		return nil, err
	}
	mux.Handle("/sms/incoming", hook)
	fmt.Fprintf(stdout, "webhook: incoming messages at %s\n", hookURL)

	// The SID of the last message sent is kept for printing.
	var sid string
	post := guard.SenderFunc[SMS](func(ctx context.Context, m SMS) error {
		mr, err := api.Create(ctx, m)
		sid = mr.SID
		return err
	})
	send := guarded(g, post)
	const body = "Your table for 2 is confirmed for 7pm. Reply STOP to opt out."

	sendRound := func(n int, numbers []string) {
		fmt.Fprintf(stdout, "\nround %d: sending %q\n", n, body)
		var rs []result
		for _, to := range numbers {
			sid = ""
			err := send.Send(ctx, SMS{To: to, From: cfg.From, Body: body})
			r := result{To: to, SID: sid}
			if c, err := g.Normalizer().Phone(to); err == nil {
				r.E164 = c.Value
			}
			var be *guard.BlockedError
			if errors.As(err, &be) && len(be.Suppressed) == 1 {
				r.Suppressed = &be.Suppressed[0]
			} else {
				r.Err = err
			}
			rs = append(rs, r)
			printResult(stdout, r)
		}
		rep.Rounds = append(rep.Rounds, rs)
	}
	replyAll := func(rs []inbound) error {
		fmt.Fprintln(stdout, "\nreplies (the provider posts them to the webhook):")
		for _, in := range rs {
			status, err := postInbound(ctx, hc, hookURL, cfg.Token, SMS{From: in.from, To: cfg.From, Body: in.body})
			if err != nil {
				return err
			}
			v, _ := g.Check(ctx, in.from)
			state := "not blocked"
			if v.Blocked {
				state = "blocked: " + v.Reason
			}
			fmt.Fprintf(stdout, "  %-14s %-24q → %d %s; now %s\n", in.from, in.body, status, http.StatusText(status), state)
		}
		return nil
	}

	sc := demoScript()
	sendRound(1, sc.round1)
	if err := replyAll(sc.replies1); err != nil {
		return rep, err
	}
	sendRound(2, sc.round1)
	if err := replyAll(sc.replies2); err != nil {
		return rep, err
	}
	sendRound(3, sc.round3)

	if rep.Provider != nil {
		acc := rep.Provider.Accepted()
		fmt.Fprintf(stdout, "\nthe provider accepted %d messages:\n", len(acc))
		for _, m := range acc {
			fmt.Fprintf(stdout, "  %s  To=%s From=%s\n", m.SID, m.To, m.From)
		}
	}
	return rep, ctx.Err()
}

// guarded returns the demo's sending chain: the guard (one recipient per
// message), then the rewrite of To to E.164, then next.
func guarded(g *guard.Guard, next guard.Sender[SMS]) guard.Sender[SMS] {
	return guard.Chain(next,
		guard.NewMiddleware(g, guard.SingleRecipient(func(m SMS) string { return m.To })),
		toE164(g.Normalizer()),
	)
}

func printResult(w io.Writer, r result) {
	switch {
	case r.Suppressed != nil && r.Suppressed.Err != nil:
		fmt.Fprintf(w, "  suppressed  %-22s %v\n", r.To, r.Suppressed.Err)
	case r.Suppressed != nil:
		fmt.Fprintf(w, "  suppressed  %-22s %-14s blocked: %s\n", r.To, r.E164, r.Suppressed.Verdict.Reason)
	case r.Err != nil:
		fmt.Fprintf(w, "  failed      %-22s %v\n", r.To, r.Err)
	default:
		fmt.Fprintf(w, "  delivered   %-22s %-14s %s\n", r.To, r.E164, r.SID)
	}
}

// postInbound posts m to the webhook at hookURL as the provider would: the
// form fields of an incoming message, signed with token. It returns the
// HTTP status.
func postInbound(ctx context.Context, hc *http.Client, hookURL, token string, m SMS) (int, error) {
	form := url.Values{
		"From": {m.From}, "To": {m.To}, "Body": {m.Body},
		"MessageSid": {"SMinbound"}, "NumMedia": {"0"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", optout.TwilioSignature(token, hookURL, form))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("sms example: webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
