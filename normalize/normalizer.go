package normalize

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nyaruka/phonenumbers"
)

// MaxInputLen is the longest raw input, in bytes, that a [Normalizer]
// reads. Longer input is rejected with an [InvalidError] before any parsing,
// so that a hostile caller cannot make normalization slow. A phone number is
// further limited to 250 bytes, libphonenumber's own cap.
const MaxInputLen = 1024

// DefaultMemoSize is the number of phone inputs a [Normalizer] remembers
// unless [WithMemoSize] says otherwise.
const DefaultMemoSize = 8192

// DefaultRegion is the region used for national phone numbers unless
// [WithRegion] says otherwise.
const DefaultRegion = "US"

// Option configures a [Normalizer]; pass options to [New]. Options are
// applied in order, so a later one overrides an earlier one; a nil Option
// is ignored. An Option is a function value with no state of its own.
type Option func(*options)

type options struct {
	region   string
	folding  bool
	memoSize int
}

func defaultOptions() options {
	return options{region: DefaultRegion, memoSize: DefaultMemoSize}
}

// WithRegion sets the default region, an ISO 3166-1 alpha-2 code such as
// "GB" (case does not matter), used to read phone numbers written without a
// country calling code. It decides only how national numbers are read:
// keys are E.164 and do not depend on it. [New] returns an error for a
// region libphonenumber does not know. The default value is "US".
func WithRegion(cc string) Option {
	return func(o *options) { o.region = strings.ToUpper(strings.TrimSpace(cc)) }
}

// WithProviderFolding turns provider folding on or off: addresses at a few
// large mailbox providers are reduced to the mailbox they deliver to
// (dots and "+tag" at Gmail, "+tag" at Outlook.com, iCloud, Fastmail and
// Proton; see the package documentation for the exact table). Folding
// changes keys, so a store must be used with one setting only. The default
// value is false.
func WithProviderFolding(on bool) Option {
	return func(o *options) { o.folding = on }
}

// WithMemoSize sets how many phone inputs that are not already in strict
// E.164 form the Normalizer remembers, in a least-recently-used cache, so
// that a repeated national-format number skips libphonenumber. 0 disables
// the memo; a negative size makes [New] return an error. The default value
// is [DefaultMemoSize] (8192 entries).
func WithMemoSize(n int) Option {
	return func(o *options) { o.memoSize = n }
}

// Normalizer turns raw recipient text into canonical [Contact] values. It is
// configured once by [New] and is then immutable apart from its internal
// memo. A Normalizer is safe for concurrent use by multiple goroutines. The
// zero Normalizer is not usable: call [New].
type Normalizer struct {
	region  string
	folding bool
	memo    *lru.Cache[string, phoneMemo] // nil when disabled
	phones  *phoneTable                   // shared, read-only
}

// New returns a Normalizer configured by opts. It returns an error for an
// unknown region or a negative memo size.
func New(opts ...Option) (*Normalizer, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if !phonenumbers.GetSupportedRegions()[o.region] {
		return nil, fmt.Errorf("normalize: unknown region %q", o.region)
	}
	if o.memoSize < 0 {
		return nil, fmt.Errorf("normalize: negative memo size %d", o.memoSize)
	}
	n := &Normalizer{
		region:  o.region,
		folding: o.folding,
		phones:  sharedPhoneTable(),
	}
	if o.memoSize > 0 {
		memo, err := lru.New[string, phoneMemo](o.memoSize)
		if err != nil {
			return nil, fmt.Errorf("normalize: memo: %w", err)
		}
		n.memo = memo
	}
	return n, nil
}

// Region returns the default region for national phone numbers, e.g. "US".
func (n *Normalizer) Region() string { return n.region }

// ProviderFolding reports whether provider folding is on. It changes keys:
// a store persists it and refuses to be used with the other setting.
func (n *Normalizer) ProviderFolding() bool { return n.folding }

// Detail is the result of [Normalizer.ParseDetail]: the contact and what
// normalization noticed on the way. It is a plain value, safe to share
// between goroutines.
type Detail struct {
	// Contact is the canonical contact, as [Normalizer.Parse] returns it.
	Contact Contact
	// Unverified is true for a phone number that libphonenumber finds
	// possible (its length fits the numbering plan) but not valid (no known
	// range holds it). Such numbers are accepted, because metadata lags new
	// ranges; callers may treat them with suspicion.
	Unverified bool
	// Extension is the extension of a phone number ("ext. 123", ";ext=123"),
	// which is not part of the key. Empty for other kinds.
	Extension string
}

