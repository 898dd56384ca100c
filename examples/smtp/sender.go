package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sendguard/sendguard/guard"
)

// smtpSender sends each [Message] over its own plain SMTP connection to
// Addr with go-smtp's client: EHLO, MAIL FROM, one RCPT TO per recipient,
// DATA, QUIT. It is a [guard.Sender]; the guard sits in front of it.
//
// A recipient the server refuses at RCPT TO does not fail the message: the
// others still get it, and OnReject is called for the refused one. Send
// fails when the server refuses every recipient (a *rcptError) or anything
// else goes wrong.
//
// smtpSender is safe for concurrent use by multiple goroutines if OnReject
// is: each Send has its own connection.
type smtpSender struct {
	Addr string // host:port
	// Helo is the name given in EHLO. The default value is "localhost".
	Helo string
	// Timeout bounds one Send when ctx has no earlier deadline. The default
	// value is 30 seconds.
	Timeout time.Duration
	// OnReject, if set, is called on the sending goroutine for each
	// recipient the server refused.
	OnReject func(ctx context.Context, rcpt string, err *smtp.SMTPError)
	// Now is the clock for the Date header. The default value is time.Now.
	Now func() time.Time
}

var _ guard.Sender[Message] = (*smtpSender)(nil)

// rcptError says that the server refused every recipient of a message, so
// it was not sent.
type rcptError struct {
	Rejected map[string]*smtp.SMTPError // by envelope address
}

func (e *rcptError) Error() string {
	var b strings.Builder
	b.WriteString("smtp example: server refused every recipient:")
	for _, rcpt := range slices.Sorted(maps.Keys(e.Rejected)) {
		err := e.Rejected[rcpt]
		fmt.Fprintf(&b, " %s (%d %s)", rcpt, err.Code, err.Message)
	}
	return b.String()
}

// Send renders m and sends it. It returns when the server has accepted the
// message (the reply to the final dot) or on the first error; ctx bounds
// the whole exchange, including the dial.
func (s *smtpSender) Send(ctx context.Context, m Message) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	env, err := prepare(m, now())
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp example: dial %s: %w", s.Addr, err)
	}
	// Cancelling ctx closes the connection: go-smtp has no context, so
	// this is what interrupts a read or write in progress.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer stop()
	c := smtp.NewClient(ctxConn{Conn: raw, ctx: ctx})
	defer func() { _ = c.Close() }()

	fail := func(step string, err error) error {
		cause := context.Cause(ctx)
		if d, ok := ctx.Deadline(); ok && cause == nil && !time.Now().Before(d) {
			// The connection's deadline (clamped to ctx's) can fire a
			// moment before ctx's own timer marks it done.
			cause = context.DeadlineExceeded
		}
		if cause != nil {
			return fmt.Errorf("smtp example: %s: %w (%v)", step, cause, err)
		}
		return fmt.Errorf("smtp example: %s: %w", step, err)
	}
	helo := s.Helo
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fail("hello", err)
	}
	var mopts *smtp.MailOptions
	if !isASCII(env.From) || !allASCII(env.Rcpts) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return fail("mail", errors.New("non-ASCII address and the server lacks SMTPUTF8"))
		}
		mopts = &smtp.MailOptions{UTF8: true}
	}
	if err := c.Mail(env.From, mopts); err != nil {
		return fail("mail from", err)
	}
	rejected := make(map[string]*smtp.SMTPError)
	for _, rcpt := range env.Rcpts {
		err := c.Rcpt(rcpt, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
			continue
		case errors.As(err, &se):
			rejected[rcpt] = se
			if s.OnReject != nil {
				s.OnReject(ctx, rcpt, se)
			}
		default:
			return fail("rcpt to", err)
		}
	}
	if len(rejected) == len(env.Rcpts) {
		_ = c.Reset()
		_ = c.Quit()
		return &rcptError{Rejected: rejected}
	}
	w, err := c.Data()
	if err != nil {
		return fail("data", err)
	}
	if _, err := w.Write(env.Data); err != nil {
		return fail("data", err)
	}
	if err := w.Close(); err != nil {
		return fail("data", err)
	}
	// The message is accepted; a failed QUIT changes nothing about that.
	_ = c.Quit()
	return nil
}

// hardBounce reports whether err is a permanent refusal of the address
// itself (5.1.x: no such mailbox, bad domain, moved), the kind of answer
// after which the address should not be written to again.
func hardBounce(err *smtp.SMTPError) bool {
	return err.Code/100 == 5 && err.EnhancedCode[0] == 5 && err.EnhancedCode[1] == 1
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}

// ctxConn clamps every deadline set on the connection to ctx's deadline,
// and to the past once ctx is done. go-smtp sets a deadline before each
// command and clears it (the zero time) after, which would undo a deadline
// set once on the connection before smtp.NewClient.
type ctxConn struct {
	net.Conn
	ctx context.Context
}

var longAgo = time.Unix(1, 0)

func (c ctxConn) clamp(t time.Time) time.Time {
	if c.ctx.Err() != nil {
		return longAgo
	}
	if d, ok := c.ctx.Deadline(); ok && (t.IsZero() || d.Before(t)) {
		return d
	}
	return t
}

// SetDeadline sets the read and write deadlines, clamped to the context's.
func (c ctxConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }

// SetReadDeadline sets the read deadline, clamped to the context's.
func (c ctxConn) SetReadDeadline(t time.Time) error { return c.Conn.SetReadDeadline(c.clamp(t)) }

// SetWriteDeadline sets the write deadline, clamped to the context's.
func (c ctxConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }
