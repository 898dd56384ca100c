package optout

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// FeedbackType is what a report says about its recipients.
type FeedbackType uint8

// The kinds of feedback [ParseFeedback] tells apart.
const (
	// Other is a report that needs no action: a delivery-status report of
	// success (delivered, relayed, expanded), or an ARF report that is not
	// a complaint (not-spam, auth-failure).
	Other FeedbackType = iota
	// SoftBounce is a temporary failure: Action delayed, or a 4.x.x status.
	SoftBounce
	// HardBounce is a permanent failure: Action failed with a 5.x.x status.
	HardBounce
	// Complaint is an abuse report (ARF feedback report: abuse, fraud,
	// virus, other).
	Complaint
)

// String returns "other", "soft-bounce", "hard-bounce" or "complaint".
func (t FeedbackType) String() string {
	switch t {
	case SoftBounce:
		return "soft-bounce"
	case HardBounce:
		return "hard-bounce"
	case Complaint:
		return "complaint"
	}
	return "other"
}

// MaxFeedbackSize is how much of a report ParseFeedback reads: 4 MiB. A
// report whose status part lies beyond it is refused with an error wrapping
// [ErrTooLarge]; the returned message after the status part may be cut.
const MaxFeedbackSize = 4 << 20

// maxStatusPart bounds one delivery-status or feedback-report part.
const maxStatusPart = 256 << 10

// maxNesting bounds how deep ParseFeedback looks for a report inside
// attached messages (a forwarded report).
const maxNesting = 3

var (
	// ErrNotReport is matched (errors.Is) by the error ParseFeedback returns
	// for a message that is not a delivery-status notification or an abuse
	// feedback report (an ordinary message, a read receipt).
	ErrNotReport = errors.New("optout: not a delivery-status or feedback report")
	// ErrTooLarge is matched when a report is over [MaxFeedbackSize].
	ErrTooLarge = errors.New("optout: report too large")
)

// Feedback is what ParseFeedback read from one report.
type Feedback struct {
	// Type is the report's verdict: for a delivery-status notification
	// the worst of its recipients' (HardBounce over SoftBounce over Other).
	Type FeedbackType
	// Recipients are the addresses Type is about: for a DSN those
	// recipients whose own type is Type (Final-Recipient, else
	// Original-Recipient); for a complaint the Original-Rcpt-To fields or,
	// in redacted feeds without them, the To of the returned message.
	Recipients []string
	// Statuses lists every recipient of a DSN with its own verdict; nil for
	// a complaint.
	Statuses []RecipientStatus
	// FeedbackType is an ARF report's Feedback-Type, lower case ("abuse").
	FeedbackType string
	// Reporter is the DSN's Reporting-MTA or the ARF report's Reporting-MTA
	// (or User-Agent), without its type prefix.
	Reporter string
	// Date is the report's own Date: when the bounce or complaint was
	// reported. Zero if unreadable.
	Date time.Time
	// ArrivalDate is when the report says the original message arrived
	// (Arrival-Date, Received-Date); zero if none is readable.
	ArrivalDate time.Time
	// MessageID is the returned message's Message-ID, if any.
	MessageID string
}

// RecipientStatus is one recipient's block of a delivery-status
// notification (RFC 3464 section 2.3).
type RecipientStatus struct {
	Recipient  string       // Final-Recipient (else Original-Recipient), address only
	Action     string       // failed, delayed, delivered, relayed, expanded (lower case)
	Status     string       // e.g. "5.1.1"
	Diagnostic string       // Diagnostic-Code, as given
	Type       FeedbackType // HardBounce, SoftBounce or Other
}

