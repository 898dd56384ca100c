package main

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// fakeProvider is a local stand-in for a Twilio-shaped Messages API: it
// serves POST /2010-04-01/Accounts/{AccountSid}/Messages.json, checks the
// credentials and the form fields as the real API does (E.164 To and From,
// a Body of 1 to 1600 characters), answers with the same JSON shapes and
// status codes, and records what it accepted.
//
// fakeProvider is safe for concurrent use by multiple goroutines.
type fakeProvider struct {
	sid, token string
	mux        *http.ServeMux

	mu       sync.Mutex
	attempts []string  // the To of every authenticated POST, accepted or not
	accepted []sentSMS // accepted messages, in order
}

// sentSMS is a message the fake provider accepted.
type sentSMS struct {
	SID string
	SMS
}

func newFakeProvider(sid, token string) *fakeProvider {
	p := &fakeProvider{sid: sid, token: token, mux: http.NewServeMux()}
	p.mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", p.create)
	return p
}

// ServeHTTP serves the API.
func (p *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Accepted returns the messages accepted so far, in order.
func (p *fakeProvider) Accepted() []sentSMS {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sentSMS(nil), p.accepted...)
}

// Attempts returns the To field of every authenticated request, in order.
func (p *fakeProvider) Attempts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.attempts...)
}

// fail writes the provider's error document.
func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": msg, "status": status,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
	})
}

func (p *fakeProvider) create(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(p.sid)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(p.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.PathValue("sid") != p.sid {
		fail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	m := SMS{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Body: r.PostForm.Get("Body")}
	p.mu.Lock()
	p.attempts = append(p.attempts, m.To)
	p.mu.Unlock()
	switch n := utf8.RuneCountInString(m.Body); {
	case m.To == "":
		fail(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !isE164(m.To):
		fail(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+m.To)
	case m.From == "":
		fail(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case !isE164(m.From):
		fail(w, http.StatusBadRequest, 21212, "Invalid 'From' Phone Number: "+m.From)
	case n == 0:
		fail(w, http.StatusBadRequest, 21602, "Message body is required.")
	case n > 1600:
		fail(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	default:
		var b [16]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		sid := "SM" + hex.EncodeToString(b[:])
		p.mu.Lock()
		p.accepted = append(p.accepted, sentSMS{SID: sid, SMS: m})
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"sid": sid, "account_sid": p.sid, "to": m.To, "from": m.From, "body": m.Body,
			"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
			"num_segments": "1", "date_created": time.Now().UTC().Format(time.RFC1123Z),
			"uri": "/2010-04-01/Accounts/" + p.sid + "/Messages/" + sid + ".json",
		})
	}
}
