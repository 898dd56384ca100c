package opencxtest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, srv *opencxtest.Server, method, path, ctype, body string, token ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tok := srv.Token()
	if len(token) > 0 {
		tok = token[0]
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func errorDto(t *testing.T, a answer) (int, string, string) {
	t.Helper()
	var dto struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		Error      string `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &dto); err != nil {
		t.Fatalf("not an ErrorDto: %q", a.body)
	}
	if dto.StatusCode != a.status {
		t.Fatalf("statusCode %d in a %d answer", dto.StatusCode, a.status)
	}
	return dto.StatusCode, dto.Message, dto.Error
}

func TestServer_Validation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := opencxtest.NewInMemoryServer(opencxtest.Options{})
		defer srv.Close()
		const ct = "application/json"
		if a := call(t, srv, "POST", "/blocklist/contacts", ct, `{"email":"a@example.com"}`, ""); a.status != 401 ||
			a.body != `{"statusCode":401,"message":"Unauthorized","error":"Unauthorized"}` {
			t.Fatalf("no token: %+v", a)
		}
		if a := call(t, srv, "GET", "/blocklist/contacts", "", "", "nope"); a.status != 401 {
			t.Fatalf("wrong token: %+v", a)
		}
		cases := []struct {
			ctype, body string
			status      int
			msg         string
		}{
			{"text/plain", `{"email":"a@example.com"}`, 415, "Unsupported Media Type: text/plain"},
			{"", `{"email":"a@example.com"}`, 415, "Unsupported Media Type: "},
			{ct, `[1]`, 400, "body must be object"},
			{ct, `{}`, 400, "body must have required property 'email'"},
			{ct, `{"email":7}`, 400, "body/email must be string"},
			{ct, `{"email":".a@example.com"}`, 400, `body/email must match pattern "` + opencx.EmailPattern + `"`},
			{ct, `{"email":"a@example.com","reason":1}`, 400, "body/reason must be string"},
			{"application/json; charset=utf-8", `{"email":"a@example.com","reason":"r","extra":true}`, 200, ""},
		}
		for _, c := range cases {
			a := call(t, srv, "POST", "/blocklist/contacts", c.ctype, c.body)
			if a.status != c.status {
				t.Fatalf("%s %s: %d %s", c.ctype, c.body, a.status, a.body)
			}
			if c.status != 200 {
				if _, msg, _ := errorDto(t, a); msg != c.msg {
					t.Fatalf("%s: message %q, want %q", c.body, msg, c.msg)
				}
			} else if a.body != "" {
				t.Fatalf("200 with body %q", a.body)
			}
		}
		domainCases := []struct {
			body   string
			status int
		}{
			{`{"domains":""}`, 400},
			{`{"reason":"x"}`, 400},
			{`{"domains":"good.com, bad domain.com"}`, 400},
			{`{"domains":" , "}`, 400},
			{`{"domains":"good.com,,GOOD.com, other.org"}`, 200},
		}
		for _, c := range domainCases {
			if a := call(t, srv, "POST", "/blocklist/domains", ct, c.body); a.status != c.status {
				t.Fatalf("domains %s: %d %s", c.body, a.status, a.body)
			} else if c.status == 200 && !strings.Contains(a.body, `"skipped":["good.com"]`) ||
				c.status == 200 && !strings.Contains(a.body, `"summary":{"blocked":2,"skipped":1,"total":3}`) {
				t.Fatalf("domains answer %s", a.body)
			}
		}
		for _, q := range []string{"page=0", "page=x", "limit=0", "limit=-5"} {
			if a := call(t, srv, "GET", "/blocklist/contacts?"+q, "", ""); a.status != 400 {
				t.Fatalf("list ?%s: %d", q, a.status)
			}
		}
		for _, route := range [][2]string{{"GET", "/blocklist/domains"}, {"DELETE", "/blocklist/contacts"}, {"GET", "/contacts"}} {
			a := call(t, srv, route[0], route[1], "", "")
			if _, msg, _ := errorDto(t, a); a.status != 404 || msg != "Route "+route[0]+":"+route[1]+" not found" {
				t.Fatalf("%v: %d %q", route, a.status, msg)
			}
		}
		if n := len(srv.Contacts()); n != 1 {
			t.Fatalf("fake holds %d contacts", n)
		}
	})
}

func TestServer_ListShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := opencxtest.NewInMemoryServer(opencxtest.Options{Order: opencxtest.OldestFirst})
		defer srv.Close()
		if a := call(t, srv, "GET", "/blocklist/contacts", "", ""); a.body != `{"data":[],"total":0,"page":1,"total_pages":0}` {
			t.Fatalf("empty list: %s", a.body)
		}
		for i := range 25 {
			srv.Seed(opencxtest.Contact{Email: fmt.Sprintf("u%02d@example.com", i), Reason: "r"})
		}
		a := call(t, srv, "GET", "/blocklist/contacts?page=2", "", "")
		var page struct {
			Data                    []map[string]any `json:"data"`
			Total, Page, TotalPages int
		}
		if err := json.Unmarshal([]byte(a.body), &page); err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		json.Unmarshal([]byte(a.body), &raw)
		if raw["total"] != 25.0 || raw["page"] != 2.0 || raw["total_pages"] != 2.0 || len(page.Data) != 5 {
			t.Fatalf("page 2 with the default size 20: %s", a.body)
		}
		first := page.Data[0]
		for _, k := range []string{"id", "contact_id", "email", "name", "phone_number", "reason", "created_at"} {
			if _, ok := first[k]; !ok {
				t.Fatalf("item lacks %q: %v", k, first)
			}
		}
		if first["email"] != "u20@example.com" || first["created_at"] != time.Now().UTC().Format(time.RFC3339) {
			t.Fatalf("oldest-first page 2 starts with %v", first)
		}
		if a := call(t, srv, "GET", "/blocklist/contacts?page=9", "", ""); !strings.HasPrefix(a.body, `{"data":[],"total":25,"page":9,`) {
			t.Fatalf("past the end: %s", a.body)
		}
	})
}

// TestServer_Duplicates: by default (OpenCX does not document it) a
// duplicate block gets 200 and a second entry, the reading that costs a
// client the most; KeepOne and Conflict are available.
func TestServer_Duplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []struct {
			name   string
			opts   opencxtest.Options
			status int
			rows   int
		}{
			{"default", opencxtest.Options{}, 200, 3},
			{"AddRow", opencxtest.Options{Duplicates: opencxtest.AddRow}, 200, 3},
			{"KeepOne", opencxtest.Options{Duplicates: opencxtest.KeepOne}, 200, 1},
			{"Conflict", opencxtest.Options{Duplicates: opencxtest.Conflict}, 409, 1},
		} {
			srv := opencxtest.NewInMemoryServer(c.opts)
			for i, email := range []string{"d@example.com", "D@Example.com", "d@example.com"} {
				a := call(t, srv, "POST", "/blocklist/contacts", "application/json", `{"email":"`+email+`"}`)
				if want := map[bool]int{true: 200, false: c.status}[i == 0]; a.status != want {
					t.Errorf("%s: block %d: %d %s, want %d", c.name, i+1, a.status, a.body, want)
				}
			}
			if len(srv.Contacts()) != c.rows || srv.Duplicates() != 2 {
				t.Errorf("%s: %d rows, %d duplicates; want %d rows, 2 duplicates", c.name, len(srv.Contacts()), srv.Duplicates(), c.rows)
			}
			srv.Close()
		}
	})
}

func TestServer_RateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := opencxtest.NewInMemoryServer(opencxtest.Options{})
		defer srv.Close()
		for i := range 100 {
			if a := call(t, srv, "GET", "/blocklist/contacts", "", ""); a.status != 200 {
				t.Fatalf("request %d: %d", i, a.status)
			}
		}
		a := call(t, srv, "GET", "/blocklist/contacts", "", "")
		if _, msg, text := errorDto(t, a); a.status != 429 || msg != "Too Many Requests" || text != "Too Many Requests" {
			t.Fatalf("101st: %+v", a)
		}
		if a.header.Get("Retry-After") != "" {
			t.Fatal("Retry-After sent though OpenCX documents none")
		}
		time.Sleep(time.Minute)
		if a := call(t, srv, "GET", "/blocklist/contacts", "", ""); a.status != 200 {
			t.Fatalf("a minute later: %d", a.status)
		}
		if srv.RateViolations() != 1 || srv.MaxRate() != 101 {
			t.Fatalf("violations %d max %d", srv.RateViolations(), srv.MaxRate())
		}
		if got := srv.Requests()[100]; got.Status != 429 || got.Fault != string(opencxtest.FaultRateLimit) {
			t.Fatalf("recorded %+v", got)
		}
	})
}