// ParseFeedback reads one bounce or complaint report: a multipart/report
// delivery-status notification (RFC 3464; also message/global-delivery-
// status, RFC 6533) or an abuse feedback report (ARF, RFC 5965), as MTAs
// and mailbox providers send them — Postfix, Exchange, Gmail; nested
// multiparts, a report forwarded as an attached message, folded header
// fields, CRLF or LF line ends, base64 or quoted-printable parts. The MIME
// structure is read with github.com/emersion/go-message.
//
// A DSN recipient whose Action is failed with a 5.x.x status (or no
// status) is a HardBounce; delayed, or failed with a 4.x.x status, is a
// SoftBounce; anything else is Other. A feedback report of type abuse,
// fraud, virus or other (or none) is a Complaint; not-spam and
// auth-failure are Other.
//
// ParseFeedback reads at most [MaxFeedbackSize] bytes of r. It returns an
// error wrapping [ErrNotReport] for a message that is not such a report,
// or that it cannot read as MIME at all, and [ErrTooLarge] when the report
// part lies beyond the limit. It never panics.
func ParseFeedback(r io.Reader) (fb *Feedback, err error) {
	defer func() {
		if p := recover(); p != nil {
			fb, err = nil, fmt.Errorf("optout: feedback: unreadable report (%v)", p)
		}
	}()
	lr := &limitReader{r: r, n: MaxFeedbackSize}
	p := &parser{}
	err = p.parse(lr, 0)
	if p.status == nil && p.arf == nil {
		switch {
		case lr.over:
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxFeedbackSize)
		case err != nil && !errors.Is(err, ErrNotReport):
			return nil, fmt.Errorf("%w (%v)", ErrNotReport, err)
		}
		return nil, ErrNotReport
	}
	// Once the report part is read, a fault further on (the returned
	// message cut at the limit, a broken closing boundary) loses nothing.
	return p.result()
}

// parser collects the report parts of one message.
type parser struct {
	status   []textproto.Header // per-message block, then per-recipient blocks
	arf      *textproto.Header
	returned *textproto.Header // the first returned message's header
	top      *textproto.Header // this message's own header
	date     time.Time         // the report's Date
}

func (p *parser) parse(r io.Reader, depth int) error {
	e, err := message.Read(r)
	if e == nil {
		return err
	}
	p.top = &e.Header.Header
	if t, err := mail.ParseDate(e.Header.Get("Date")); err == nil {
		p.date = t
	}
	return e.Walk(func(_ []int, part *message.Entity, err error) error {
		if part == nil {
			return err
		}
		// An unknown charset or transfer encoding of one part is no
		// reason to stop: the part is read as it is.
		mt, _, _ := part.Header.ContentType()
		switch mt {
		case "message/delivery-status", "message/global-delivery-status":
			if p.status == nil {
				blocks, err := readBlocks(part.Body)
				if err != nil {
					return err
				}
				p.status = blocks
			}
		case "message/feedback-report":
			if p.arf == nil {
				blocks, err := readBlocks(part.Body)
				if err != nil {
					return err
				}
				if len(blocks) > 0 {
					p.arf = &blocks[0]
				} else {
					p.arf = &textproto.Header{}
				}
			}
		case "message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers":
			if p.status == nil && p.arf == nil && depth < maxNesting && strings.HasPrefix(mt, "message/") {
				// No report yet: this may be a forwarded one.
				sub := &parser{}
				err := sub.parse(part.Body, depth+1)
				if sub.status != nil || sub.arf != nil {
					// The report's own Date, not the forward's.
					p.status, p.arf, p.returned = sub.status, sub.arf, sub.returned
					if !sub.date.IsZero() {
						p.date = sub.date
					}
					return err
				}
				if p.returned == nil && sub.top != nil {
					p.returned = sub.top
				}
				return nil
			}
			if p.returned == nil {
				h, _ := textproto.ReadHeader(bufio.NewReader(io.LimitReader(part.Body, maxStatusPart)))
				p.returned = &h
			}
		}
		return nil
	})
}

// readBlocks reads a status part: header blocks separated by blank lines
// (RFC 3464 section 2.1), each read with go-message's header reader.
func readBlocks(body io.Reader) ([]textproto.Header, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxStatusPart))
	if err != nil {
		return nil, err
	}
	// Some MTAs start the part with blank lines, or end it without one.
	b = bytes.TrimLeft(b, "\r\n")
	br := bufio.NewReader(io.MultiReader(bytes.NewReader(b), strings.NewReader("\r\n\r\n")))
	var blocks []textproto.Header
	for len(blocks) < 1000 {
		// Blank lines between blocks: skip them.
		for {
			c, err := br.Peek(1)
			if err != nil || (c[0] != '\r' && c[0] != '\n') {
				break
			}
			_, _ = br.ReadByte()
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
		h, err := textproto.ReadHeader(br)
		if h.Len() > 0 {
			blocks = append(blocks, h)
		}
		if err != nil {
			if len(blocks) == 0 {
				return nil, fmt.Errorf("status part: %w", err)
			}
			break // keep what was read
		}
	}
	return blocks, nil
}

