package main

import (
	"crypto/hmac"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
)

// optOutReason prefixes the reason of every block the webhook makes; START
// and UNSTOP lift only blocks whose reason has it.
const optOutReason = "sms opt-out: replied "

// keyword classifies an incoming message's text: +1 for an opt-out
// keyword, -1 for an opt-in keyword, 0 for anything else. The text must be
// the keyword alone, in any case, with any surrounding white space.
func keyword(body string) (kind int, word string) {
	word = strings.ToUpper(strings.TrimSpace(body))
	switch word {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT":
		return +1, word
	case "START", "UNSTOP":
		return -1, word
	}
	return 0, word
}

// optOutHandler is the provider's incoming-message webhook (a POST of form
// fields From, To, Body, ...). An opt-out keyword blocks From; an opt-in
// keyword lifts a block an opt-out made. See the package documentation.
//
// optOutHandler is safe for concurrent use by multiple goroutines.
type optOutHandler struct {
	g *guard.Guard
	// authToken checks X-Twilio-Signature. Required: the handler refuses
	// every request when it is empty.
	authToken string
	// publicURL is the webhook's URL as configured at the provider, which
	// is what the provider signs. "" means the URL this request arrived
	// at (scheme from TLS, host from the Host header), which is wrong
	// behind a proxy that rewrites either.
	publicURL string
}

// emptyTwiML is the answer to a keyword message: no reply of ours.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// ServeHTTP handles one incoming message. It answers 405 to anything but
// POST, 403 to a request without a valid signature, 400 to a request
// without a readable From, 500 when the guard fails (the provider may
// retry), an empty TwiML document to a keyword message and 204 to any
// other message.
func (h *optOutHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if !h.signed(r) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	from := r.PostForm.Get("From")
	kind, word := keyword(r.PostForm.Get("Body"))
	if kind == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var err error
	if kind > 0 {
		_, err = h.g.Block(r.Context(), from, optOutReason+word)
	} else {
		err = h.optIn(r, from)
	}
	switch {
	case errors.Is(err, normalize.ErrInvalid):
		http.Error(w, "From is not a phone number", http.StatusBadRequest)
		return
	case err != nil:
		http.Error(w, "blocklist unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = io.WriteString(w, emptyTwiML)
}

// optIn lifts from's block if an opt-out made it. A block made otherwise
// (an operator's, an import's, a hard bounce's) stays: a text message is
// not the way to lift it.
func (h *optOutHandler) optIn(r *http.Request, from string) error {
	v, err := h.g.Check(r.Context(), from)
	if err != nil || !v.Blocked || v.Scope != guard.ScopeAddress || !strings.HasPrefix(v.Reason, optOutReason) {
		return err
	}
	_, err = h.g.Unblock(r.Context(), from)
	return err
}

// signed reports whether r carries the provider's signature for its URL
// and form fields. r's form must be parsed.
func (h *optOutHandler) signed(r *http.Request) bool {
	got := r.Header.Get("X-Twilio-Signature")
	if h.authToken == "" || got == "" {
		return false
	}
	u := h.publicURL
	if u == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		u = scheme + "://" + r.Host + r.URL.RequestURI()
	}
	want := signature(h.authToken, u, r.PostForm)
	return hmac.Equal([]byte(got), []byte(want))
}
