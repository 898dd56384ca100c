package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// normalize: KIND<TAB>CANONICAL or invalid<TAB>INPUT<TAB>REASON per input.
func (a *app) normalize(args []string) int {
	fs, c := a.flags("normalize")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return a.failf("normalize: no recipient given (see 'sendguard help normalize')")
	}
	n, err := a.normalizer(c)
	if err != nil {
		return a.failf("normalize: %s", err)
	}
	code = exitOK
	for _, raw := range pos {
		ct, err := n.Parse(raw)
		if err != nil {
			reason, ok := invalidReason(err)
			if !ok {
				return a.failf("normalize: %s: %s", field(raw), why(err))
			}
			fmt.Fprintf(a.stdout, "invalid\t%s\t%s\n", field(raw), reason)
			code = exitErr
			continue
		}
		fmt.Fprintf(a.stdout, "%s\t%s\n", ct.Kind, ct.Value)
	}
	return code
}

// checkJSON is one line of check --json.
type checkJSON struct {
	Input     string  `json:"input"`
	Kind      string  `json:"kind"`      // email, phone, domain; "" when invalid
	Canonical string  `json:"canonical"` // "" when invalid
	Blocked   bool    `json:"blocked"`
	Reason    string  `json:"reason"`
	Source    string  `json:"source"`
	CreatedAt *string `json:"created_at"` // RFC 3339; null unless blocked
	Error     string  `json:"error"`      // why the input is invalid; "" otherwise
	Matched   string  `json:"matched"`    // the blocked contact that matched; "" unless blocked
	Match     string  `json:"match"`      // address, domain, or none
	ExpiresAt *string `json:"expires_at"` // RFC 3339; null unless blocked with an expiry
}

// newCheckJSON is the check --json record (and serve's /v1/check result)
// of one input: v is its verdict, or reason why it is invalid.
func newCheckJSON(raw string, v guard.Verdict, reason string, isInvalid bool) checkJSON {
	j := checkJSON{Input: raw, Blocked: v.Blocked, Error: reason, Match: v.Scope.String()}
	if !isInvalid {
		j.Kind, j.Canonical = v.Contact.Kind.String(), v.Contact.Value
	}
	if v.Blocked {
		j.Reason, j.Source, j.Matched = v.Reason, v.Source, v.BlockedContact.Value
		t := rfc3339(v.CreatedAt)
		j.CreatedAt = &t
		if !v.ExpiresAt.IsZero() {
			e := rfc3339(v.ExpiresAt)
			j.ExpiresAt = &e
		}
	}
	return j
}

// check: allowed<TAB>CANONICAL,
// blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE<TAB>MATCHED or
// invalid<TAB>INPUT<TAB>REASON per input; or JSON lines. Recipients come
// from the arguments, from stdin for "-", and from --file, one per line.
func (a *app) check(args []string) int {
	fs, c := a.flags("check")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	file := fs.String("file", "", "read recipients from this file, one per line")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 && *file == "" {
		return a.failf("check: no recipient given (see 'sendguard help check')")
	}
	var fileIn io.Reader
	if *file != "" {
		in, _, closeIn, err := a.openInput(*file)
		if err != nil {
			return a.failf("check: --file %s", err)
		}
		defer closeIn()
		fileIn = in
	}
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	enc := json.NewEncoder(a.stdout)
	enc.SetEscapeHTML(false)
	var blocked, invalid bool
	one := func(raw string) error {
		v, err := g.Check(a.ctx, raw)
		reason, isInvalid := "", false
		if err != nil {
			if reason, isInvalid = invalidReason(err); !isInvalid {
				return fmt.Errorf("%s: %s", field(raw), why(err))
			}
		}
		invalid = invalid || isInvalid
		blocked = blocked || v.Blocked
		if *asJSON {
			if err := enc.Encode(newCheckJSON(raw, v, reason, isInvalid)); err != nil {
				return fmt.Errorf("write output: %s", why(err))
			}
			return nil
		}
		switch {
		case isInvalid:
			fmt.Fprintf(a.stdout, "invalid\t%s\t%s\n", field(raw), reason)
		case v.Blocked:
			fmt.Fprintf(a.stdout, "blocked\t%s\t%s\t%s\t%s\n", v.Contact.Value, field(v.Reason), field(v.Source), v.BlockedContact.Value)
		default:
			fmt.Fprintf(a.stdout, "allowed\t%s\n", v.Contact.Value)
		}
		return nil
	}
	for _, raw := range pos {
		if raw == "-" {
			err = eachLine(a.stdin, one, a.flushOut)
		} else {
			err = one(raw)
		}
		if err != nil {
			return a.closeGuard(g, c, a.failf("check: %s", err))
		}
	}
	if fileIn != nil {
		if err := eachLine(fileIn, one, a.flushOut); err != nil {
			return a.closeGuard(g, c, a.failf("check: %s: %s", *file, err))
		}
	}
	code = exitOK
	switch {
	case invalid:
		code = exitErr
	case blocked:
		code = exitFound
	}
	return a.closeGuard(g, c, code)
}

// maxRecipientLine is how much of one line of recipients is kept; a
// longer line is cut there (and is then no recipient).
const maxRecipientLine = 4 << 10

