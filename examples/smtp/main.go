package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/mail"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
	"github.com/sendguard/sendguard/storage"
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
	fs := flag.NewFlagSet("smtp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.DB, "db", "", "blocklist directory (`DIR`); default: a temporary directory, removed at exit")
	fs.StringVar(&cfg.SMTP, "smtp", "", "send to this SMTP server (`HOST:PORT`, plain SMTP, no auth) instead of the in-process one")
	fs.StringVar(&cfg.From, "from", "Example Shop <news@shop.example>", "sender `address`")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "bound for each message's SMTP exchange")
	fs.StringVar(&cfg.UnsubscribeURL, "unsubscribe-url", defaultUnsubscribeURL, "https `URL` of the one-click unsubscribe handler, for List-Unsubscribe")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smtp: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if _, err := run(ctx, cfg, stdout); err != nil {
		fmt.Fprintln(stderr, "smtp:", err)
		return 1
	}
	return 0
}

// config is the demo's settings; the zero value means every default.
type config struct {
	DB      string        // blocklist directory; "" = a temporary one
	SMTP    string        // SMTP server; "" = start the in-process one
	From    string        // sender; "" = "Example Shop <news@shop.example>"
	Timeout time.Duration // per message; 0 = 30s
	// UnsubscribeURL is where the one-click unsubscribe handler is served
	// ("" = defaultUnsubscribeURL); UnsubscribeSecret keys its links (nil =
	// 32 random bytes for this run; a real sender keeps one secret).
	UnsubscribeURL    string
	UnsubscribeSecret []byte
}

// defaultUnsubscribeURL is the demo's one-click unsubscribe URL. Nothing
// serves it here: the links only show what a real sender's would look like.
const defaultUnsubscribeURL = "https://shop.example/unsubscribe"

// outcome is what happened to one message of the batch.
type outcome struct {
	Message    Message
	Delivered  []string           // recipients the server accepted
	Suppressed []guard.Suppressed // recipients the guard removed
	Refused    map[string]string  // recipients the server refused, with its answer
	Err        error              // the send failed (nothing delivered)
}

// report is what run did: one outcome per message, and, with the
// in-process server, what that server received.
type report struct {
	Outcomes []outcome
	Server   *recorder // nil with an external server
}

// demoBlocks returns the demo's blocklist: what is blocked and why.
func demoBlocks() []struct{ recipient, reason string } {
	return []struct{ recipient, reason string }{
		{"Ann Example <ann@example.com>", "unsubscribed"},
		{"*.example.net", "company asked for no email"},
		{"jane.doe@gmail.com", "marked as spam"},
	}
}

// gone is the address the in-process server does not know: its hard
// bounce gets it blocked.
const gone = "gone@example.org"

// batch returns the demo's messages.
func batch(from string) []Message {
	return []Message{
		{
			From: from, Subject: "Spring sale",
			To:   []string{"Ann Example <ann@example.com>", "bob@example.com"},
			Cc:   []string{"Carol Lee <carol@example.org>", "dave@example.net"},
			Bcc:  []string{"audit@shop.example"},
			Body: "Everything is 20% off this week.\n\n— Example Shop\n",
		},
		{
			From: from, Subject: "Your invoice",
			To:   []string{"JaneDoe+invoices@gmail.com", "Bob <bob@example.com>"},
			Cc:   []string{gone},
			Body: "Invoice 1047 is attached (not really).\n",
		},
		{
			From: from, Subject: "Team update",
			To:   []string{"ANN@EXAMPLE.COM", "eve@lists.example.net"},
			Cc:   []string{"j.a.n.e.d.o.e@gmail.com"},
			Body: "Nobody will read this.\n",
		},
		{
			// A newsletter: one recipient, so it carries one-click
			// unsubscribe headers (see withListUnsubscribe).
			From: from, Subject: "Our newsletter",
			To:   []string{"Carol Lee <carol@example.org>"},
			Body: "News from the shop.\n",
		},
		{
			From: from, Subject: "Reminder: café opening",
			To:   []string{gone, "Carol Lee <carol@example.org>"},
			Cc:   []string{"Frank Müller <frank@example.com>"},
			Body: "Doors open at nine.\n",
		},
	}
}

