package opencx

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/internal/redact"
)

// Paths of the documented blocklist endpoints.
const (
	ContactsPath = "/blocklist/contacts"
	DomainsPath  = "/blocklist/domains"
)

// BlockContact blocks email: POST /blocklist/contacts {"email", "reason"}
// (reason is omitted when empty). OpenCX documents a 200 with no body
// schema; any 2xx is success and the body is not read as JSON.
//
// An email that does not match [EmailPattern] is refused before sending:
// the error is an [*Error] wrapping [ErrInvalidEmail] (permanent). What
// OpenCX answers to a second block of the same email is not documented;
// whatever status it sends comes back in the [*Error].
func (c *Client) BlockContact(ctx context.Context, email, reason string) error {
	const op = "block contact"
	if !ValidEmail(email) {
		c.call.Counters.Rejected.Add(1)
		return &Error{Op: op, Err: ErrInvalidEmail}
	}
	c.call.Log.LogAttrs(ctx, slog.LevelDebug, "opencx block contact", slog.Any("email", redact.Text(email)))
	_, err := c.do(ctx, op, http.MethodPost, ContactsPath, struct {
		Email  string `json:"email"`
		Reason string `json:"reason,omitempty"`
	}{email, reason})
	return err
}

// BlockedDomain is one domain OpenCX blocked.
type BlockedDomain struct {
	ID        string
	Domain    string
	Reason    string
	CreatedAt time.Time // zero if absent or unreadable
}

// DomainsSummary counts what [Client.BlockDomains] did.
type DomainsSummary struct {
	Total, Blocked, Skipped int
}

// DomainsResult is OpenCX's answer to [Client.BlockDomains].
type DomainsResult struct {
	Blocked []BlockedDomain // newly blocked
	Skipped []string        // already blocked before
	Summary DomainsSummary
}

// BlockDomains blocks email domains: POST /blocklist/domains with
// {"domains": "a.com, b.org", "reason"}. Domains already blocked come back
// in Skipped (OpenCX documents this as the duplicate answer). An empty list
// sends nothing and returns a zero result.
//
// A domain that is not a plain host name ([ValidDomain]) is refused before
// sending: the error wraps [ErrInvalidDomain]. A 2xx answer missing
// "blocked", "skipped" or "summary" gives an error wrapping
// [ErrBadResponse].
func (c *Client) BlockDomains(ctx context.Context, domains []string, reason string) (DomainsResult, error) {
	const op = "block domains"
	if len(domains) == 0 {
		return DomainsResult{}, nil
	}
	for _, d := range domains {
		if !ValidDomain(d) {
			c.call.Counters.Rejected.Add(1)
			return DomainsResult{}, &Error{Op: op, Err: ErrInvalidDomain}
		}
	}
	resp, err := c.do(ctx, op, http.MethodPost, DomainsPath, struct {
		Domains string `json:"domains"`
		Reason  string `json:"reason,omitempty"`
	}{strings.Join(domains, ", "), reason})
	if err != nil {
		return DomainsResult{}, err
	}
	var raw struct {
		Blocked *[]struct {
			ID        string `json:"id"`
			Domain    string `json:"domain"`
			Reason    string `json:"reason"`
			CreatedAt string `json:"created_at"`
		} `json:"blocked"`
		Skipped *[]string `json:"skipped"`
		Summary *struct {
			Total   *int `json:"total"`
			Blocked *int `json:"blocked"`
			Skipped *int `json:"skipped"`
		} `json:"summary"`
	}
	if json.Unmarshal(resp.Body, &raw) != nil || raw.Blocked == nil || raw.Skipped == nil || raw.Summary == nil ||
		raw.Summary.Total == nil || raw.Summary.Blocked == nil || raw.Summary.Skipped == nil {
		return DomainsResult{}, c.badResponse(op, resp.Status)
	}
	out := DomainsResult{
		Skipped: *raw.Skipped,
		Summary: DomainsSummary{Total: *raw.Summary.Total, Blocked: *raw.Summary.Blocked, Skipped: *raw.Summary.Skipped},
	}
	for _, b := range *raw.Blocked {
		out.Blocked = append(out.Blocked, BlockedDomain{ID: b.ID, Domain: b.Domain, Reason: b.Reason, CreatedAt: parseTime(b.CreatedAt)})
	}
	return out, nil
}

// BlockedContact is one entry of OpenCX's contact blocklist.
type BlockedContact struct {
	ID          string
	ContactID   string
	Email       string
	Name        string
	PhoneNumber string
	Reason      string
	CreatedAt   time.Time // zero if absent or unreadable
}

// ContactsPage is one page of [Client.ListContacts].
type ContactsPage struct {
	Data       []BlockedContact
	Total      int // entries in the whole list
	Page       int // this page's number, from 1
	TotalPages int
}

// More reports whether pages follow this one (Page < TotalPages).
func (p ContactsPage) More() bool { return p.Page < p.TotalPages }

// ListContacts fetches one page of the blocked contacts: GET
// /blocklist/contacts?page=N&<PageSizeParam>=<PageSize>. Pages count from 1
// (page < 1 asks for page 1). Page until [ContactsPage.More] is false:
// OpenCX documents page-number pagination with total_pages, no cursor, and
// no filter, so a pull is a full scan. OpenCX does not document the order;
// if new blocks are added during a scan, an entry may be seen twice.
//
// A 2xx answer missing "data", "total", "page" or "total_pages" gives an
// error wrapping [ErrBadResponse].
func (c *Client) ListContacts(ctx context.Context, page int) (ContactsPage, error) {
	const op = "list contacts"
	page = max(page, 1)
	q := "?page=" + strconv.Itoa(page)
	if c.pageSize > 0 {
		q += "&" + url.QueryEscape(c.pageParam) + "=" + strconv.Itoa(c.pageSize)
	}
	resp, err := c.do(ctx, op, http.MethodGet, ContactsPath+q, nil)
	if err != nil {
		return ContactsPage{}, err
	}
	var raw struct {
		Data *[]struct {
			ID          string `json:"id"`
			ContactID   string `json:"contact_id"`
			Email       string `json:"email"`
			Name        string `json:"name"`
			PhoneNumber string `json:"phone_number"`
			Reason      string `json:"reason"`
			CreatedAt   string `json:"created_at"`
		} `json:"data"`
		Total      *int `json:"total"`
		Page       *int `json:"page"`
		TotalPages *int `json:"total_pages"`
	}
	if json.Unmarshal(resp.Body, &raw) != nil || raw.Data == nil || raw.Total == nil || raw.Page == nil || raw.TotalPages == nil {
		return ContactsPage{}, c.badResponse(op, resp.Status)
	}
	out := ContactsPage{Total: *raw.Total, Page: *raw.Page, TotalPages: *raw.TotalPages, Data: make([]BlockedContact, 0, len(*raw.Data))}
	for _, d := range *raw.Data {
		out.Data = append(out.Data, BlockedContact{
			ID: d.ID, ContactID: d.ContactID, Email: d.Email, Name: d.Name,
			PhoneNumber: d.PhoneNumber, Reason: d.Reason, CreatedAt: parseTime(d.CreatedAt),
		})
	}
	return out, nil
}

func (c *Client) badResponse(op string, status int) error {
	c.call.BadResponse()
	return &Error{Op: op, StatusCode: status, Err: ErrBadResponse}
}

// parseTime reads an RFC 3339 time; "" or anything else gives the zero
// time (a bad timestamp is not worth losing the entry for).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