// eachLine calls fn with each line of r that is not blank, without its
// line break, streaming. Before each read that may wait for input it calls
// idle (if not nil), so that what was answered so far goes out: a caller
// feeding one line at a time through a pipe gets each answer at once. It
// stops at fn's first error or a read error.
func eachLine(r io.Reader, fn func(string) error, idle func()) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		if idle != nil && br.Buffered() == 0 {
			idle()
		}
		frag, err := br.ReadSlice('\n')
		if len(buf) < maxRecipientLine {
			buf = append(buf, frag[:min(len(frag), maxRecipientLine-len(buf))]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil && err != io.EOF {
			return errors.New(why(err))
		}
		line := strings.TrimRight(string(buf), "\r\n")
		buf = buf[:0]
		if strings.TrimSpace(line) != "" {
			if ferr := fn(line); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}

// rfc3339 formats t in UTC, or "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// validate parses every input with n and returns an error line naming the
// first invalid one, so that a command changes nothing on bad input.
func validate(n *normalize.Normalizer, cmd string, inputs []string) error {
	for _, raw := range inputs {
		if _, err := n.Parse(raw); err != nil {
			if reason, ok := invalidReason(err); ok {
				return fmt.Errorf("%s: %s: invalid: %s", cmd, field(raw), reason)
			}
			return fmt.Errorf("%s: %s: %s", cmd, field(raw), why(err))
		}
	}
	return nil
}

// block: blocked<TAB>CANONICAL<TAB>REASON<TAB>SOURCE per input, the block
// now in force.
func (a *app) block(args []string) int {
	fs, c := a.flags("block")
	reason := fs.String("reason", "", "why the recipients are blocked")
	source := fs.String("source", "local", "where the block comes from")
	expires := fs.String("expires", "", "the block lapses after this long (Go duration, or days: 30d)")
	force := fs.Bool("force", false, "block a mailbox provider's domain (gmail.com, …) all the same")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return a.failf("block: no recipient given (see 'sendguard help block')")
	}
	opts := []guard.BlockOption{guard.WithSource(*source)}
	if *expires != "" {
		d, err := parseExpiry(*expires)
		if err != nil {
			return a.failf("block: --expires %q: %s", *expires, err)
		}
		opts = append(opts, guard.WithExpiry(d))
	}
	if strings.TrimSpace(*source) == "" {
		return a.failf("block: --source: must not be empty")
	}
	n, err := a.normalizer(c)
	if err != nil {
		return a.failf("block: %s", err)
	}
	if err := validate(n, "block", pos); err != nil {
		return a.failf("%s", err)
	}
	if *force {
		opts = append(opts, guard.AllowProviderDomain())
	} else {
		for _, raw := range pos {
			if ct, _ := n.Parse(raw); ct.Kind == normalize.Domain && guard.IsProviderDomain(ct.Value) {
				return a.failf("block: %s: a mailbox provider's domain: blocking it blocks every address there; block the addresses, or add --force if that is meant", field(raw))
			}
		}
	}
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	for _, raw := range pos {
		v, err := g.Block(a.ctx, raw, *reason, opts...)
		if err != nil {
			return a.closeGuard(g, c, a.failf("block: %s: %s", field(raw), why(err)))
		}
		fmt.Fprintf(a.stdout, "blocked\t%s\t%s\t%s\n", v.Contact.Value, field(v.Reason), field(v.Source))
	}
	return a.closeGuard(g, c, exitOK)
}

// unblock: unblocked<TAB>CANONICAL, or not-blocked<TAB>CANONICAL when there
// was no block on the contact itself.
func (a *app) unblock(args []string) int {
	fs, c := a.flags("unblock")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) == 0 {
		return a.failf("unblock: no recipient given (see 'sendguard help unblock')")
	}
	n, err := a.normalizer(c)
	if err != nil {
		return a.failf("unblock: %s", err)
	}
	if err := validate(n, "unblock", pos); err != nil {
		return a.failf("%s", err)
	}
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	for _, raw := range pos {
		existed, err := g.Unblock(a.ctx, raw)
		if err != nil {
			return a.closeGuard(g, c, a.failf("unblock: %s: %s", field(raw), why(err)))
		}
		v, err := g.Check(a.ctx, raw)
		if err != nil {
			return a.closeGuard(g, c, a.failf("unblock: %s: %s", field(raw), why(err)))
		}
		word := "unblocked"
		if !existed {
			word = "not-blocked"
		}
		fmt.Fprintf(a.stdout, "%s\t%s\n", word, v.Contact.Value)
		if v.Blocked {
			fmt.Fprintf(a.stderr, "sendguard: unblock: %s: still blocked through %s %s\n",
				v.Contact.Value, v.BlockedContact.Kind, v.BlockedContact.Value)
		}
	}
	return a.closeGuard(g, c, exitOK)
}

// parseExpiry reads a Go duration ("720h", "90m") or days ("30d", "1.5d",
// "1d12h"). It must be positive.
func parseExpiry(s string) (time.Duration, error) {
	d, err := parseDays(s)
	if err != nil {
		return 0, fmt.Errorf("%w (use e.g. 30d, 12h, 90m)", err)
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

// parseDays reads a Go duration ("720h", "0s") or days ("30d", "1.5d",
// "1d12h").
func parseDays(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || days < 0 || days > 100*365 {
			return 0, fmt.Errorf("not a duration")
		}
		d = time.Duration(days * float64(24*time.Hour))
		rest = s[i+1:]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || (r < 0 && d > 0) {
			return 0, fmt.Errorf("not a duration")
		}
		d += r
	}
	return d, nil
}

// flushOut writes out what stdout holds; a failure shows again at the
// final flush.
func (a *app) flushOut() { _ = a.stdout.Flush() }
