package ocamba

import (
	"bytes"
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

// BlockedContactsPath is the documented collection path.
const BlockedContactsPath = hoodPrefix + "/blocked-contacts"

// id reads an id sent as a JSON string (documented) or number (tolerated).
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*i = id(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*i = id(n.String())
	return nil
}

// Created is Ocamba's answer to [Client.CreateBlockedContact]. Contact is
// masked ([MaskedContact]) as documented: keep ID to know what was created.
type Created struct {
	ID          string
	CompanyID   string
	CreatorID   string
	Contact     string
	Type        string // "mobile_phone_number" for phones; for emails undocumented
	Description string
}

// CreateBlockedContact blocks contact: POST /v1/hood/blocked-contacts
// {"contact", "description"} (description is omitted when empty). Ocamba
// decides the type itself; contact must be an E.164 phone number or an
// email address, checked before sending ([ValidContact]): otherwise the
// error wraps [ErrInvalidContact] (permanent).
//
// Ocamba warns that this removes the contact's actionable from every
// profile that has it. Whether a second create of the same contact makes a
// second entry, or fails, is not documented.
//
// A 2xx answer without an "id" gives an error wrapping [ErrBadResponse]
// whose [Error.Accepted] is true: the block exists, its id is unknown.
func (c *Client) CreateBlockedContact(ctx context.Context, contact, description string) (Created, error) {
	const op = "create blocked contact"
	if !ValidContact(contact) {
		c.call.Counters.Rejected.Add(1)
		return Created{}, &Error{Op: op, Err: ErrInvalidContact}
	}
	c.call.Log.LogAttrs(ctx, slog.LevelDebug, "ocamba create blocked contact", slog.Any("contact", redact.Text(contact)))
	resp, err := c.do(ctx, op, http.MethodPost, BlockedContactsPath, struct {
		Contact     string `json:"contact"`
		Description string `json:"description,omitempty"`
	}{contact, description})
	if err != nil {
		return Created{}, err
	}
	var raw struct {
		ID          id     `json:"id"`
		CompanyID   id     `json:"company_id"`
		CreatorID   id     `json:"creator_id"`
		Contact     string `json:"contact"`
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	if json.Unmarshal(resp.Body, &raw) != nil || raw.ID == "" {
		return Created{}, c.badResponse(op, resp.Status)
	}
	return Created{ID: string(raw.ID), CompanyID: string(raw.CompanyID), CreatorID: string(raw.CreatorID),
		Contact: raw.Contact, Type: raw.Type, Description: raw.Description}, nil
}

// BlockedContact is one entry of Ocamba's blocked-contact list.
type BlockedContact struct {
	ID          string
	CompanyID   string
	CreatorID   string
	Contact     string // the real value, or masked (see [BlockedContact.Masked])
	Type        string // may be empty when masked
	Description string
	CreateTime  time.Time // GMT; zero if absent or unreadable
	UpdateTime  time.Time
}

// Masked reports whether the contact came back masked: it must not become
// a block key.
func (b BlockedContact) Masked() bool { return isMasked(b.Contact) }

type itemJSON struct {
	ID          id     `json:"id"`
	CompanyID   id     `json:"company_id"`
	CreatorID   id     `json:"creator_id"`
	Contact     string `json:"contact"`
	Type        string `json:"type"`
	Description string `json:"description"`
	CreateTime  string `json:"create_time"`
	UpdateTime  string `json:"update_time"`
}

func (it itemJSON) contact() BlockedContact {
	ct, _ := parseTime(it.CreateTime)
	ut, _ := parseTime(it.UpdateTime)
	return BlockedContact{ID: string(it.ID), CompanyID: string(it.CompanyID), CreatorID: string(it.CreatorID),
		Contact: it.Contact, Type: it.Type, Description: it.Description, CreateTime: ct, UpdateTime: ut}
}

// decodeList reads {"total": n, "items": [...]}, every item with an id.
func decodeList(body []byte) (total int, items []BlockedContact, ok bool) {
	var raw struct {
		Total *int        `json:"total"`
		Items *[]itemJSON `json:"items"`
	}
	if json.Unmarshal(body, &raw) != nil || raw.Total == nil || raw.Items == nil {
		return 0, nil, false
	}
	items = make([]BlockedContact, 0, len(*raw.Items))
	for _, it := range *raw.Items {
		if it.ID == "" {
			return 0, nil, false
		}
		items = append(items, it.contact())
	}
	return *raw.Total, items, true
}

// ListQuery selects a page of [Client.ListBlockedContacts].
type ListQuery struct {
	// Page is N in page=N,M, from 1. Values below 1 mean 1.
	Page int
	// PerPage is M. Zero means [Config.PageSize].
	PerPage int
	// CreatedSince, if not zero, keeps entries created at or after it:
	// create_time=rl:<YYYY-MM-DD HH:MM:SS GMT>, truncated to the second.
	// For incremental pulls pass the watermark minus an overlap and
	// deduplicate by id.
	CreatedSince time.Time
	// Sort is the sort parameter. The default value is "create_time"
	// (oldest first: new entries land on the last page, so the pages of a
	// running scan do not shift). "-create_time" sorts newest first.
	Sort string
}

// Page is one page of [Client.ListBlockedContacts].
type Page struct {
	Total int              // entries matching the query, over all pages
	Items []BlockedContact // this page
	Query ListQuery        // the query that fetched it, defaults filled in
}

// Next returns the query for the page after p, and false when p was the
// last one (it was empty, or it reached Total). If Ocamba sent fewer items
// than asked before the end (it capped the page size, whose maximum is not
// documented), the next query uses a page size that keeps page=N,M aligned
// with what was already read, so nothing is skipped.
func (p Page) Next() (ListQuery, bool) {
	n := len(p.Items)
	if n == 0 {
		return ListQuery{}, false
	}
	q := p.Query
	covered := (q.Page-1)*q.PerPage + n
	if covered >= p.Total {
		return ListQuery{}, false
	}
	if n >= q.PerPage {
		q.Page++
		return q, true
	}
	m := gcd(covered, n)
	q.PerPage, q.Page = m, covered/m+1
	return q, true
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// queryValue escapes a query value but keeps ',' and ':' readable, as in
// Ocamba's documented examples (page=2,20; create_time=rl:2024-01-01).
func queryValue(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("%2C", ",", "%3A", ":", "+", "%20").Replace(s)
}

// ListBlockedContacts fetches one page: GET /v1/hood/blocked-contacts
// ?page=N,M&sort=create_time[&create_time=rl:<ts>][&read_gdpr_fields=true].
// Page with [Page.Next] until it returns false.
//
// Contacts may come back masked (Ocamba does not confirm that the list
// honours read_gdpr_fields); check [BlockedContact.Masked]. A 2xx answer
// without "total" and "items", or with an item without "id", gives an
// error wrapping [ErrBadResponse].
func (c *Client) ListBlockedContacts(ctx context.Context, q ListQuery) (Page, error) {
	const op = "list blocked contacts"
	q.Page = max(q.Page, 1)
	if q.PerPage <= 0 {
		q.PerPage = c.pageSize
	}
	if q.Sort == "" {
		q.Sort = "create_time"
	}
	pq := "?page=" + strconv.Itoa(q.Page) + "," + strconv.Itoa(q.PerPage) + "&sort=" + queryValue(q.Sort)
	if !q.CreatedSince.IsZero() {
		pq += "&create_time=" + queryValue("rl:"+formatTime(q.CreatedSince))
	}
	if c.gdpr {
		pq += "&read_gdpr_fields=true"
	}
	resp, err := c.do(ctx, op, http.MethodGet, BlockedContactsPath+pq, nil)
	if err != nil {
		return Page{}, err
	}
	total, items, ok := decodeList(resp.Body)
	if !ok {
		return Page{}, c.badResponse(op, resp.Status)
	}
	return Page{Total: total, Items: items, Query: q}, nil
}

// GetBlockedContact fetches one entry by id: GET
// /v1/hood/blocked-contacts/{id}[?read_gdpr_fields=true]. Ocamba wraps it
// like a list ({"total":1,"items":[…]}). An unknown id gives a 404
// [*Error] (permanent); an answer with no item gives one wrapping
// [ErrBadResponse].
func (c *Client) GetBlockedContact(ctx context.Context, blockedID string) (BlockedContact, error) {
	const op = "get blocked contact"
	p := BlockedContactsPath + "/" + url.PathEscape(blockedID)
	if c.gdpr {
		p += "?read_gdpr_fields=true"
	}
	resp, err := c.do(ctx, op, http.MethodGet, p, nil)
	if err != nil {
		return BlockedContact{}, err
	}
	_, items, ok := decodeList(resp.Body)
	if !ok || len(items) == 0 {
		return BlockedContact{}, c.badResponse(op, resp.Status)
	}
	return items[0], nil
}