// run is the demo: it opens the guard, blocks the demo contacts, sends the
// batch and prints what happened to stdout. It returns an error only when
// the demo itself cannot run (no store, no server); refused and suppressed
// recipients are part of the report.
func run(ctx context.Context, cfg config, stdout io.Writer) (*report, error) {
	if cfg.From == "" {
		cfg.From = "Example Shop <news@shop.example>"
	}
	dir := cfg.DB
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sendguard-smtp-demo-")
		if err != nil {
			return nil, err
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		dir = tmp
	}
	g, err := guard.Open(dir, guard.WithProviderFolding(true))
	if errors.Is(err, storage.ErrSettings) {
		return nil, fmt.Errorf("%w (the demo needs a store created with provider folding; use a new -db directory)", err)
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = g.Close() }()
	fmt.Fprintf(stdout, "guard: Badger store in %s, provider folding on\n", dir)

	for _, b := range demoBlocks() {
		v, err := g.Block(ctx, b.recipient, b.reason)
		if err != nil {
			return nil, fmt.Errorf("block %q: %w", b.recipient, err)
		}
		fmt.Fprintf(stdout, "  blocked %-32s as %s %q (%s)\n", b.recipient, v.Contact.Kind, v.Contact.Value, b.reason)
	}

	rep := &report{}
	addr := cfg.SMTP
	if addr == "" {
		srv, err := startServer(gone)
		if err != nil {
			return nil, err
		}
		defer func() { _ = srv.Close() }()
		rep.Server = srv.recorder
		addr = srv.Addr()
		fmt.Fprintf(stdout, "SMTP server: in-process go-smtp on %s\n", addr)
	} else {
		fmt.Fprintf(stdout, "SMTP server: %s\n", addr)
	}

	var refused map[string]string // the current message's, filled by OnReject
	sender := &smtpSender{
		Addr:    addr,
		Timeout: cfg.Timeout,
		OnReject: func(ctx context.Context, rcpt string, se *smtp.SMTPError) {
			answer := fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message)
			refused[rcpt] = answer
			if hardBounce(se) {
				// A hard bounce: never write to this address again.
				if _, err := g.Block(ctx, rcpt, "hard bounce: "+answer); err == nil {
					refused[rcpt] += " (hard bounce: now blocked)"
				}
			}
		},
	}
	secret := cfg.UnsubscribeSecret
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	}
	unsub, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{
		Secret: secret,
		URL:    cmp.Or(cfg.UnsubscribeURL, defaultUnsubscribeURL),
	})
	if err != nil {
		return nil, err
	}
	// The guard first, then the unsubscribe headers for what is left.
	send := guard.Chain[Message](sender,
		guard.NewMiddleware(g, addressing, guard.WithPolicy(guard.DropBlocked)),
		withListUnsubscribe(unsub),
	)

	for i, m := range batch(cfg.From) {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		refused = make(map[string]string)
		o := outcome{Message: m, Refused: refused}
		err := send.Send(ctx, m)
		var be *guard.BlockedError
		switch {
		case err == nil:
		case errors.As(err, &be) && be.Sent:
			o.Suppressed = be.Suppressed
		case errors.As(err, &be) && len(be.Suppressed) == len(recipients(m)):
			o.Suppressed = be.Suppressed // every recipient suppressed: nothing to send
		default:
			o.Err = err
			if be != nil {
				o.Suppressed = be.Suppressed
			}
		}
		if o.Err == nil {
			o.Delivered = delivered(m, o.Suppressed, refused)
		}
		rep.Outcomes = append(rep.Outcomes, o)
		printOutcome(stdout, i+1, o)
	}

	if rep.Server != nil {
		printReceived(stdout, rep.Server)
	}
	st := g.Stats()
	fmt.Fprintf(stdout, "\nguard: %d checks, %d allowed, %d blocked, %d filter maybes\n",
		st.Checks, st.Allowed, st.Blocked, st.FilterMaybes)
	return rep, nil
}

