package normalize

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/sendguard/sendguard/internal/redact"
)

// Kind says what a contact is: an email address, a phone number or a domain.
// The zero Kind is not a valid kind. A Kind is a plain value, safe to share
// between goroutines.
type Kind uint8

// The kinds of contact. Their order and values are part of no format: keys
// carry a text prefix (see [Contact.Key]), not the number.
const (
	Email  Kind = iota + 1 // an email address, e.g. "ann@example.com"
	Phone                  // a phone number in E.164, e.g. "+442071838750"
	Domain                 // an email domain, e.g. "example.com"; covers its subdomains
)

// Key prefixes, one per kind, so that kinds never collide in the filter or
// the store. They are part of the key format (see [KeyVersion]).
const (
	EmailPrefix  = "e:"
	PhonePrefix  = "p:"
	DomainPrefix = "d:"
)

// KeyVersion is the version of the key format produced by [Contact.Key]. A
// store persists it at creation and refuses to open with another.
const KeyVersion = 1

// String returns "email", "phone" or "domain", or "invalid" for any other value.
func (k Kind) String() string {
	switch k {
	case Email:
		return "email"
	case Phone:
		return "phone"
	case Domain:
		return "domain"
	}
	return "invalid"
}

// ParseKind is the inverse of [Kind.String]. It returns an error wrapping
// [ErrInvalid] for any other text.
func ParseKind(s string) (Kind, error) {
	switch s {
	case "email":
		return Email, nil
	case "phone":
		return Phone, nil
	case "domain":
		return Domain, nil
	}
	return 0, &InvalidError{Input: s, Reason: "unknown contact kind"}
}

func (k Kind) prefix() string {
	switch k {
	case Email:
		return EmailPrefix
	case Phone:
		return PhonePrefix
	case Domain:
		return DomainPrefix
	}
	return ""
}

// Contact is a recipient in canonical form. Two inputs that reach the same
// person (or domain) give equal Contacts. The zero Contact is "no contact".
// A Contact is an immutable value, safe to share between goroutines; make
// one with a [Normalizer], or with [FromKey] from a stored key.
type Contact struct {
	Kind  Kind
	Value string // canonical text: a lowercase address, E.164, or an ASCII domain
}

// Key returns the bytes the filter and the store use for c: a kind prefix
// ("e:", "p:", "d:") and the canonical value. It allocates; hot paths use
// [Contact.AppendKey] with a reused buffer.
func (c Contact) Key() []byte {
	return c.AppendKey(make([]byte, 0, len(c.Kind.prefix())+len(c.Value)))
}

// AppendKey appends c's key (see [Contact.Key]) to dst and returns the
// extended slice.
func (c Contact) AppendKey(dst []byte) []byte {
	dst = append(dst, c.Kind.prefix()...)
	return append(dst, c.Value...)
}

// String returns the canonical value.
func (c Contact) String() string { return c.Value }

// IsZero reports whether c is the zero Contact.
func (c Contact) IsZero() bool { return c.Kind == 0 && c.Value == "" }

// EmailDomain returns the domain of an email contact (the part after the
// last '@'), the value of a domain contact, and "" for a phone.
func (c Contact) EmailDomain() string {
	switch c.Kind {
	case Email:
		if i := strings.LastIndexByte(c.Value, '@'); i >= 0 {
			return c.Value[i+1:]
		}
	case Domain:
		return c.Value
	}
	return ""
}

// ErrKey is returned by [FromKey] for bytes that are not a contact key.
var ErrKey = errors.New("normalize: not a contact key")

// FromKey is the inverse of [Contact.Key]. It checks the prefix only; the
// value is trusted to be canonical, as it was when the key was made.
func FromKey(key []byte) (Contact, error) {
	if len(key) < 3 || key[1] != ':' {
		return Contact{}, ErrKey
	}
	var k Kind
	switch key[0] {
	case 'e':
		k = Email
	case 'p':
		k = Phone
	case 'd':
		k = Domain
	default:
		return Contact{}, ErrKey
	}
	return Contact{Kind: k, Value: string(key[2:])}, nil
}

// LogValue implements [slog.LogValuer]: a contact is personal data, so logs
// see it redacted ("a***@example.com", "***0123", domains as they are).
func (c Contact) LogValue() slog.Value {
	return slog.StringValue(Redact(c.Value))
}

// Redact returns s with most of its personal part hidden, for log lines:
// an email keeps the first character of its local part and its domain
// ("a***@example.com"); anything that looks like a phone number keeps its
// last four digits ("***0123"); anything else keeps its first character.
// Text with no '@' and a dot but no digits (a domain) is returned as is.
func Redact(s string) string { return redact.String(s) }

// Redacted wraps a raw recipient string so that it logs redacted through
// slog (see [Redact]). It is a plain string value, safe to share between
// goroutines.
type Redacted string

// LogValue implements [slog.LogValuer].
func (r Redacted) LogValue() slog.Value { return slog.StringValue(redact.String(string(r))) }
