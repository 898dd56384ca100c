package ocambatest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
)

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, srv *ocambatest.Server, method, path, ctype, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token())
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

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestServer_CreateValidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: -1})
		defer srv.Close()
		const ct, path = "application/json", "/v1/hood/blocked-contacts"
		bad := []struct{ ctype, body, msg string }{
			{"text/plain", `{"contact":"+38112345678"}`, "The request is not valid."},
			{ct, `not json`, "The request body is not valid."},
			{ct, `{}`, "The request body is not valid."},
			{ct, `{"contact":12345678}`, "The request body is not valid."},
			{ct, `{"contact":"0038112345678"}`, "The request body is not valid."},
			{ct, `{"contact":"+1"}`, "The request body is not valid."},
			{ct, `{"contact":"+1234567890123456"}`, "The request body is not valid."},
			{ct, `{"contact":"* * * * * * * * * *"}`, "The request body is not valid."},
			{ct, `{"contact":"ann@example"}`, "The request body is not valid."},
			{ct, `{"contact":"+38112345678","description":5}`, "The request body is not valid."},
		}
		for _, c := range bad {
			a := call(t, srv, "POST", path, c.ctype, c.body)
			var e map[string]any
			if a.status != 400 || json.Unmarshal([]byte(a.body), &e) != nil || e["code"] != 400.0 ||
				e["title"] != "Bad request." || e["message"] != c.msg || !uuid.MatchString(fmt.Sprint(e["trace_id"])) {
				t.Fatalf("%s %s: %d %s", c.ctype, c.body, a.status, a.body)
			}
		}
		a := call(t, srv, "POST", path, ct, `{"contact":"+38112345678","description":"Reason."}`)
		var created map[string]any
		json.Unmarshal([]byte(a.body), &created)
		want := map[string]any{"id": "1000", "company_id": "7196310", "creator_id": "1000163",
			"contact": "* * * * * * * * * *", "type": "mobile_phone_number", "description": "Reason."}
		if a.status != 201 || fmt.Sprint(created) != fmt.Sprint(want) {
			t.Fatalf("201: %s", a.body)
		}
		if len(srv.Blocked()) != 1 {
			t.Fatalf("holds %d", len(srv.Blocked()))
		}
		for _, route := range [][2]string{{"DELETE", path + "/1000"}, {"PATCH", path}, {"GET", "/v1/hood/profiles"}} {
			if a := call(t, srv, route[0], route[1], "", ""); a.status != 405 && a.status != 404 {
				t.Fatalf("%v: %d", route, a.status)
			}
		}
	})
}

func TestServer_ListQuery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: -1})
		defer srv.Close()
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range 30 {
			srv.Seed(ocambatest.Entry{Contact: fmt.Sprintf("+1202555%04d", i), Description: fmt.Sprintf("desc %d", i%3),
				CreateTime: base.Add(time.Duration(i) * time.Hour), UpdateTime: base.Add(time.Duration(30-i) * time.Hour)})
		}
		list := func(q string) (int, []string) {
			t.Helper()
			a := call(t, srv, "GET", "/v1/hood/blocked-contacts?"+q, "", "")
			if a.status != 200 {
				t.Fatalf("?%s: %d %s", q, a.status, a.body)
			}
			var out struct {
				Total int              `json:"total"`
				Items []map[string]any `json:"items"`
			}
			json.Unmarshal([]byte(a.body), &out)
			var ids []string
			for _, it := range out.Items {
				ids = append(ids, fmt.Sprint(it["id"]))
			}
			return out.Total, ids
		}
		check := func(q string, total int, ids string) {
			t.Helper()
			gotTotal, got := list(q)
			if gotTotal != total || strings.Join(got, " ") != ids {
				t.Fatalf("?%s: total %d ids %v; want %d [%s]", q, gotTotal, got, total, ids)
			}
		}
		check("page=2,3&sort=create_time", 30, "1003 1004 1005")
		check("page=1,2&sort=-create_time", 30, "1029 1028")
		check("page=1,2&sort=update_time", 30, "1029 1028")
		check("page=1,3&sort=create_time&create_time=rl:2024-01-02%2003:00:00", 3, "1027 1028 1029")
		check("page=1,3&sort=create_time&create_time=rr:2024-01-01%2001:00:00", 2, "1000 1001")
		check("page=1,30&sort=create_time&create_time=rl:2024-01-02", 6, "1024 1025 1026 1027 1028 1029")
		check("page=1,5&sort=create_time&id=in:1003,1007", 2, "1003 1007")
		check("page=1,5&sort=create_time&id=gt:1026", 3, "1027 1028 1029")
		check("page=1,5&sort=create_time&q=DESC%202", 10, "1002 1005 1008 1011 1014")
		check("page=1,2&sort=create_time&contact=%2B12025550005", 30, "1000 1001") // contact is not filterable: ignored
		check("page=4", 30, "")                                                    // M defaults to 20; newest first without sort
		check("page=1", 30, "1029 1028 1027 1026 1025 1024 1023 1022 1021 1020 1019 1018 1017 1016 1015 1014 1013 1012 1011 1010")
		if _, ids := list("page=1,500&sort=create_time"); len(ids) != 30 {
			t.Fatalf("M=500: %d items", len(ids))
		}
		small := ocambatest.NewInMemoryServer(ocambatest.Options{MaxPageSize: 10})
		defer small.Close()
		for i := range 12 {
			small.Seed(ocambatest.Entry{Contact: fmt.Sprintf("+1202555%04d", i)})
		}
		if a := call(t, small, "GET", "/v1/hood/blocked-contacts?page=1,100", "", ""); strings.Count(a.body, `"id"`) != 10 {
			t.Fatalf("M above the cap: %s", a.body)
		}
		for _, q := range []string{"page=0", "page=x,5", "page=1,0", "page=1,-2", "sort=contact", "create_time=rl:yesterday", "id=r:5"} {
			if a := call(t, srv, "GET", "/v1/hood/blocked-contacts?"+q, "", ""); a.status != 400 || !strings.Contains(a.body, `"message":"The request is not valid."`) {
				t.Fatalf("?%s: %d %s", q, a.status, a.body)
			}
		}
	})
}

