package guard

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sendguard/sendguard/normalize"
)

// Scope says which part of a recipient a block covers: the contact itself
// or its email domain.
type Scope uint8

const (
	// ScopeNone: not blocked.
	ScopeNone Scope = iota
	// ScopeAddress: the contact itself (the address, number or domain
	// given) is blocked.
	ScopeAddress
	// ScopeDomain: the email's domain, or a parent of it, is blocked.
	ScopeDomain
)

// String returns "none", "address" or "domain".
func (m Scope) String() string {
	switch m {
	case ScopeAddress:
		return "address"
	case ScopeDomain:
		return "domain"
	}
	return "none"
}

// Verdict is the answer for one recipient.
type Verdict struct {
	Input   string            // the recipient as given
	Contact normalize.Contact // its canonical form; zero if the input was invalid
	Blocked bool              // true: do not send
	Scope   Scope             // which part of the recipient is blocked; ScopeNone when allowed
	// BlockedContact is the contact whose block applies: Contact itself
	// (Scope is ScopeAddress), or the domain or parent domain of an email
	// (ScopeDomain). Zero when allowed.
	BlockedContact normalize.Contact
	Reason         string    // the block's reason
	Source         string    // the block's source: "local", "import" or a remote's name
	CreatedAt      time.Time // when the block was made
	ExpiresAt      time.Time // when the block lapses; zero: never
}

var (
	// ErrBlocked is matched (errors.Is) by every error that reports blocked
	// recipients. errors.As with a *[BlockedError] lists them.
	ErrBlocked = errors.New("guard: recipient blocked")
	// ErrUnavailable is matched when the store could not confirm a filter
	// "maybe" and the guard failed closed (see [FailClosed]).
	ErrUnavailable = errors.New("guard: blocklist unavailable")
	// ErrClosed is returned by every method called after [Guard.Close].
	ErrClosed = errors.New("guard: closed")
	// ErrNoRecipients is returned by a wrapped sender when a message has no
	// recipients at all.
	ErrNoRecipients = errors.New("guard: message has no recipients")
)

// Suppressed is one recipient a wrapped sender did not send to.
type Suppressed struct {
	Index   int     // position in the message's recipient list (see [Addressing])
	Verdict Verdict // the check's answer; Blocked is false for an invalid recipient
	Err     error   // why the recipient was refused when it is not blocked: invalid (normalize.ErrInvalid) or unavailable (ErrUnavailable)
}

// BlockedError lists the recipients of one message that were suppressed.
// It matches [ErrBlocked] when at least one of them is blocked, and the
// errors in Suppressed (normalize.ErrInvalid, [ErrUnavailable]) through
// errors.Is as well.
type BlockedError struct {
	Suppressed []Suppressed
	// Sent is true when the message still went to the other recipients
	// (the [DropBlocked] policy). Such an error must not be retried: the
	// rest were delivered.
	Sent bool
}

// Error lists the suppressed recipients, redacted.
func (e *BlockedError) Error() string {
	var b strings.Builder
	if e.Sent {
		b.WriteString("guard: sent, but suppressed ")
	} else {
		b.WriteString("guard: not sent: ")
	}
	for i, s := range e.Suppressed {
		if i > 0 {
			b.WriteString(", ")
		}
		// The canonical contact when there is one: the input may carry a
		// display name and brackets ("Bob <bob@example.com>").
		who := normalize.Redact(cmp.Or(s.Verdict.Contact.Value, s.Verdict.Input))
		switch {
		case s.Verdict.Blocked && s.Err == nil:
			fmt.Fprintf(&b, "%s blocked (%s", who, s.Verdict.Scope)
			if s.Verdict.Reason != "" {
				fmt.Fprintf(&b, ": %s", s.Verdict.Reason)
			}
			if s.Verdict.Source != "" {
				fmt.Fprintf(&b, ", source %s", s.Verdict.Source)
			}
			b.WriteString(")")
		case errors.Is(s.Err, normalize.ErrInvalid):
			var ie *normalize.InvalidError
			if errors.As(s.Err, &ie) {
				fmt.Fprintf(&b, "%s invalid (%s)", who, ie.Reason)
			} else {
				fmt.Fprintf(&b, "%s invalid", who)
			}
		default:
			fmt.Fprintf(&b, "%s refused (blocklist unavailable)", who)
		}
	}
	return b.String()
}

// Is reports whether target is ErrBlocked (and a recipient is blocked), or
// matches one of the recipients' errors.
func (e *BlockedError) Is(target error) bool {
	for _, s := range e.Suppressed {
		if target == ErrBlocked && s.Verdict.Blocked && s.Err == nil {
			return true
		}
		if s.Err != nil && errors.Is(s.Err, target) {
			return true
		}
	}
	return false
}

// Blocked returns the suppressed recipients that are blocked (not invalid
// or unconfirmed).
func (e *BlockedError) Blocked() []Suppressed {
	var out []Suppressed
	for _, s := range e.Suppressed {
		if s.Verdict.Blocked && s.Err == nil {
			out = append(out, s)
		}
	}
	return out
}
