package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// received is one message the demo server accepted: its envelope as the
// client gave it and the message text.
type received struct {
	From  string
	Rcpts []string // accepted RCPT TO addresses, in order
	Data  []byte
}

// recorder keeps what the demo server was given. It is safe for
// concurrent use by multiple goroutines (one per SMTP connection).
type recorder struct {
	unknown map[string]bool // lowercase addresses answered "550 5.1.1"

	mu       sync.Mutex
	messages []received
	rcpts    []string // every RCPT TO address given, accepted or refused
}

// Messages returns the accepted messages in the order they arrived.
func (r *recorder) Messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.messages...)
}

// Rcpts returns every RCPT TO address the server was given, in order,
// including refused ones and ones of messages never completed.
func (r *recorder) Rcpts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.rcpts...)
}

// NewSession starts recording one SMTP connection.
func (r *recorder) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{rec: r}, nil }

var _ smtp.Backend = (*recorder)(nil)

// session is one connection's state. go-smtp calls it from that
// connection's goroutine only.
type session struct {
	rec   *recorder
	from  string
	rcpts []string
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.rcpts = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rec.mu.Lock()
	s.rec.rcpts = append(s.rec.rcpts, to)
	s.rec.mu.Unlock()
	if s.rec.unknown[strings.ToLower(to)] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.rec.mu.Lock()
	s.rec.messages = append(s.rec.messages, received{From: s.from, Rcpts: s.rcpts, Data: b})
	s.rec.mu.Unlock()
	s.from, s.rcpts = "", nil
	return nil
}

func (s *session) Reset()        { s.from, s.rcpts = "", nil }
func (s *session) Logout() error { return nil }

// demoServer is a go-smtp server on a loopback port that records what it
// is given (see recorder) and answers "550 5.1.1 no such mailbox" for the
// addresses in unknown.
type demoServer struct {
	*recorder
	srv   *smtp.Server
	ln    net.Listener
	done  chan struct{}
	err   error // Serve's result, set before done is closed
	close sync.Once
}

// startServer starts a demo server on 127.0.0.1 at a free port. Stop it
// with Close.
func startServer(unknown ...string) (*demoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp example: listen: %w", err)
	}
	rec := &recorder{unknown: make(map[string]bool)}
	for _, u := range unknown {
		rec.unknown[strings.ToLower(u)] = true
	}
	srv := smtp.NewServer(rec)
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0) // go-smtp logs to stderr by default
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxRecipients = 100
	srv.MaxMessageBytes = 1 << 20
	s := &demoServer{recorder: rec, srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.err = srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns the server's host:port.
func (s *demoServer) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waits for its connections for up to a few
// seconds, and waits for it to stop serving. It is idempotent.
func (s *demoServer) Close() error {
	var err error
	s.close.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = s.srv.Shutdown(ctx)
		<-s.done
		if s.err != nil && !errors.Is(s.err, smtp.ErrServerClosed) {
			err = errors.Join(err, s.err)
		}
	})
	return err
}