func (p *parser) result() (*Feedback, error) {
	fb := &Feedback{Date: p.date}
	if p.returned != nil {
		fb.MessageID = strings.Trim(strings.TrimSpace(p.returned.Get("Message-Id")), "<>")
	}
	if p.status != nil {
		perMsg := p.status[0]
		fb.Reporter = afterType(perMsg.Get("Reporting-Mta"))
		if t, err := mail.ParseDate(perMsg.Get("Arrival-Date")); err == nil {
			fb.ArrivalDate = t
		}
		for i := range p.status {
			h := &p.status[i]
			rcpt := address(h.Get("Final-Recipient"))
			if rcpt == "" {
				rcpt = address(h.Get("Original-Recipient"))
			}
			if rcpt == "" {
				continue // the per-message block, or a block without a recipient
			}
			st := RecipientStatus{
				Recipient:  rcpt,
				Action:     strings.ToLower(strings.TrimSpace(firstWord(h.Get("Action")))),
				Status:     firstWord(h.Get("Status")),
				Diagnostic: h.Get("Diagnostic-Code"),
			}
			st.Type = dsnType(st.Action, st.Status)
			fb.Statuses = append(fb.Statuses, st)
			fb.Type = max(fb.Type, st.Type)
		}
		if len(fb.Statuses) == 0 {
			return nil, fmt.Errorf("%w: a delivery-status part without recipients", ErrNotReport)
		}
		for _, st := range fb.Statuses {
			if st.Type == fb.Type {
				fb.Recipients = append(fb.Recipients, st.Recipient)
			}
		}
		return fb, nil
	}
	h := p.arf
	fb.FeedbackType = strings.ToLower(strings.TrimSpace(h.Get("Feedback-Type")))
	switch fb.FeedbackType {
	case "not-spam", "auth-failure":
		fb.Type = Other
	default:
		fb.Type = Complaint
	}
	fb.Reporter = afterType(h.Get("Reporting-Mta"))
	if fb.Reporter == "" {
		fb.Reporter = strings.TrimSpace(h.Get("User-Agent"))
	}
	for _, k := range []string{"Arrival-Date", "Received-Date"} {
		if t, err := mail.ParseDate(h.Get(k)); err == nil {
			fb.ArrivalDate = t
			break
		}
	}
	for _, v := range h.Values("Original-Rcpt-To") {
		if a := address(v); a != "" {
			fb.Recipients = append(fb.Recipients, a)
		}
	}
	if len(fb.Recipients) == 0 && p.returned != nil {
		for _, v := range p.returned.Values("To") {
			if list, err := mail.ParseAddressList(v); err == nil {
				for _, a := range list {
					fb.Recipients = append(fb.Recipients, a.Address)
				}
			} else if a := address(v); a != "" {
				fb.Recipients = append(fb.Recipients, a)
			}
		}
	}
	return fb, nil
}

// dsnType reads one recipient's Action and Status.
func dsnType(action, status string) FeedbackType {
	switch action {
	case "failed":
		if strings.HasPrefix(status, "4.") {
			return SoftBounce
		}
		return HardBounce
	case "delayed":
		return SoftBounce
	}
	return Other
}

// afterType returns "x" from "type; x" (Reporting-MTA: dns; mx.example.com).
func afterType(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		v = rest
	}
	return strings.TrimSpace(v)
}

// address reads an address field: "rfc822; ann@example.com",
// "<ann@example.com>", "ann@example.com (comment)", and a whole address
// in double quotes ("rfc822; \"ann@example.com\"", as some MTAs write it):
// the quotes go, or the recipient would not read as an address and its
// bounce would block nobody.
func address(v string) string {
	v = afterType(v)
	v = firstWord(v)
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if len(v) > 2 && v[0] == '"' && v[len(v)-1] == '"' && strings.Count(v, `"`) == 2 {
		v = v[1 : len(v)-1]
	}
	if !strings.Contains(v, "@") {
		return ""
	}
	return v
}

// firstWord returns v up to its first white space or comment.
func firstWord(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t\r\n("); i >= 0 {
		v = v[:i]
	}
	return v
}

// limitReader reads at most n bytes, then fails with ErrTooLarge and
// notes it.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, ErrTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