// withListUnsubscribe adds RFC 8058 one-click unsubscribe header fields
// (List-Unsubscribe, List-Unsubscribe-Post) to every message with exactly
// one recipient: the link names that recipient, so a message to several
// people cannot carry one (send bulk mail one recipient per message). A
// real sender then DKIM-signs the message with both fields in the
// signature's h= tag: Gmail and Yahoo ignore one-click headers the
// signature does not cover.
func withListUnsubscribe(u *optout.Unsubscriber) guard.Middleware[Message] {
	return func(next guard.Sender[Message]) guard.Sender[Message] {
		return guard.SenderFunc[Message](func(ctx context.Context, m Message) error {
			if rs := recipients(m); len(rs) == 1 {
				h, err := u.Headers(rs[0])
				if err != nil {
					return err
				}
				m.Header = maps.Clone(m.Header)
				if m.Header == nil {
					m.Header = make(map[string]string, len(h))
				}
				maps.Copy(m.Header, h)
			}
			return next.Send(ctx, m)
		})
	}
}

// delivered returns the recipients of m that were neither suppressed nor
// refused by the server.
func delivered(m Message, sup []guard.Suppressed, refused map[string]string) []string {
	gone := make(map[int]bool, len(sup))
	for _, s := range sup {
		gone[s.Index] = true
	}
	var out []string
	for i, r := range recipients(m) {
		if gone[i] {
			continue
		}
		if a, err := mail.ParseAddress(r); err == nil {
			if _, ok := refused[a.Address]; ok {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func printOutcome(w io.Writer, n int, o outcome) {
	m := o.Message
	fmt.Fprintf(w, "\nmessage %d %q\n", n, m.Subject)
	rs := recipients(m)
	for i, r := range rs {
		if !slices.Contains(o.Delivered, r) {
			continue
		}
		fmt.Fprintf(w, "  delivered   %-4s %s\n", role(m, i)+":", r)
	}
	for _, s := range o.Suppressed {
		v := s.Verdict
		why := ""
		switch {
		case s.Err != nil:
			why = s.Err.Error()
		case v.Scope == guard.ScopeDomain:
			why = fmt.Sprintf("domain %s is blocked: %s (source %s)", v.BlockedContact.Value, v.Reason, v.Source)
		default:
			why = fmt.Sprintf("blocked as %s: %s (source %s)", v.BlockedContact.Value, v.Reason, v.Source)
		}
		fmt.Fprintf(w, "  suppressed  %-4s %s — %s\n", role(m, s.Index)+":", rs[s.Index], why)
	}
	for _, rcpt := range slices.Sorted(maps.Keys(o.Refused)) {
		fmt.Fprintf(w, "  refused     %s by the server: %s\n", rcpt, o.Refused[rcpt])
	}
	switch {
	case o.Err != nil:
		fmt.Fprintf(w, "  not sent: %v\n", o.Err)
	case len(o.Delivered) == 0 && len(o.Refused) == 0:
		fmt.Fprintf(w, "  not sent: every recipient was suppressed\n")
	}
}

func printReceived(w io.Writer, rec *recorder) {
	msgs := rec.Messages()
	fmt.Fprintf(w, "\nthe SMTP server received %d messages:\n", len(msgs))
	for _, r := range msgs {
		subject, to, cc := "?", "", ""
		if pm, err := mail.ReadMessage(strings.NewReader(string(r.Data))); err == nil {
			if s, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject")); err == nil {
				subject = s
			}
			to, cc = pm.Header.Get("To"), pm.Header.Get("Cc")
		}
		fmt.Fprintf(w, "  %q  MAIL FROM:<%s>  RCPT TO: %s\n", subject, r.From, strings.Join(r.Rcpts, ", "))
		fmt.Fprintf(w, "      To: %s\n", to)
		if cc != "" {
			fmt.Fprintf(w, "      Cc: %s\n", cc)
		}
		if pm, err := mail.ReadMessage(strings.NewReader(string(r.Data))); err == nil && pm.Header.Get("List-Unsubscribe") != "" {
			fmt.Fprintf(w, "      List-Unsubscribe: %s\n", pm.Header.Get("List-Unsubscribe"))
			fmt.Fprintf(w, "      List-Unsubscribe-Post: %s\n", pm.Header.Get("List-Unsubscribe-Post"))
		}
	}
	fmt.Fprintf(w, "  (every RCPT TO it was given: %s)\n", strings.Join(rec.Rcpts(), ", "))
}
