package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// Message is one email. Addresses may carry display names
// ("Carol <carol@example.org>"). The zero Message has no recipients.
type Message struct {
	From    string
	To      []string
	Cc      []string
	Bcc     []string
	Subject string
	Body    string // plain text, UTF-8, any line ends
	// Header holds extra header fields (List-Unsubscribe, say), written
	// in name order after the standard ones. Values must be one line of
	// ASCII. The map is not changed.
	Header map[string]string
}

// addressing tells the guard who a Message goes to — To, then Cc, then Bcc
// — and how to make a copy without some of them.
var addressing = guard.AddressingFuncs[Message]{
	RecipientsFunc: recipients,
	WithoutFunc:    without,
}

// recipients returns To, Cc and Bcc in that order.
func recipients(m Message) []string {
	out := make([]string, 0, len(m.To)+len(m.Cc)+len(m.Bcc))
	out = append(out, m.To...)
	out = append(out, m.Cc...)
	return append(out, m.Bcc...)
}

// role names the header a recipient index of recipients(m) came from.
func role(m Message, i int) string {
	switch {
	case i < len(m.To):
		return "To"
	case i < len(m.To)+len(m.Cc):
		return "Cc"
	}
	return "Bcc"
}

// without returns a copy of m without the recipients at the positions drop
// (ascending) of recipients(m). m's slices are not changed.
func without(m Message, drop []int) Message {
	dropped := make(map[int]bool, len(drop))
	for _, i := range drop {
		dropped[i] = true
	}
	keep := func(list []string, base int) []string {
		var out []string
		for i, r := range list {
			if !dropped[base+i] {
				out = append(out, r)
			}
		}
		return out
	}
	c := m
	c.To = keep(m.To, 0)
	c.Cc = keep(m.Cc, len(m.To))
	c.Bcc = keep(m.Bcc, len(m.To)+len(m.Cc))
	return c
}

// envelope is what goes to the SMTP server: the reverse path, the forward
// paths (To, Cc and Bcc as bare addresses, duplicates removed) and the
// rendered message.
type envelope struct {
	From  string
	Rcpts []string
	Data  []byte
}

// errHeader is returned for a header value with a line break: it would let
// the text write headers of its own.
var errHeader = errors.New("smtp example: line break in a header value")

// prepare parses m's addresses and renders it (see render).
func prepare(m Message, now time.Time) (envelope, error) {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return envelope{}, fmt.Errorf("smtp example: from %q: %w", m.From, err)
	}
	parse := func(list []string) ([]*mail.Address, error) {
		out := make([]*mail.Address, 0, len(list))
		for _, s := range list {
			a, err := mail.ParseAddress(s)
			if err != nil {
				return nil, fmt.Errorf("smtp example: recipient %q: %w", s, err)
			}
			out = append(out, a)
		}
		return out, nil
	}
	to, err := parse(m.To)
	if err != nil {
		return envelope{}, err
	}
	cc, err := parse(m.Cc)
	if err != nil {
		return envelope{}, err
	}
	bcc, err := parse(m.Bcc)
	if err != nil {
		return envelope{}, err
	}
	env := envelope{From: from.Address}
	seen := make(map[string]bool)
	for _, list := range [][]*mail.Address{to, cc, bcc} {
		for _, a := range list {
			if k := strings.ToLower(a.Address); !seen[k] {
				seen[k] = true
				env.Rcpts = append(env.Rcpts, a.Address)
			}
		}
	}
	if len(env.Rcpts) == 0 {
		return envelope{}, guard.ErrNoRecipients
	}
	env.Data, err = render(m.Subject, m.Body, from, to, cc, m.Header, now)
	return env, err
}

// render writes an RFC 5322 message with CRLF line ends. The To and Cc
// headers list exactly to and cc; Bcc recipients never appear in a header
// (with only Bcc recipients, To is the empty group
// "undisclosed-recipients:;"). Display names and a non-ASCII subject are
// encoded as RFC 2047 words; the body is UTF-8 text in quoted-printable.
// extra header fields follow the standard ones, in name order.
func render(subject, body string, from *mail.Address, to, cc []*mail.Address, extra map[string]string, now time.Time) ([]byte, error) {
	if strings.ContainsAny(subject, "\r\n") {
		return nil, errHeader
	}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, ": \t\r\n") || strings.ContainsAny(v, "\r\n") || !isASCII(k+v) {
			return nil, errHeader
		}
	}
	var b bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	header("Date", now.Format(time.RFC1123Z))
	header("From", from.String())
	if len(to) == 0 && len(cc) == 0 {
		header("To", "undisclosed-recipients:;")
	}
	addressHeader(&b, "To", to)
	addressHeader(&b, "Cc", cc)
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		header(k, extra[k])
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	// Normalize line ends to LF; the quoted-printable writer writes CRLF.
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\r", "\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// addressHeader writes name: list, folded so that no line passes 78
// characters where it can be helped. It writes nothing for an empty list.
func addressHeader(b *bytes.Buffer, name string, list []*mail.Address) {
	if len(list) == 0 {
		return
	}
	line := len(name) + 1
	b.WriteString(name + ":")
	for i, a := range list {
		s := a.String()
		if i > 0 {
			b.WriteString(",")
			line++
			if line+1+len(s) > 78 {
				b.WriteString("\r\n")
				line = 0
			}
		}
		b.WriteString(" " + s)
		line += 1 + len(s)
	}
	b.WriteString("\r\n")
}

// messageID returns a new, globally unique Message-ID in the sender's
// domain.
func messageID(from string) string {
	domain := "localhost"
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		domain = from[i+1:]
	}
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}