// TestServer_FilterTimes: filter times are read strictly, as documented
// ("YYYY-MM-DD HH:MM:SS" or a bare date, GMT); anything else, RFC 3339
// included, gets the documented 400.
func TestServer_FilterTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{RequestsPerSecond: -1, RequestsPerMinute: -1})
		defer srv.Close()
		srv.Seed(ocambatest.Entry{Contact: "+12025550100", CreateTime: time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)})
		for _, q := range []string{"create_time=rl:2024-01-01", "create_time=rl:2024-01-01%2012:00:00",
			"update_time=rr:2024-01-01%2012:00:00", "create_time=rf:2024-01-01,2024-01-02"} {
			if a := call(t, srv, "GET", "/v1/hood/blocked-contacts?"+q, "", ""); a.status != 200 || !strings.Contains(a.body, `"total":1`) {
				t.Errorf("?%s: %d %s", q, a.status, a.body)
			}
		}
		for _, q := range []string{"create_time=rl:2024-01-01T00:00:00Z", "create_time=rl:2024-01-01T00:00:00%2B02:00",
			"update_time=gt:2024-01-01T12:00:00.5Z", "create_time=rl:%202024-01-01", "create_time=rl:2024-01-01%2012:00",
			"create_time=rf:2024-01-01,2024-01-02T00:00:00Z"} {
			a := call(t, srv, "GET", "/v1/hood/blocked-contacts?"+q, "", "")
			var e map[string]any
			if a.status != 400 || json.Unmarshal([]byte(a.body), &e) != nil || len(e) != 4 || e["code"] != 400.0 ||
				e["title"] != "Bad request." || e["message"] != "The request is not valid." || !uuid.MatchString(fmt.Sprint(e["trace_id"])) {
				t.Errorf("?%s: %d %s, want the documented 400", q, a.status, a.body)
			}
		}
	})
}

func TestServer_MaskingAndFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{})
		defer srv.Close()
		ids := srv.Seed(ocambatest.Entry{Contact: "ann@example.com", Description: "d", CreateTime: time.Date(2025, 2, 13, 8, 41, 44, 0, time.UTC)})
		a := call(t, srv, "GET", "/v1/hood/blocked-contacts/"+ids[0], "", "")
		if a.body != `{"items":[{"company_id":"7196310","contact":"* * * * * * * * * *","create_time":"2025-02-13 08:41:44","description":"d","id":"1000","update_time":"2025-02-13 08:41:44"}],"total":1}` {
			t.Fatalf("masked get: %s", a.body)
		}
		a = call(t, srv, "GET", "/v1/hood/blocked-contacts/"+ids[0]+"?read_gdpr_fields=true", "", "")
		if !strings.Contains(a.body, `"contact":"ann@example.com"`) || !strings.Contains(a.body, `"type":"email"`) || !strings.Contains(a.body, `"creator":{`) {
			t.Fatalf("unmasked get: %s", a.body)
		}
		a = call(t, srv, "GET", "/v1/hood/blocked-contacts?read_gdpr_fields=true&fields=id,contact", "", "")
		if a.body != `{"items":[{"contact":"ann@example.com","id":"1000"}],"total":1}` {
			t.Fatalf("fields: %s", a.body)
		}
		if a := call(t, srv, "GET", "/v1/hood/blocked-contacts/77", "", ""); a.status != 404 || !strings.Contains(a.body, `"code":404`) {
			t.Fatalf("unknown id: %d %s", a.status, a.body)
		}
		never := ocambatest.NewInMemoryServer(ocambatest.Options{Masking: ocambatest.MaskNever})
		defer never.Close()
		never.Seed(ocambatest.Entry{Contact: "+12025550100"}, ocambatest.Entry{Contact: "+12025550101", Masked: true})
		a = call(t, never, "GET", "/v1/hood/blocked-contacts?sort=create_time", "", "")
		if !strings.Contains(a.body, `"contact":"+12025550100"`) || strings.Count(a.body, `"* * * * * * * * * *"`) != 1 {
			t.Fatalf("MaskNever with one undecryptable entry: %s", a.body)
		}
	})
}

