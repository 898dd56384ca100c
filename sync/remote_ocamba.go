package sync

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
	"github.com/sendguard/sendguard/sync/ocamba"
)

// DefaultOverlap is the default of [OcambaOptions].Overlap.
const DefaultOverlap = 5 * time.Minute

// OcambaOptions configure [NewOcamba]. The zero value means every default.
type OcambaOptions struct {
	// Name is the remote's name. The default value is "ocamba".
	Name string
	// Overlap is how far before the watermark (the latest create_time
	// applied) an incremental pull starts: it covers clock skew, entries
	// created in the same second as the watermark, and entries Ocamba
	// makes visible late. Entries read twice are recognized by id. The
	// default value is [DefaultOverlap]; a negative value means none.
	Overlap time.Duration
	// PageSize is M in page=N,M. The default is the client's.
	PageSize int
}

// Ocamba is the [Remote] for Ocamba Hood's blocked contacts. It pushes
// E.164 phone numbers and emails (POST /v1/hood/blocked-contacts), keeping
// the id Ocamba returns since its echo of the contact is masked; domains
// are not pushed. A pull is incremental: entries with create_time at or
// after the watermark minus the overlap, sorted by create_time, with real
// values asked for (the client's ReadGDPRFields, on by default).
//
// An Ocamba is safe for concurrent use by multiple goroutines.
type Ocamba struct {
	c       *ocamba.Client
	name    string
	overlap time.Duration
	perPage int
}

var (
	_ Remote        = (*Ocamba)(nil)
	_ StatsReporter = (*Ocamba)(nil)
	_ Redactor      = (*Ocamba)(nil)
)

// NewOcamba returns the remote for Ocamba Hood through c. c may be nil for
// a remote that is only asked about (Accepts, an engine's Stats): its Push
// and Pull then fail with [ErrNoClient] and send nothing.
func NewOcamba(c *ocamba.Client, opts OcambaOptions) *Ocamba {
	r := &Ocamba{c: c, name: opts.Name, overlap: opts.Overlap, perPage: opts.PageSize}
	if r.name == "" {
		r.name = "ocamba"
	}
	switch {
	case r.overlap == 0:
		r.overlap = DefaultOverlap
	case r.overlap < 0:
		r.overlap = 0
	}
	return r
}

// Name returns the remote's name.
func (r *Ocamba) Name() string { return r.name }

// Redact returns s with the client's token replaced by "[token]".
func (r *Ocamba) Redact(s string) string { return r.c.Redact(s) }

// RequestStats returns the client's request and 429 counts.
func (r *Ocamba) RequestStats() RequestStats {
	if r.c == nil {
		return RequestStats{}
	}
	s := r.c.Stats()
	return RequestStats{Requests: s.Requests, RateLimited: s.RateLimited}
}

// Accepts accepts E.164 phone numbers and emails that Ocamba's client
// would send (plain ASCII addresses); it refuses other emails with a
// reason, and does not handle domains.
func (r *Ocamba) Accepts(c normalize.Contact) (bool, string) {
	switch c.Kind {
	case normalize.Phone, normalize.Email:
		if !ocamba.ValidContact(c.Value) {
			return false, ocamba.ErrInvalidContact.Error()
		}
		return true, ""
	}
	return false, ""
}

// Push creates one blocked contact, recs[0], with its reason as the
// description, and acknowledges it with Ocamba's id. A 2xx whose answer
// is unreadable is acknowledged without an id.
func (r *Ocamba) Push(ctx context.Context, recs []storage.Record) ([]Ack, error) {
	if r.c == nil {
		return nil, ErrNoClient
	}
	rec := &recs[0]
	created, err := r.c.CreateBlockedContact(ctx, rec.Contact.Value, rec.Reason)
	if err != nil {
		var oe *ocamba.Error
		if errors.As(err, &oe) && oe.Accepted() {
			return []Ack{{Seq: rec.Seq}}, nil
		}
		return nil, r.error(ctx, err)
	}
	return []Ack{{Seq: rec.Seq, ID: created.ID}}, nil
}

// Pull fetches one page of the entries created since the watermark (in
// cur.Since) minus the overlap, oldest first, or of every entry when
// cur.Since is nil (a full pull). The page's State is the latest
// create_time seen so far in this pull (or before it: cur.State), and its
// Total Ocamba's count of the entries asked for.
func (r *Ocamba) Pull(ctx context.Context, cur Cursor) (Page, error) {
	if r.c == nil {
		return Page{}, ErrNoClient
	}
	q := ocamba.ListQuery{Page: cur.Page, PerPage: r.perPage, Sort: "create_time"}
	if since, ok := decodeWatermark(cur.Since); ok {
		q.CreatedSince = since.Add(-r.overlap)
	}
	if page, per, ok := decodePageToken(cur.Next); ok {
		q.Page, q.PerPage = page, per
	}
	p, err := r.c.ListBlockedContacts(ctx, q)
	if err != nil {
		return Page{}, r.error(ctx, err)
	}
	mark, _ := decodeWatermark(cur.State)
	out := Page{Blocks: make([]RemoteBlock, 0, len(p.Items)), Total: p.Total}
	for _, it := range p.Items {
		b := RemoteBlock{ID: it.ID, Reason: it.Description, CreatedAt: it.CreateTime}
		if it.Masked() {
			b.Masked = true
		} else {
			b.Value = it.Contact
			switch {
			case it.Type == ocamba.TypePhone:
				b.Kind = normalize.Phone
			case strings.Contains(strings.ToLower(it.Type), "email"):
				b.Kind = normalize.Email
			}
		}
		if it.CreateTime.After(mark) {
			mark = it.CreateTime
		}
		out.Blocks = append(out.Blocks, b)
	}
	if !mark.IsZero() {
		out.State = []byte(mark.UTC().Format(time.RFC3339))
	}
	if next, more := p.Next(); more {
		out.More = true
		out.Next = []byte(strconv.Itoa(next.Page) + "," + strconv.Itoa(next.PerPage))
	}
	return out, nil
}

func decodeWatermark(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, string(b))
	return t, err == nil
}

func decodePageToken(b []byte) (page, per int, ok bool) {
	ps, pers, found := strings.Cut(string(b), ",")
	if !found {
		return 0, 0, false
	}
	page, err1 := strconv.Atoi(ps)
	per, err2 := strconv.Atoi(pers)
	return page, per, err1 == nil && err2 == nil && page > 0 && per > 0
}

// error classifies an Ocamba client error. For a 429 with Retry-After: -1
// it first waits, as Ocamba asks, for one of the client's requests in
// flight to finish.
func (r *Ocamba) error(ctx context.Context, err error) error {
	var oe *ocamba.Error
	if !errors.As(err, &oe) {
		return classify(err)
	}
	re := vendorError(err, oe.StatusCode, oe.Temporary(), oe.Message, oe.RetryAfter)
	re.WaitInFlight = oe.WaitInFlight
	if oe.WaitInFlight {
		_ = r.c.AwaitInFlight(ctx) // a ctx error surfaces in the engine
	}
	return re
}
