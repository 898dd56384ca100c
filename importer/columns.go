package importer

import (
	"fmt"
	"slices"
	"strings"
)

// Field is what a column (or a JSON record's key) holds.
type Field uint8

// The fields an import reads. Every other column is ignored.
const (
	Contact   Field = iota // an email address, a phone number or a domain
	Reason                 // why the contact is blocked
	Source                 // where the block comes from
	CreatedAt              // when the block was made
	ExpiresAt              // when it lapses
)

var fieldNames = [...]string{"contact", "reason", "source", "created_at", "expires_at"}

// String returns the field's name as [ParseMapping] reads it: contact,
// reason, source, created_at or expires_at.
func (f Field) String() string {
	if int(f) < len(fieldNames) {
		return fieldNames[f]
	}
	return fmt.Sprintf("Field(%d)", uint8(f))
}

// Mapping names, for some fields, the column (or JSON key) that holds it,
// overriding the column names the importer knows. Contact may name more
// than one column (an email column and a phone column, say). A name is
// matched ignoring case; a name the input does not have is an error.
type Mapping map[Field][]string

// ParseMapping reads a mapping written as the command line takes it:
// "contact=Email,reason=Why,created_at=When", fields as [Field.String]
// names them. A field may appear more than once.
func ParseMapping(s string) (Mapping, error) {
	m := Mapping{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, col, ok := strings.Cut(part, "=")
		col = strings.TrimSpace(col)
		if !ok || col == "" {
			return nil, fmt.Errorf("%q: want FIELD=COLUMN", part)
		}
		f, ok := fieldByName(strings.TrimSpace(name))
		if !ok {
			return nil, fmt.Errorf("%q: unknown field %q (want contact, reason, source, created_at or expires_at)", part, name)
		}
		m[f] = append(m[f], col)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("empty mapping (want e.g. contact=Email,reason=Why)")
	}
	return m, nil
}

func fieldByName(name string) (Field, bool) {
	n := squash(name)
	for i, fn := range fieldNames {
		if squash(fn) == n {
			return Field(i), true
		}
	}
	return 0, false
}

// Column says which column of the input became which field.
type Column struct {
	Field Field
	Name  string // the column's name as the input writes it
	Index int    // its position in the header (CSV) or record (JSON)
}

// Contact column classes, for the choice of contact columns.
const (
	noClass = iota
	emailClass
	phoneClass
	anyClass // may hold either: used only when no email or phone column exists
)

// contactNames are the known contact column names, squashed, best first
// within a class: SendGrid "email", Mailchimp "Email Address", Postmark
// "Email" and "EmailAddress", SES "EmailAddress", Mailgun "address",
// listmonk "email", Twilio "phone_number", this tool's "contact".
var contactNames = []struct {
	name  string
	class int
}{
	{"email", emailClass}, {"emailaddress", emailClass}, {"mail", emailClass},
	{"recipientemail", emailClass}, {"address", emailClass},
	{"phone", phoneClass}, {"phonenumber", phoneClass}, {"mobile", phoneClass},
	{"mobilenumber", phoneClass}, {"mobilephone", phoneClass}, {"msisdn", phoneClass},
	{"cell", phoneClass}, {"cellphone", phoneClass}, {"telephone", phoneClass},
	{"tel", phoneClass}, {"number", phoneClass},
	{"contact", anyClass}, {"recipient", anyClass}, {"to", anyClass},
}

// metaNames are the known names of the other fields, squashed, best
// first.
var metaNames = map[Field][]string{
	Reason: {
		"reason",                // SendGrid, this tool
		"suppressionreason",     // Postmark
		"unsubreason",           // Mailchimp
		"bouncereason", "error", // Mailgun
		"status", // listmonk ("blocklisted"), SendGrid (an SMTP status)
	},
	Source: {"source", "origin"}, // Postmark: Origin
	CreatedAt: {
		"createdat", "created", // this tool, SendGrid, Mailgun, Postmark, listmonk
		"datecreated",    // Twilio
		"lastupdatetime", // SES
		"unsubtime",      // Mailchimp
		"cleantime",      // Mailchimp (cleaned)
		"bouncedat",      // Postmark bounces
		"suppressedat", "timestamp", "date", "updatedat",
	},
	ExpiresAt: {"expiresat", "expires", "expiry", "expiration", "expirationdate"},
}

