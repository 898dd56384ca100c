package sync

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	"github.com/sendguard/sendguard/sync/opencx"
)

// DefaultMaxDomainsPerRequest is the default of
// [OpenCXOptions.MaxDomainsPerRequest].
const DefaultMaxDomainsPerRequest = 50

// OpenCXOptions configure [NewOpenCX]. The zero value means every default.
type OpenCXOptions struct {
	// Name is the remote's name. The default value is "opencx".
	Name string
	// MaxDomainsPerRequest bounds how many consecutive domain blocks (with
	// the same reason) go in one POST /blocklist/domains. The default
	// value is [DefaultMaxDomainsPerRequest]; 1 sends one per request.
	MaxDomainsPerRequest int
	// IgnorePhones leaves out the phone_number of pulled entries. By
	// default it is blocked too: OpenCX blocks the contact record, and the
	// conservative reading for a guard is to block every address of it.
	IgnorePhones bool
}

// OpenCX is the [Remote] for OpenCX's blocklist. It pushes emails that
// match OpenCX's documented pattern (others are dead-lettered with that
// reason) and domains (batched); phone numbers are not pushed (OpenCX
// blocks by email only). A pull is a full scan of GET /blocklist/contacts,
// page by page to total_pages: OpenCX documents no filter. Blocked domains
// are not pulled: their list endpoint is not documented.
//
// An OpenCX is safe for concurrent use by multiple goroutines.
type OpenCX struct {
	c    *opencx.Client
	name string
	maxD int
	noPh bool
}

var (
	_ Remote        = (*OpenCX)(nil)
	_ StatsReporter = (*OpenCX)(nil)
	_ Redactor      = (*OpenCX)(nil)
)

// NewOpenCX returns the remote for OpenCX through c. c may be nil for a
// remote that is only asked about (Accepts, an engine's Stats): its Push
// and Pull then fail with [ErrNoClient] and send nothing.
func NewOpenCX(c *opencx.Client, opts OpenCXOptions) *OpenCX {
	r := &OpenCX{c: c, name: opts.Name, maxD: opts.MaxDomainsPerRequest, noPh: opts.IgnorePhones}
	if r.name == "" {
		r.name = "opencx"
	}
	if r.maxD <= 0 {
		r.maxD = DefaultMaxDomainsPerRequest
	}
	return r
}

// Name returns the remote's name.
func (r *OpenCX) Name() string { return r.name }

// Redact returns s with the client's token replaced by "[token]".
func (r *OpenCX) Redact(s string) string { return r.c.Redact(s) }

// RequestStats returns the client's request and 429 counts.
func (r *OpenCX) RequestStats() RequestStats {
	if r.c == nil {
		return RequestStats{}
	}
	s := r.c.Stats()
	return RequestStats{Requests: s.Requests, RateLimited: s.RateLimited}
}

// Accepts accepts emails matching OpenCX's documented pattern and plain
// domains; it refuses other emails and domains with a reason, and does not
// handle phone numbers.
func (r *OpenCX) Accepts(c normalize.Contact) (bool, string) {
	switch c.Kind {
	case normalize.Email:
		if !opencx.ValidEmail(c.Value) {
			return false, opencx.ErrInvalidEmail.Error()
		}
		return true, ""
	case normalize.Domain:
		if !opencx.ValidDomain(c.Value) {
			return false, opencx.ErrInvalidDomain.Error()
		}
		return true, ""
	}
	return false, ""
}

// Push blocks recs[0], an email, or a run of domains from recs[0] with the
// same reason in one request. OpenCX answers a contact block with no id.
// A domain neither blocked nor skipped in OpenCX's answer is reported as a
// permanent failure of that record; the ones before it are acknowledged.
func (r *OpenCX) Push(ctx context.Context, recs []storage.Record) ([]Ack, error) {
	if r.c == nil {
		return nil, ErrNoClient
	}
	first := &recs[0]
	if first.Contact.Kind != normalize.Domain {
		if err := r.c.BlockContact(ctx, first.Contact.Value, first.Reason); err != nil && !acceptedErr(err) {
			return nil, opencxError(err)
		}
		return []Ack{{Seq: first.Seq}}, nil
	}
	n := 1
	for n < len(recs) && n < r.maxD && recs[n].Contact.Kind == normalize.Domain && recs[n].Reason == first.Reason {
		n++
	}
	domains := make([]string, n)
	for i := range n {
		domains[i] = recs[i].Contact.Value
	}
	res, err := r.c.BlockDomains(ctx, domains, first.Reason)
	if err != nil {
		if acceptedErr(err) {
			// Carried out, answer unreadable: acknowledge the batch (a
			// domain re-push would only come back as skipped).
			return acks(recs[:n]), nil
		}
		return nil, opencxError(err)
	}
	done := make(map[string]bool, n)
	for _, b := range res.Blocked {
		done[strings.ToLower(b.Domain)] = true
	}
	for _, d := range res.Skipped {
		done[strings.ToLower(strings.TrimSpace(d))] = true
	}
	for i, d := range domains {
		if !done[d] {
			return acks(recs[:i]), &RemoteError{Class: Permanent, Status: http.StatusOK,
				Message: "opencx: block domains: the answer lists the domain neither as blocked nor as skipped"}
		}
	}
	return acks(recs[:n]), nil
}

func acks(recs []storage.Record) []Ack {
	out := make([]Ack, len(recs))
	for i := range recs {
		out[i] = Ack{Seq: recs[i].Seq}
	}
	return out
}

// acceptedErr reports an error after OpenCX answered 2xx: the block was
// carried out, only the answer could not be read.
func acceptedErr(err error) bool {
	var oe *opencx.Error
	return errors.As(err, &oe) && oe.Accepted()
}

// Pull fetches page cur.Page of GET /blocklist/contacts. Each entry gives
// its email and, unless IgnorePhones, its phone number; OpenCX keeps no
// watermark (State is nil).
func (r *OpenCX) Pull(ctx context.Context, cur Cursor) (Page, error) {
	if r.c == nil {
		return Page{}, ErrNoClient
	}
	p, err := r.c.ListContacts(ctx, cur.Page)
	if err != nil {
		return Page{}, opencxError(err)
	}
	out := Page{More: cur.Page < p.TotalPages, Total: p.Total, Blocks: make([]RemoteBlock, 0, len(p.Data))}
	for _, d := range p.Data {
		if d.Email != "" {
			out.Blocks = append(out.Blocks, RemoteBlock{ID: d.ID, Kind: normalize.Email, Value: d.Email, Reason: d.Reason, CreatedAt: d.CreatedAt})
		}
		if d.PhoneNumber != "" && !r.noPh {
			id := d.ID
			if id != "" {
				id += "#phone"
			}
			out.Blocks = append(out.Blocks, RemoteBlock{ID: id, Kind: normalize.Phone, Value: d.PhoneNumber, Reason: d.Reason, CreatedAt: d.CreatedAt})
		}
	}
	return out, nil
}

// opencxError classifies an OpenCX client error.
func opencxError(err error) error {
	var oe *opencx.Error
	if !errors.As(err, &oe) {
		return classify(err)
	}
	return vendorError(err, oe.StatusCode, oe.Temporary(), oe.Message, oe.RetryAfter)
}