// TestServer_MaskGetUnlessGDPR: the documented examples: the list shows
// real values without read_gdpr_fields; get-by-id masks them unless
// read_gdpr_fields=true.
func TestServer_MaskGetUnlessGDPR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{Masking: ocambatest.MaskGetUnlessGDPR})
		defer srv.Close()
		ids := srv.Seed(ocambatest.Entry{Contact: "+12025550100"}, ocambatest.Entry{Contact: "+12025550101", Masked: true})
		const masked = `"contact":"* * * * * * * * * *"`
		for _, q := range []string{"", "?read_gdpr_fields=true", "?read_gdpr_fields=false"} {
			a := call(t, srv, "GET", "/v1/hood/blocked-contacts"+q, "", "")
			if a.status != 200 || !strings.Contains(a.body, `"contact":"+12025550100"`) || !strings.Contains(a.body, `"type":"mobile_phone_number"`) ||
				strings.Count(a.body, masked) != 1 {
				t.Errorf("list%s: %d %s, want the real value (and the undecryptable entry masked)", q, a.status, a.body)
			}
		}
		for _, q := range []string{"", "?read_gdpr_fields=false"} {
			a := call(t, srv, "GET", "/v1/hood/blocked-contacts/"+ids[0]+q, "", "")
			if a.status != 200 || !strings.Contains(a.body, masked) || strings.Contains(a.body, `"type"`) {
				t.Errorf("get%s: %d %s, want masked", q, a.status, a.body)
			}
		}
		if a := call(t, srv, "GET", "/v1/hood/blocked-contacts/"+ids[0]+"?read_gdpr_fields=true", "", ""); !strings.Contains(a.body, `"contact":"+12025550100"`) {
			t.Errorf("get with read_gdpr_fields=true: %s", a.body)
		}
		if a := call(t, srv, "GET", "/v1/hood/blocked-contacts/"+ids[1]+"?read_gdpr_fields=true", "", ""); !strings.Contains(a.body, masked) {
			t.Errorf("undecryptable entry: %s", a.body)
		}
		// MaskNever, by contrast, shows get-by-id unmasked too.
		never := ocambatest.NewInMemoryServer(ocambatest.Options{Masking: ocambatest.MaskNever})
		defer never.Close()
		nid := never.Seed(ocambatest.Entry{Contact: "+12025550100"})
		if a := call(t, never, "GET", "/v1/hood/blocked-contacts/"+nid[0], "", ""); !strings.Contains(a.body, `"contact":"+12025550100"`) {
			t.Errorf("MaskNever get: %s", a.body)
		}
	})
}

func TestServer_RateHeaders(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := ocambatest.NewInMemoryServer(ocambatest.Options{})
		defer srv.Close()
		for i := 1; i <= 10; i++ {
			a := call(t, srv, "GET", "/v1/hood/blocked-contacts", "", "")
			if a.header.Get("X-RateLimit-Limit") == "" || a.header.Get("X-RateLimit-Remaining") == "" || a.header.Get("X-RateLimit-Reset") == "" {
				t.Fatalf("request %d lacks rate headers: %v", i, a.header)
			}
			if i == 1 && (a.header.Get("X-RateLimit-Limit") != "10" || a.header.Get("X-RateLimit-Remaining") != "9") {
				t.Fatalf("first: %v", a.header)
			}
		}
		a := call(t, srv, "GET", "/v1/hood/blocked-contacts", "", "")
		if a.status != 429 || a.header.Get("Retry-After") != "1" || a.header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("11th in a second: %d %v", a.status, a.header)
		}
		if !strings.Contains(a.body, `"code":429`) {
			t.Fatalf("429 body %s", a.body)
		}
		// a 400 still carries the headers
		time.Sleep(time.Second)
		if a := call(t, srv, "GET", "/v1/hood/blocked-contacts?page=0", "", ""); a.status != 400 || a.header.Get("X-RateLimit-Remaining") == "" {
			t.Fatalf("400: %d %v", a.status, a.header)
		}
		if ps, pm := srv.MaxRate(); ps != 11 || pm != 12 || srv.RateViolations() != 1 {
			t.Fatalf("MaxRate %d %d, violations %d", ps, pm, srv.RateViolations())
		}
	})
}

func TestServer_Duplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		keep := ocambatest.NewInMemoryServer(ocambatest.Options{Duplicates: ocambatest.KeepOne})
		defer keep.Close()
		for range 2 {
			if a := call(t, keep, "POST", "/v1/hood/blocked-contacts", "application/json", `{"contact":"Ann@Example.com"}`); a.status != 201 || !strings.Contains(a.body, `"id":"1000"`) {
				t.Fatalf("%d %s", a.status, a.body)
			}
		}
		if len(keep.Blocked()) != 1 || keep.Duplicates() != 1 {
			t.Fatalf("KeepOne: %d rows %d duplicates", len(keep.Blocked()), keep.Duplicates())
		}
	})
}