// squash is a column name lowercased, without spaces, underscores, dashes
// and dots, for matching.
func squash(h string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\ufeff':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(h)))
}

// contactClass returns a column name's contact class and rank.
func contactClass(h string) (rank, class int) {
	n := squash(h)
	for i, c := range contactNames {
		if c.name == n {
			return i, c.class
		}
	}
	return -1, noClass
}

// plan is where each field is found in a header or a record's keys.
type plan struct {
	contacts []int // one or two columns (email and phone), or one any-kind
	meta     [ExpiresAt + 1]int
	columns  []Column // for the report, contacts first
}

// resolve makes the plan for a header (or a JSON record's keys) and an
// explicit mapping.
func resolve(header []string, m Mapping) (plan, error) {
	p := plan{}
	for i := range p.meta {
		p.meta[i] = -1
	}
	find := func(f Field, name string) (int, error) {
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				return i, nil
			}
		}
		for i, h := range header {
			if squash(h) == squash(name) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%s=%s: no such column (the columns are %s)", f, name, listNames(header))
	}
	if names := m[Contact]; len(names) > 0 {
		for _, name := range names {
			i, err := find(Contact, name)
			if err != nil {
				return p, err
			}
			if !slices.Contains(p.contacts, i) {
				p.contacts = append(p.contacts, i)
			}
		}
	} else {
		p.contacts = contactColumns(header)
		if len(p.contacts) == 0 {
			return p, fmt.Errorf("no contact column among %s (want a column named email, phone, contact, recipient, address, …, or name it with contact=COLUMN)", listNames(header))
		}
	}
	for _, i := range p.contacts {
		p.columns = append(p.columns, Column{Contact, header[i], i})
	}
	for f := Reason; f <= ExpiresAt; f++ {
		if names := m[f]; len(names) > 0 {
			i, err := find(f, names[0])
			if err != nil {
				return p, err
			}
			p.meta[f] = i
		} else {
			p.meta[f] = metaColumn(header, metaNames[f], p.contacts)
		}
		if i := p.meta[f]; i >= 0 {
			p.columns = append(p.columns, Column{f, header[i], i})
		}
	}
	return p, nil
}

// metaColumn returns the best column of header among names, not one of
// the contact columns, or -1.
func metaColumn(header, names []string, contacts []int) int {
	best, bestRank := -1, len(names)
	for i, h := range header {
		if slices.Contains(contacts, i) {
			continue
		}
		if r := slices.Index(names, squash(h)); r >= 0 && r < bestRank {
			best, bestRank = i, r
		}
	}
	return best
}

// contactColumns picks the contact columns of a header: the best email
// column and the best phone column; when there is neither, the best column
// that may hold either kind (contact, recipient, to).
func contactColumns(header []string) []int {
	type pick struct{ rank, col int }
	best := map[int]pick{}
	for col, h := range header {
		rank, class := contactClass(h)
		if class == noClass {
			continue
		}
		if b, ok := best[class]; !ok || rank < b.rank {
			best[class] = pick{rank, col}
		}
	}
	var cols []int
	for _, class := range []int{emailClass, phoneClass} {
		if b, ok := best[class]; ok {
			cols = append(cols, b.col)
		}
	}
	if len(cols) == 0 {
		if b, ok := best[anyClass]; ok {
			cols = append(cols, b.col)
		}
	}
	return cols
}

// listNames lists column names for a message, cut after a dozen.
func listNames(header []string) string {
	const max = 12
	var b strings.Builder
	for i, h := range header {
		if i == max {
			fmt.Fprintf(&b, ", … (%d in all)", len(header))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteCell(h))
	}
	if len(header) == 0 {
		return "(none)"
	}
	return b.String()
}
