package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
)

// addrs returns the bare, lowercased addresses of an address header.
func addrs(t *testing.T, h mail.Header, name string) []string {
	t.Helper()
	if h.Get(name) == "" {
		return nil
	}
	list, err := h.AddressList(name)
	if err != nil {
		t.Fatalf("%s header %q: %v", name, h.Get(name), err)
	}
	var out []string
	for _, a := range list {
		out = append(out, strings.ToLower(a.Address))
	}
	return out
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// wantMessage is what the server must have received for one subject.
type wantMessage struct {
	rcpts []string // accepted envelope recipients, in order
	to    []string // To header addresses
	cc    []string // Cc header addresses
}

// neverGiven are the batch's recipients that are blocked before anything is
// sent: the server must never see them, in any spelling.
var neverGiven = []string{
	"ann@example.com", "dave@example.net", "eve@lists.example.net",
	"janedoe+invoices@gmail.com", "j.a.n.e.d.o.e@gmail.com",
}

// TestRun_InProcessServer runs the demo against its in-process server and
// checks, from what the server received, that the guard kept every blocked
// recipient away from it and let every allowed one through, and that each
// message names only its delivered recipients.
func TestRun_InProcessServer(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	rep, err := run(t.Context(), config{DB: dir}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if rep.Server == nil {
		t.Fatal("run with no -smtp did not use the in-process server")
	}

	given := lower(rep.Server.Rcpts())
	for _, b := range neverGiven {
		if slices.Contains(given, b) {
			t.Errorf("the server was given RCPT TO:<%s>, a blocked recipient; all RCPTs: %v", b, given)
		}
	}
	// The unknown mailbox is tried once; its hard bounce blocks it, so
	// message 4 does not try it again.
	if n := strings.Count(strings.Join(given, " "), gone); n != 1 {
		t.Errorf("the server was given %s %d times, want 1 (then blocked by the bounce); all RCPTs: %v", gone, n, given)
	}

	want := map[string]wantMessage{
		"Spring sale": {
			rcpts: []string{"bob@example.com", "carol@example.org", "audit@shop.example"},
			to:    []string{"bob@example.com"},
			cc:    []string{"carol@example.org"},
		},
		"Your invoice": {
			rcpts: []string{"bob@example.com"},
			to:    []string{"bob@example.com"},
			cc:    []string{gone}, // refused at RCPT, after the header was written
		},
		"Our newsletter": {
			rcpts: []string{"carol@example.org"},
			to:    []string{"carol@example.org"},
		},
		"Reminder: café opening": {
			rcpts: []string{"carol@example.org", "frank@example.com"},
			to:    []string{"carol@example.org"},
			cc:    []string{"frank@example.com"},
		},
	}
	msgs := rep.Server.Messages()
	if len(msgs) != len(want) {
		t.Fatalf("the server received %d messages, want %d (message 3 has only blocked recipients)", len(msgs), len(want))
	}
	ids := make(map[string]bool)
	for _, r := range msgs {
		pm, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatalf("received message does not parse: %v\n%s", err, r.Data)
		}
		if _, err := pm.Header.Date(); err != nil {
			t.Errorf("Date header: %v", err)
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		if err != nil {
			t.Fatalf("Subject %q: %v", pm.Header.Get("Subject"), err)
		}
		w, ok := want[subj]
		if !ok {
			t.Errorf("unexpected message %q", subj)
			continue
		}
		if got := lower(r.Rcpts); !slices.Equal(got, w.rcpts) {
			t.Errorf("%q: envelope RCPT TO %v, want %v", subj, got, w.rcpts)
		}
		if got := addrs(t, pm.Header, "To"); !slices.Equal(got, w.to) {
			t.Errorf("%q: To header %v, want %v", subj, got, w.to)
		}
		if got := addrs(t, pm.Header, "Cc"); !slices.Equal(got, w.cc) {
			t.Errorf("%q: Cc header %v, want %v", subj, got, w.cc)
		}
		if _, ok := pm.Header["Bcc"]; ok {
			t.Errorf("%q: has a Bcc header: %q", subj, pm.Header.Get("Bcc"))
		}
		if r.From != "news@shop.example" {
			t.Errorf("%q: MAIL FROM %q, want news@shop.example", subj, r.From)
		}
		id := pm.Header.Get("Message-ID")
		if id == "" || ids[id] {
			t.Errorf("%q: Message-ID %q missing or repeated", subj, id)
		}
		ids[id] = true
		if pm.Header.Get("MIME-Version") != "1.0" || !strings.HasPrefix(pm.Header.Get("Content-Type"), "text/plain; charset=utf-8") {
			t.Errorf("%q: MIME headers %q %q", subj, pm.Header.Get("MIME-Version"), pm.Header.Get("Content-Type"))
		}
		// One-click unsubscribe headers on the one-recipient message only.
		if got, want := pm.Header.Get("List-Unsubscribe-Post") != "", subj == "Our newsletter"; got != want {
			t.Errorf("%q: List-Unsubscribe-Post present %v, want %v", subj, got, want)
		}
		if bytes.Contains(bytes.ReplaceAll(r.Data, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("%q: a line ends in a bare LF", subj)
		}
	}

	// Independently of the hard-coded lists: every recipient the store
	// says is blocked now was never accepted by the server (gone excepted:
	// it was blocked by its own bounce), and every allowed one was.
	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	accepted := make(map[string][]string)
	for _, r := range msgs {
		pm, _ := mail.ReadMessage(bytes.NewReader(r.Data))
		subj, _ := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		accepted[subj] = lower(r.Rcpts)
	}
	for _, m := range batch("Example Shop <news@shop.example>") {
		for _, r := range recipients(m) {
			a, err := mail.ParseAddress(r)
			if err != nil {
				t.Fatal(err)
			}
			addr := strings.ToLower(a.Address)
			v, err := g.Check(t.Context(), r)
			if err != nil {
				t.Fatalf("Check(%q): %v", r, err)
			}
			got := slices.Contains(accepted[m.Subject], addr)
			switch {
			case addr == gone:
			case v.Blocked && got:
				t.Errorf("%q: blocked recipient %s reached the server", m.Subject, r)
			case !v.Blocked && !got:
				t.Errorf("%q: allowed recipient %s did not reach the server", m.Subject, r)
			}
		}
	}
	if o := rep.Outcomes[2]; len(o.Delivered) != 0 || len(o.Suppressed) != 3 || o.Err != nil {
		t.Errorf("message 3: delivered %v, suppressed %d, err %v; want nothing sent, 3 suppressed, no error", o.Delivered, len(o.Suppressed), o.Err)
	}
}

// TestRun_ExternalServer points the demo at a server it did not start
// (-smtp), which knows every mailbox.
func TestRun_ExternalServer(t *testing.T) {
	srv, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	rep, err := run(t.Context(), config{DB: t.TempDir(), SMTP: srv.Addr()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Server != nil {
		t.Error("run with -smtp started its own server")
	}
	given := lower(srv.Rcpts())
	for _, b := range neverGiven {
		if slices.Contains(given, b) {
			t.Errorf("the server was given blocked RCPT TO:<%s>; all: %v", b, given)
		}
	}
	want := []string{
		"bob@example.com", "carol@example.org", "audit@shop.example",
		"bob@example.com", gone,
		"carol@example.org", // the newsletter
		gone, "carol@example.org", "frank@example.com",
	}
	if !slices.Equal(given, want) {
		t.Errorf("RCPTs %v, want %v", given, want)
	}
}

// TestRealMain is `go run ./examples/smtp` with no flags: it must exit 0.
func TestRealMain(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain(t.Context(), nil, &out, &errb); code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s\nstdout:\n%s", code, errb.String(), out.String())
	}
	for _, s := range []string{"the SMTP server received 4 messages", "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "suppressed", "every recipient was suppressed"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	if code := realMain(t.Context(), []string{"-nosuchflag"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("bad flag: exit code %d, want 2", code)
	}
}

// stallingServer accepts connections and, for each, sends greeting (if
// not empty), then reads lines and answers nothing. It reports each line
// read on lines.
func stallingServer(t *testing.T, greeting string) (addr string, lines <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				if greeting != "" {
					_, _ = io.WriteString(c, greeting)
				}
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					select {
					case ch <- sc.Text():
					default:
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

var testMessage = Message{From: "a@shop.example", To: []string{"b@example.com"}, Subject: "s", Body: "b"}

// TestSmtpSender_Deadline: a server that never greets; the context's
// deadline, not go-smtp's five-minute command timeout, ends the send.
func TestSmtpSender_Deadline(t *testing.T) {
	addr, _ := stallingServer(t, "")
	s := &smtpSender{Addr: addr, Timeout: time.Hour}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, testMessage)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send = %v, want an error wrapping context.DeadlineExceeded", err)
	}
}

// TestSmtpSender_Cancel: cancelling the context while the client waits
// for the answer to EHLO ends the send.
func TestSmtpSender_Cancel(t *testing.T) {
	addr, lines := stallingServer(t, "220 stalling ESMTP\r\n")
	s := &smtpSender{Addr: addr, Timeout: time.Hour}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, testMessage) }()
	if l := <-lines; !strings.HasPrefix(l, "EHLO") {
		t.Errorf("first command %q, want EHLO", l)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send = %v, want an error wrapping context.Canceled", err)
	}
}

// TestSmtpSender_AllRefused: a message every recipient of which the
// server refuses is not sent (no DATA), and the error lists them.
func TestSmtpSender_AllRefused(t *testing.T) {
	srv, err := startServer("b@example.com", "c@example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Close() }()
	var rejected []string
	s := &smtpSender{Addr: srv.Addr()}
	s.OnReject = func(_ context.Context, rcpt string, _ *smtp.SMTPError) { rejected = append(rejected, rcpt) }
	m := testMessage
	m.Cc = []string{"c@example.com"}
	err = s.Send(t.Context(), m)
	var re *rcptError
	if !errors.As(err, &re) || len(re.Rejected) != 2 {
		t.Fatalf("Send = %v, want a *rcptError for 2 recipients", err)
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("the server received %d messages, want 0", len(srv.Messages()))
	}
	if !slices.Equal(rejected, []string{"b@example.com", "c@example.com"}) {
		t.Errorf("OnReject saw %v", rejected)
	}
}

func TestWithout(t *testing.T) {
	m := Message{To: []string{"t0", "t1"}, Cc: []string{"c0"}, Bcc: []string{"b0", "b1"}}
	got := without(m, []int{1, 2, 3})
	if !slices.Equal(got.To, []string{"t0"}) || len(got.Cc) != 0 || !slices.Equal(got.Bcc, []string{"b1"}) {
		t.Errorf("without = To %v Cc %v Bcc %v, want [t0] [] [b1]", got.To, got.Cc, got.Bcc)
	}
	if !slices.Equal(m.To, []string{"t0", "t1"}) || len(m.Bcc) != 2 {
		t.Error("without changed its argument")
	}
	if r := recipients(m); !slices.Equal(r, []string{"t0", "t1", "c0", "b0", "b1"}) {
		t.Errorf("recipients = %v", r)
	}
}

func TestPrepare(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	t.Run("bcc only", func(t *testing.T) {
		env, err := prepare(Message{From: "a@shop.example", Bcc: []string{"Hidden <h@example.com>"}, Subject: "x", Body: "line1\nline2 ünïcode\n"}, now)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := mail.ReadMessage(bytes.NewReader(env.Data))
		if err != nil {
			t.Fatal(err)
		}
		if got := pm.Header.Get("To"); got != "undisclosed-recipients:;" {
			t.Errorf("To = %q, want the empty group", got)
		}
		if bytes.Contains(env.Data, []byte("h@example.com")) {
			t.Errorf("the Bcc address appears in the message:\n%s", env.Data)
		}
		if !slices.Equal(env.Rcpts, []string{"h@example.com"}) {
			t.Errorf("envelope %v", env.Rcpts)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(pm.Body))
		if err != nil || string(body) != "line1\r\nline2 ünïcode\r\n" {
			t.Errorf("body %q, %v", body, err)
		}
	})
	t.Run("header injection", func(t *testing.T) {
		_, err := prepare(Message{From: "a@shop.example", To: []string{"b@example.com"}, Subject: "hi\r\nBcc: evil@example.com"}, now)
		if !errors.Is(err, errHeader) {
			t.Errorf("prepare = %v, want errHeader", err)
		}
	})
	t.Run("long list folds", func(t *testing.T) {
		var to []string
		for i := range 12 {
			to = append(to, "Recipient Number "+string(rune('A'+i))+" <r"+string(rune('a'+i))+"@example.com>")
		}
		env, err := prepare(Message{From: "a@shop.example", To: to, Cc: []string{"b@example.com", "B@EXAMPLE.COM"}}, now)
		if err != nil {
			t.Fatal(err)
		}
		head, _, _ := bytes.Cut(env.Data, []byte("\r\n\r\n"))
		for _, l := range strings.Split(string(head), "\r\n") {
			if len(l) > 78 {
				t.Errorf("header line of %d characters: %q", len(l), l)
			}
		}
		pm, _ := mail.ReadMessage(bytes.NewReader(env.Data))
		if got := addrs(t, pm.Header, "To"); len(got) != 12 {
			t.Errorf("To has %d addresses after folding, want 12", len(got))
		}
		if len(env.Rcpts) != 13 {
			t.Errorf("envelope has %d recipients, want 13 (a duplicate removed)", len(env.Rcpts))
		}
	})
}

// TestRun_ListUnsubscribe: the newsletter's List-Unsubscribe link, POSTed
// as a mail client does (RFC 8058) to the handler with the same secret,
// blocks its recipient.
func TestRun_ListUnsubscribe(t *testing.T) {
	dir := t.TempDir()
	secret := bytes.Repeat([]byte("k"), 32)
	rep, err := run(t.Context(), config{DB: dir, UnsubscribeSecret: secret}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var link, post string
	for _, r := range rep.Server.Messages() {
		pm, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		if v := pm.Header.Get("List-Unsubscribe"); v != "" {
			link, post = strings.Trim(v, "<>"), pm.Header.Get("List-Unsubscribe-Post")
		}
	}
	if !strings.HasPrefix(link, defaultUnsubscribeURL+"/") || post != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", link, post)
	}

	g, err := guard.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	u, err := optout.NewUnsubscriber(g, optout.UnsubscribeConfig{Secret: secret, URL: defaultUnsubscribeURL})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe/", u)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+strings.TrimPrefix(link, "https://shop.example"), "application/x-www-form-urlencoded", strings.NewReader(post))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	if v, err := g.Check(t.Context(), "carol@example.org"); err != nil || !v.Blocked || v.Source != optout.SourceUnsubscribe {
		t.Fatalf("carol after the one-click: %+v, %v", v, err)
	}
}