// Parse detects what raw is and returns its canonical contact:
//
//   - an email address if it starts with "mailto:" or has an '@' after
//     something (a local part, or a display name: "Ann <ann@example.com>");
//   - a domain for "@example.com", "*.example.com", or a bare host name
//     whose last label is not numeric ("example.com", "163.com");
//   - a phone number for "tel:" URIs and for text that starts with '+', a
//     digit or '(' (so digits-only strings are phone numbers).
//
// Errors are *[InvalidError] values matching [ErrInvalid]; the error's Kind
// is the kind raw was read as, or 0 if it looks like none of them. Input
// that is already canonical (a lowercase ASCII address, strict E.164) is
// normalized without allocating, and the returned Value is then raw itself
// (with surrounding white space removed).
func (n *Normalizer) Parse(raw string) (Contact, error) {
	s := strings.TrimSpace(raw)
	switch k := detect(s); k {
	case Email:
		return n.email(raw, s)
	case Phone:
		return n.phone(raw, s)
	case Domain:
		return n.domain(raw, s)
	default:
		return Contact{}, invalid(raw, 0, detectFailure(s))
	}
}

// ParseDetail is [Normalizer.Parse] with details: for a phone number,
// whether it is only possible rather than known-valid, and its extension.
// For a phone number it is slower than Parse by one libphonenumber parse
// and validity check (some microseconds), which are not memoized.
func (n *Normalizer) ParseDetail(raw string) (Detail, error) {
	s := strings.TrimSpace(raw)
	switch k := detect(s); k {
	case Email:
		c, err := n.email(raw, s)
		return Detail{Contact: c}, err
	case Domain:
		c, err := n.domain(raw, s)
		return Detail{Contact: c}, err
	case Phone:
		return n.phoneDetail(raw, s)
	default:
		return Detail{}, invalid(raw, 0, detectFailure(s))
	}
}

// Email normalizes raw as an email address: "ann@example.com",
// "Ann <Ann@Example.COM>", "<ann@example.com>" or "mailto:ann@example.com".
// See the package documentation for the rules. Errors are *[InvalidError]
// values matching [ErrInvalid].
func (n *Normalizer) Email(raw string) (Contact, error) {
	return n.email(raw, strings.TrimSpace(raw))
}

// Phone normalizes raw as a phone number to E.164: "+442071838750",
// "+44 (0)20 7183 8750", "020 7183 8750" with region GB, "0044 20 7183 8750"
// where 00 is the region's international prefix, "tel:+44-20-7183-8750".
// Extensions are dropped (see [Normalizer.ParseDetail]). A number that is not
// even possible for its country is an error, an *[InvalidError] matching
// [ErrInvalid].
func (n *Normalizer) Phone(raw string) (Contact, error) {
	return n.phone(raw, strings.TrimSpace(raw))
}

// Domain normalizes raw as a domain contact: "example.com", "@example.com"
// or "*.example.com" all give "example.com". Internationalized names are
// converted to ASCII (IDNA lookup profile); a trailing dot is removed;
// dotless names and IP addresses are errors, *[InvalidError] values matching
// [ErrInvalid].
func (n *Normalizer) Domain(raw string) (Contact, error) {
	return n.domain(raw, strings.TrimSpace(raw))
}

// detect returns the kind s (already trimmed) should be read as, or 0.
// It is on the hot path: for canonical input it reads s once.
func detect(s string) Kind {
	if s == "" {
		return 0
	}
	if (s[0] == 'm' || s[0] == 'M') && hasPrefixFold(s, "mailto:") {
		return Email
	}
	// '@' first: "+tag@example.com" is an address.
	if i := strings.IndexByte(s, '@'); i == 0 {
		return Domain
	} else if i > 0 {
		return Email
	}
	if s[0] == '+' || ((s[0] == 't' || s[0] == 'T') && hasPrefixFold(s, "tel:")) {
		return Phone
	}
	if strings.HasPrefix(s, "*.") || looksLikeHostname(s) {
		return Domain
	}
	if r, _ := utf8.DecodeRuneInString(s); isPhoneStart(r) {
		return Phone
	}
	return 0
}

func detectFailure(s string) string {
	if s == "" {
		return "empty input"
	}
	if len(s) > MaxInputLen {
		return tooLongReason
	}
	return "not an email address, phone number or domain"
}

// looksLikeHostname reports whether s could be a bare host name: letters,
// digits, hyphens and dots only (any script, for IDN), at least one dot,
// and a last label that is not all ASCII digits (so "020.7183.8750" is not
// one, as [scanDomain] would refuse it).
// It is a guess for [Normalizer.Parse]; [Normalizer.Domain] validates.
func looksLikeHostname(s string) bool {
	if len(s) > MaxInputLen {
		return false
	}
	s = strings.TrimRight(s, ".\u3002\uff0e\uff61")
	dots := 0
	numeric := true // the last label so far is all digits
	for _, r := range s {
		switch {
		case r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61':
			dots++
			numeric = true
		case r >= '0' && r <= '9':
		case r == '-':
			numeric = false
		case r < utf8.RuneSelf:
			if !isASCIILetter(byte(r)) {
				return false
			}
			numeric = false
		case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r):
			numeric = false
		default:
			return false
		}
	}
	return dots > 0 && !numeric
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// hasPrefixFold reports whether s starts with the lowercase ASCII prefix p,
// ignoring ASCII case.
func hasPrefixFold(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}
