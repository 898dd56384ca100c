package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// SMS is one text message. To may be written in any format the guard
// reads; the provider wants E.164 (see toE164).
type SMS struct {
	To   string
	From string // E.164
	Body string
}

// messageResource is the part of the provider's answer the demo reads.
type messageResource struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
	To     string `json:"to"`
	From   string `json:"from"`
	Body   string `json:"body"`
}

// apiError is the provider's error answer: the HTTP status and the JSON
// body {"code", "message", "more_info", "status"}.
type apiError struct {
	StatusCode int
	Code       int    `json:"code"`
	Message    string `json:"message"`
	MoreInfo   string `json:"more_info"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("sms example: provider answered %d: error %d: %s", e.StatusCode, e.Code, e.Message)
}

// Temporary reports whether the request may succeed if tried again later
// (429 or a 5xx answer).
func (e *apiError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// client is a minimal client of a Twilio-shaped Messages API. It is safe
// for concurrent use by multiple goroutines.
type client struct {
	BaseURL    string // e.g. "https://api.twilio.com"
	AccountSID string
	AuthToken  string
	HTTP       *http.Client // nil: http.DefaultClient
}

var _ guard.Sender[SMS] = (*client)(nil)

// Create posts m and returns the message resource the provider created.
// A refusal is an *apiError.
func (c *client) Create(ctx context.Context, m SMS) (messageResource, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}, "Body": {m.Body}}
	u := strings.TrimSuffix(c.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return messageResource{}, fmt.Errorf("sms example: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.AccountSID, c.AuthToken)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return messageResource{}, fmt.Errorf("sms example: send: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
		_ = resp.Body.Close()
	}()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return messageResource{}, fmt.Errorf("sms example: read answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e := &apiError{}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(body))
		}
		e.StatusCode = resp.StatusCode
		return messageResource{}, e
	}
	var mr messageResource
	if err := json.Unmarshal(body, &mr); err != nil {
		return messageResource{}, fmt.Errorf("sms example: answer %d is not a message: %w", resp.StatusCode, err)
	}
	return mr, nil
}

// Send posts m, discarding the resource: it makes client a guard.Sender.
func (c *client) Send(ctx context.Context, m SMS) error {
	_, err := c.Create(ctx, m)
	return err
}

// toE164 is a middleware that rewrites each message's To to E.164 with n
// (the guard's normalizer, so with the guard's region). It goes after the
// guard in the chain: the guard has already read the number by then.
func toE164(n *normalize.Normalizer) guard.Middleware[SMS] {
	return func(next guard.Sender[SMS]) guard.Sender[SMS] {
		return guard.SenderFunc[SMS](func(ctx context.Context, m SMS) error {
			c, err := n.Phone(m.To)
			if err != nil {
				return err
			}
			m.To = c.Value
			return next.Send(ctx, m)
		})
	}
}

// isE164 reports whether s is "+" and 2 to 15 digits, the first not 0.
func isE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
