package sync_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sendguard/sendguard/guard"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/ocamba"
	"github.com/sendguard/sendguard/sync/ocamba/ocambatest"
	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// vendors is a pair of vendor fakes with their clients and remotes.
type vendors struct {
	cx  *opencxtest.Server
	oc  *ocambatest.Server
	cxc *opencx.Client
	occ *ocamba.Client
	cxr *blocksync.OpenCX
	ocr *blocksync.Ocamba
}

type vendorConfig struct {
	inMemory bool
	cx       opencxtest.Options
	oc       ocambatest.Options
	cxc      opencx.Config
	occ      ocamba.Config
	cxo      blocksync.OpenCXOptions
	oco      blocksync.OcambaOptions
	// noReplay gives the clients connections that are never reused.
	// net/http's Transport silently replays a GET that fails on a reused
	// connection before any answer (the fakes' reset fault): a second
	// request that no pacer saw, which can exceed the vendor's rate by
	// one. That is the vendor clients' concern (see the report); the fault
	// tests, which assert the rates exactly, avoid it.
	noReplay bool
	// wrap, if set, wraps the clients' transports.
	wrap func(http.RoundTripper) http.RoundTripper
}

func noReuse(c *http.Client) *http.Client {
	tr := c.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr, CheckRedirect: c.CheckRedirect}
}

// startVendors starts both fakes (in memory for synctest bubbles) and
// clients for them. The caller closes them with v.close.
func startVendors(t *testing.T, vc vendorConfig) *vendors {
	t.Helper()
	v := &vendors{}
	if vc.inMemory {
		v.cx, v.oc = opencxtest.NewInMemoryServer(vc.cx), ocambatest.NewInMemoryServer(vc.oc)
	} else {
		v.cx, v.oc = opencxtest.NewServer(vc.cx), ocambatest.NewServer(vc.oc)
	}
	var err error
	if vc.cxc.Token == "" {
		vc.cxc.Token = v.cx.Token()
	}
	if vc.occ.Token == "" {
		vc.occ.Token = v.oc.Token()
	}
	vc.cxc.BaseURL, vc.cxc.HTTPClient = v.cx.URL(), v.cx.Client()
	vc.occ.BaseURL, vc.occ.HTTPClient = v.oc.URL(), v.oc.Client()
	if vc.noReplay {
		vc.cxc.HTTPClient, vc.occ.HTTPClient = noReuse(vc.cxc.HTTPClient), noReuse(vc.occ.HTTPClient)
	}
	if vc.wrap != nil {
		for _, hc := range []**http.Client{&vc.cxc.HTTPClient, &vc.occ.HTTPClient} {
			*hc = &http.Client{Transport: vc.wrap((*hc).Transport), CheckRedirect: (*hc).CheckRedirect}
		}
	}
	if v.cxc, err = opencx.New(vc.cxc); err != nil {
		v.close()
		t.Fatal(err)
	}
	if v.occ, err = ocamba.New(vc.occ); err != nil {
		v.close()
		t.Fatal(err)
	}
	v.cxr, v.ocr = blocksync.NewOpenCX(v.cxc, vc.cxo), blocksync.NewOcamba(v.occ, vc.oco)
	return v
}

func (v *vendors) close() {
	v.cx.Close()
	v.oc.Close()
}

func (v *vendors) remotes() []blocksync.Remote { return []blocksync.Remote{v.cxr, v.ocr} }

func (v *vendors) cxEmails() []string {
	var out []string
	for _, c := range v.cx.Contacts() {
		out = append(out, strings.ToLower(c.Email))
	}
	return out
}

func (v *vendors) cxDomains() []string {
	var out []string
	for _, d := range v.cx.Domains() {
		out = append(out, d.Domain)
	}
	return out
}

func (v *vendors) ocContacts() []string {
	var out []string
	for _, e := range v.oc.Blocked() {
		out = append(out, e.Contact)
	}
	return out
}

// posts counts v's POST requests to path with status (0: any).
func posts(reqs []opencxtest.Request, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Method == "POST" && r.Path == path {
			n++
		}
	}
	return n
}

// TestVendors_PushPull: emails, phones and domains go to the vendors that
// take them; each vendor's list comes into the guard with the vendor as
// source; pulled blocks are mirrored to the other vendor, never echoed.
func TestVendors_PushPull(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		ctx := t.Context()

		block(t, g, "Ann@Example.com")
		block(t, g, "+1 202 555 0100")
		block(t, g, "spam.example")
		block(t, g, "junk.example")  // batched with spam.example
		block(t, g, "ann@пример.рф") // OpenCX's pattern refuses it; Ocamba takes it
		v.cx.Seed(opencxtest.Contact{Email: "Cx@Example.org", PhoneNumber: "+12025550111", Reason: "cx says"})
		v.oc.Seed(ocambatest.Entry{Contact: "+12025550122", Description: "oc says"},
			ocambatest.Entry{Contact: "oc@example.net"})

		e := newEngine(t, g, v.remotes())
		rep := syncOnce(t, e) // pushes local blocks, pulls the vendors'
		cx, oc := rep.Remotes[0], rep.Remotes[1]
		// The remotes run in parallel: one may already push what the
		// other pulled (one more for each).
		if cx.Pushed < 3 || cx.Pushed > 4 || cx.DeadLettered != 1 || cx.Pulled != 2 {
			t.Errorf("opencx report = %+v, want 3 (or 4) pushed, 1 dead-lettered, 2 pulled", cx)
		}
		if oc.Pushed < 3 || oc.Pushed > 5 || oc.Pulled != 2 {
			t.Errorf("ocamba report = %+v, want 3 (to 5) pushed, 2 pulled", oc)
		}
		rep = syncOnce(t, e) // mirrors what was pulled
		if p := rep.Pending(); p != 0 {
			t.Fatalf("%d pending", p)
		}

		for _, c := range []struct{ in, source, reason string }{
			{"cx@example.org", "opencx", "cx says"},
			{"+12025550111", "opencx", "cx says"},
			{"+12025550122", "ocamba", "oc says"},
			{"oc@example.net", "ocamba", "listed by ocamba"},
		} {
			if v := blocked(t, g, c.in); !v.Blocked || v.Source != c.source || v.Reason != c.reason {
				t.Errorf("%s: verdict %+v, want blocked from %s (%q)", c.in, v, c.source, c.reason)
			}
		}
		if got, want := sorted(v.cxEmails()), []string{"ann@example.com", "cx@example.org", "oc@example.net"}; !slices.Equal(got, want) {
			t.Errorf("opencx lists %q, want %q", got, want)
		}
		if got, want := sorted(v.cxDomains()), []string{"junk.example", "spam.example"}; !slices.Equal(got, want) {
			t.Errorf("opencx domains %q, want %q", got, want)
		}
		if n := posts(v.cx.Requests(), opencx.DomainsPath); n != 1 {
			t.Errorf("%d domain requests, want 1 batch", n)
		}
		want := sorted([]string{"+12025550122", "oc@example.net", // seeded
			"ann@example.com", "+12025550100", "ann@xn--e1afmkfd.xn--p1ai", // local
			"cx@example.org", "+12025550111"}) // mirrored from OpenCX
		if got := sorted(v.ocContacts()); !slices.Equal(got, want) {
			t.Errorf("ocamba lists %q, want %q", got, want)
		}
		if d1, d2 := v.cx.Duplicates(), v.oc.Duplicates(); d1+d2 != 0 {
			t.Errorf("duplicates at the vendors: opencx %d, ocamba %d (an echo?)", d1, d2)
		}
		dl, err := g.Replication().DeadLetters(ctx, blocksync.Consumer("opencx"))
		if err != nil || len(dl) != 1 || !strings.Contains(dl[0].Reason, "pattern") {
			t.Errorf("opencx dead letters = %+v, %v; want the IDN email, for the pattern", dl, err)
		}
		st, err := e.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Requests == 0 || s.Pending != 0 || s.Lag != 0 || s.LastError != "" {
				t.Errorf("stats %+v", s)
			}
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestOpenCX_Pagination: a full scan of many pages at OpenCX's pace, with
// every entry applied, and the page-size parameter named as configured.
func TestOpenCX_Pagination(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true,
			cx:  opencxtest.Options{PageSizeParam: "per_page"},
			cxc: opencx.Config{PageSize: 30, PageSizeParam: "per_page"}})
		defer v.close()
		const n = 1000
		for i := range n {
			v.cx.Seed(opencxtest.Contact{Email: emailN(i)})
		}
		e := newEngine(t, g, []blocksync.Remote{v.cxr})
		start := time.Now()
		if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != n {
			t.Fatalf("pulled %d, want %d", rr.Pulled, n)
		}
		gets := 0
		for _, r := range v.cx.Requests() {
			if r.Method == "GET" {
				gets++
				if r.Query.Get("per_page") != "30" {
					t.Fatalf("query %q lacks per_page=30", r.RawQuery)
				}
			}
		}
		if want := (n + 29) / 30; gets != want {
			t.Fatalf("%d pages fetched, want %d", gets, want)
		}
		if v.cx.RateViolations() != 0 || v.cx.MaxRate() > 100 {
			t.Fatalf("rate: %d violations, max %d/min", v.cx.RateViolations(), v.cx.MaxRate())
		}
		t.Logf("%d pages in %v of fake time", gets, time.Since(start))
		allBlocked(t, g, n)
	})
}

// TestOcamba_Incremental: a pull asks only for entries created since the
// watermark minus the overlap, and entries read twice are not applied
// twice.
func TestOcamba_Incremental(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true, occ: ocamba.Config{PageSize: 20},
			oco: blocksync.OcambaOptions{Overlap: 2 * time.Minute}})
		defer v.close()
		for i := range 50 {
			v.oc.Seed(ocambatest.Entry{Contact: phoneN(i)})
		}
		e := newEngine(t, g, []blocksync.Remote{v.ocr})
		if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != 50 {
			t.Fatalf("first pull: %+v, want 50 pulled", rr)
		}
		// Each later pull starts at the latest create_time applied minus
		// the overlap; entries read again are known by id.
		for i, n := range []int{5, 1, 0} {
			mark := v.oc.Blocked()[len(v.oc.Blocked())-1].CreateTime
			time.Sleep(10 * time.Minute)
			for j := range n {
				v.oc.Seed(ocambatest.Entry{Contact: phoneN(100*i + j + 100)})
			}
			before := len(v.oc.Requests())
			if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != n || rr.Duplicates != 0 {
				t.Fatalf("pull %d: %+v, want %d pulled", i+2, rr, n)
			}
			reqs := v.oc.Requests()[before:]
			q := reqs[0].Query
			if got, want := q.Get("create_time"), "rl:"+mark.Add(-2*time.Minute).UTC().Format(time.DateTime); got != want {
				t.Errorf("pull %d: create_time = %q, want %q", i+2, got, want)
			}
			if q.Get("sort") != "create_time" || q.Get("read_gdpr_fields") != "true" || q.Get("page") != "1,20" {
				t.Errorf("pull %d: query %q", i+2, reqs[0].RawQuery)
			}
			if i > 0 && len(reqs) != 1 {
				t.Errorf("pull %d: %d requests, want 1 (only the overlap and the new entries)", i+2, len(reqs))
			}
		}
		if n := len(v.oc.Requests()); n != 3+3+1+1 {
			t.Errorf("%d requests in all, want 8", n)
		}
	})
}

// TestOcamba_ShortE164: E.164 sets no minimum length; short numbers the
// normalizer takes (Niue, Tokelau, St Helena) are pushed to Ocamba, not
// dead-lettered.
func TestOcamba_ShortE164(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		want := []string{"+2902222", "+6834002", "+6902123"}
		for _, p := range want {
			block(t, g, p)
		}
		e := newEngine(t, g, []blocksync.Remote{v.ocr})
		if rr := syncOnce(t, e).Remotes[0]; rr.Pushed != 3 || rr.DeadLettered != 0 {
			t.Fatalf("report %+v, want 3 pushed, none dead-lettered", rr)
		}
		if got := sorted(v.ocContacts()); !slices.Equal(got, want) {
			t.Fatalf("ocamba lists %q, want %q", got, want)
		}
	})
}

// TestOcamba_DocumentedExampleIsInvalid: Ocamba's documented example
// number, "+1234567890", is not a possible US number: a pull counts it as
// invalid and does not block it (on purpose; see Counts.Invalid).
func TestOcamba_DocumentedExampleIsInvalid(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		v.oc.Seed(ocambatest.Entry{Contact: "+1234567890"})
		e := newEngine(t, g, []blocksync.Remote{v.ocr})
		if rr := syncOnce(t, e).Remotes[0]; rr.Invalid != 1 || rr.Pulled != 0 {
			t.Fatalf("report %+v, want 1 invalid, none pulled", rr)
		}
		if n, _ := countEntries(t, g); n != 0 {
			t.Fatalf("store holds %d entries", n)
		}
	})
}

func phoneN(i int) string { return fmt.Sprintf("+1202555%04d", i) }

// TestOcamba_Masking: masked entries the engine pushed are known by id;
// others are skipped and counted, never keys.
func TestOcamba_Masking(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true, oc: ocambatest.Options{Masking: ocambatest.MaskAlways}})
		defer v.close()
		block(t, g, "ann@example.com")
		v.oc.Seed(ocambatest.Entry{Contact: "+12025550100"})
		e := newEngine(t, g, []blocksync.Remote{v.ocr})
		rr := syncOnce(t, e).Remotes[0]
		if rr.Pushed != 1 || rr.SkippedMasked != 1 || rr.Pulled != 0 || rr.Invalid != 0 {
			t.Fatalf("report = %+v, want 1 pushed, 1 skipped masked", rr)
		}
		if blocked(t, g, "+12025550100").Blocked {
			t.Fatal("a masked entry was applied")
		}
		if n, _ := countEntries(t, g); n != 1 {
			t.Fatalf("store holds %d entries, want 1", n)
		}
	})
}

// TestVendors_Unauthorized: a wrong token stops the pass without dead
// letters; the records wait.
func TestVendors_Unauthorized(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true,
			cxc: opencx.Config{Token: "wrong-token"}, occ: ocamba.Config{Token: "wrong-token"}})
		defer v.close()
		block(t, g, "ann@example.com")
		e := newEngine(t, g, v.remotes())
		rep, err := e.SyncOnce(t.Context())
		if err == nil {
			t.Fatal("no error")
		}
		for _, rr := range rep.Remotes {
			if rr.Pending != 1 || rr.DeadLettered != 0 || rr.Err == nil || !errors.Is(rr.Err, blocksync.ErrUnauthorized) {
				t.Errorf("report %+v, want 1 pending, an unauthorized error", rr)
			}
			if strings.Contains(rr.Err.Error(), "wrong-token") {
				t.Errorf("error %q shows the token", rr.Err)
			}
		}
		st, _ := e.Stats(t.Context())
		for _, s := range st {
			if s.LastError == "" || s.DeadLetters != 0 || s.Pending != 1 {
				t.Errorf("stats %+v", s)
			}
		}
	})
}

// TestVendors_Pull400: a list request answered 400 is sent once per pass
// (the vendors say not to retry a 400); the error is reported, and the
// next pass asks again.
func TestVendors_Pull400(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		bad := opencxtest.Faults{Method: "GET", ServerError: opencxtest.Fault{Prob: 1}, ServerErrorStatus: http.StatusBadRequest}
		v.cx.SetFaults(bad)
		v.oc.SetFaults(bad)
		e := newEngine(t, g, v.remotes())
		for pass := 1; pass <= 2; pass++ {
			rep, err := e.SyncOnce(t.Context())
			if err == nil {
				t.Fatalf("pass %d: no error", pass)
			}
			for _, rr := range rep.Remotes {
				if rr.Err == nil || !strings.Contains(rr.Err.Error(), "400") || rr.Retries != 0 {
					t.Errorf("pass %d: report %+v, want a 400 error and no retries", pass, rr)
				}
			}
			for name, reqs := range map[string][]opencxtest.Request{"opencx": v.cx.Requests(), "ocamba": v.oc.Requests()} {
				gets := 0
				for _, r := range reqs {
					if r.Method == "GET" {
						gets++
						if r.Status != http.StatusBadRequest {
							t.Errorf("%s: GET answered %d", name, r.Status)
						}
					}
				}
				if gets != pass {
					t.Errorf("%s: %d list requests after %d passes, want one a pass", name, gets, pass)
				}
				if s := remoteStats(t, e, name); !strings.Contains(s.LastError, "400") {
					t.Errorf("%s: last error %q", name, s.LastError)
				}
			}
		}
	})
}

// TestRun_VendorLatency: under Run, a local block reaches OpenCX within a
// second.
func TestRun_VendorLatency(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		e := newEngine(t, g, v.remotes())
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		block(t, g, "ann@example.com")
		time.Sleep(time.Second)
		synctest.Wait()
		if got := v.cxEmails(); !slices.Equal(got, []string{"ann@example.com"}) {
			t.Errorf("opencx lists %q a second after the block", got)
		}
		if got := v.ocContacts(); !slices.Equal(got, []string{"ann@example.com"}) {
			t.Errorf("ocamba lists %q a second after the block", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestFaults: every fault kind of the fakes, alone and mixed, over 600
// local blocks and 60 remote ones: in the end every block is at the
// vendors that take it and in the guard, no request broke the vendors'
// rates, nothing was dropped or dead-lettered, and duplicates are counted.
func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults opencxtest.Faults
	}{
		{"server_error", opencxtest.Faults{ServerError: opencxtest.Fault{Prob: 0.2}, ServerErrorStatus: 503, Applied: 0.5}},
		{"slow", opencxtest.Faults{Slow: opencxtest.Fault{Prob: 0.1}, SlowDelay: 40 * time.Second}},
		{"reset", opencxtest.Faults{Reset: opencxtest.Fault{Prob: 0.2}, Applied: 0.5}},
		{"truncated", opencxtest.Faults{Truncated: opencxtest.Fault{Prob: 0.2}}},
		{"malformed", opencxtest.Faults{Malformed: opencxtest.Fault{Prob: 0.2}}},
		{"schema", opencxtest.Faults{Schema: opencxtest.Fault{Prob: 0.2}}},
		{"mixed", opencxtest.Faults{
			ServerError: opencxtest.Fault{Prob: 0.05}, Slow: opencxtest.Fault{Prob: 0.03},
			Reset: opencxtest.Fault{Prob: 0.05}, Truncated: opencxtest.Fault{Prob: 0.05},
			Malformed: opencxtest.Fault{Prob: 0.05}, Schema: opencxtest.Fault{Prob: 0.05},
			SlowDelay: 40 * time.Second, Applied: 0.5,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runFaults(t, c.faults) })
		})
	}
}

func runFaults(t *testing.T, f opencxtest.Faults) {
	g := openGuard(t)
	defer g.Close()
	// Both fakes store a duplicate create as a second entry, so that a
	// pull can see it.
	v := startVendors(t, vendorConfig{inMemory: true, noReplay: true,
		cx:  opencxtest.Options{Duplicates: opencxtest.AddRow},
		oc:  ocambatest.Options{Duplicates: ocambatest.AddRow},
		cxc: opencx.Config{Timeout: 20 * time.Second},
		occ: ocamba.Config{Timeout: 20 * time.Second}})
	defer v.close()
	f.Seed = 42
	v.cx.SetFaults(f)
	v.oc.SetFaults(f)

	var wantCx, wantDomains, wantOc []string
	for i := range 500 {
		c := block(t, g, emailN(i))
		wantCx, wantOc = append(wantCx, c.Value), append(wantOc, c.Value)
	}
	for i := range 80 {
		wantOc = append(wantOc, block(t, g, phoneN(i)).Value)
	}
	for i := range 20 {
		wantDomains = append(wantDomains, block(t, g, fmt.Sprintf("spam%d.example", i)).Value)
	}
	var seeded []string
	for i := range 30 {
		e := fmt.Sprintf("cx%d@example.org", i)
		v.cx.Seed(opencxtest.Contact{Email: e})
		p := phoneN(1000 + i)
		v.oc.Seed(ocambatest.Entry{Contact: p})
		seeded = append(seeded, e, p)
		wantOc = append(wantOc, e) // mirrored
	}

	e := newEngine(t, g, v.remotes(), blocksync.WithBackoff(time.Second, 30*time.Second))
	start := time.Now()
	var total [2]blocksync.Counts
	passes, quiet := 0, 0
	// Until nothing is pending and a clean pass has pulled what the one
	// before pushed (the mirrored blocks).
	for ; quiet < 2; passes++ {
		if passes == 30 {
			t.Fatalf("not done after %d passes", passes)
		}
		rep, err := e.SyncOnce(t.Context())
		for i, rr := range rep.Remotes {
			total[i] = addCounts(total[i], rr.Counts)
		}
		if err == nil && rep.Pending() == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	t.Logf("%d passes, %v of fake time; faults fired: opencx %v, ocamba %v",
		passes, time.Since(start).Round(time.Second), v.cx.FaultCounts(), v.oc.FaultCounts())

	for _, fc := range []map[opencxtest.FaultKind]int{v.cx.FaultCounts(), v.oc.FaultCounts()} {
		if len(fc) == 0 {
			t.Fatal("no fault fired")
		}
	}

	// Every block is at the vendor (dead letters would show here).
	if missing := missingFrom(v.cxEmails(), wantCx); len(missing) > 0 {
		t.Errorf("opencx lacks %d emails, e.g. %q", len(missing), missing[0])
	}
	if missing := missingFrom(v.cxDomains(), wantDomains); len(missing) > 0 {
		t.Errorf("opencx lacks %d domains, e.g. %q", len(missing), missing[0])
	}
	if missing := missingFrom(v.ocContacts(), wantOc); len(missing) > 0 {
		t.Errorf("ocamba lacks %d contacts, e.g. %q", len(missing), missing[0])
	}
	for _, s := range seeded {
		if !blocked(t, g, s).Blocked {
			t.Errorf("remote block %s not pulled", s)
		}
	}
	dl, err := g.Replication().DeadLetters(t.Context(), "")
	if err != nil || len(dl) != 0 {
		t.Errorf("%d dead letters (%v): a fault dropped a record", len(dl), err)
	}

	// No request broke a vendor's rate.
	if n := v.cx.RateViolations(); n != 0 || v.cx.MaxRate() > opencx.DefaultRequestsPerMinute {
		t.Errorf("opencx: %d rate violations, max %d a minute", n, v.cx.MaxRate())
	}
	ps, pm := v.oc.MaxRate()
	if n := v.oc.RateViolations(); n != 0 || ps > ocamba.DefaultRequestsPerSecond || pm > ocamba.DefaultRequestsPerMinute {
		t.Errorf("ocamba: %d rate violations, max %d a second, %d a minute", n, ps, pm)
	}

	// Duplicates: at least once. Every extra entry at a vendor comes from
	// a resend, and the engine saw each in its pulls.
	extraCx := len(v.cxEmails()) - len(unique(v.cxEmails()))
	extraOc := len(v.ocContacts()) - len(unique(v.ocContacts()))
	t.Logf("opencx: %d duplicate entries (fake counted %d repeated blocks), engine: %d duplicates, %d resent, %d retries",
		extraCx, v.cx.Duplicates(), total[0].Duplicates, total[0].Resent, total[0].Retries)
	t.Logf("ocamba: %d duplicate entries (fake counted %d repeated creates), engine: %d duplicates, %d resent, %d retries",
		extraOc, v.oc.Duplicates(), total[1].Duplicates, total[1].Resent, total[1].Retries)
	if extraCx > total[0].Resent || extraOc > total[1].Resent {
		t.Errorf("more duplicate entries than resends: opencx %d > %d or ocamba %d > %d",
			extraCx, total[0].Resent, extraOc, total[1].Resent)
	}
	if total[0].Duplicates != extraCx || total[1].Duplicates != extraOc {
		t.Errorf("engine counted %d and %d duplicates, the vendors hold %d and %d",
			total[0].Duplicates, total[1].Duplicates, extraCx, extraOc)
	}
}

func addCounts(a, b blocksync.Counts) blocksync.Counts {
	a.Pushed += b.Pushed
	a.Pulled += b.Pulled
	a.SkippedMasked += b.SkippedMasked
	a.SkippedUnblocked += b.SkippedUnblocked
	a.Invalid += b.Invalid
	a.DeadLettered += b.DeadLettered
	a.Duplicates += b.Duplicates
	a.Resent += b.Resent
	a.Retries += b.Retries
	a.WaitsCapped += b.WaitsCapped
	a.AlreadyListed += b.AlreadyListed
	return a
}

func missingFrom(have, want []string) []string {
	set := make(map[string]bool, len(have))
	for _, h := range have {
		set[h] = true
	}
	var out []string
	for _, w := range want {
		if !set[w] {
			out = append(out, w)
		}
	}
	return out
}

func unique(s []string) []string {
	s = sorted(s)
	return slices.Compact(s)
}

// TestFaults_RateLimited: a vendor that limits harder than the client
// paces answers 429 with Retry-After; the engine waits at least as asked
// and delivers everything.
func TestFaults_RateLimited(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true, cx: opencxtest.Options{RequestsPerMinute: 30, RetryAfter: true}})
		defer v.close()
		var want []string
		for i := range 100 {
			want = append(want, block(t, g, emailN(i)).Value)
		}
		e := newEngine(t, g, []blocksync.Remote{v.cxr}, blocksync.WithBackoff(100*time.Millisecond, time.Minute))
		if p := syncOnce(t, e).Pending(); p != 0 {
			t.Fatalf("%d pending", p)
		}
		if m := missingFrom(v.cxEmails(), want); len(m) > 0 {
			t.Fatalf("opencx lacks %d", len(m))
		}
		reqs := v.cx.Requests()
		limited := 0
		for i, r := range reqs[:len(reqs)-1] {
			if r.Status != http.StatusTooManyRequests {
				continue
			}
			limited++
			// The fake sends Retry-After in whole seconds, at least 1.
			if gap := reqs[i+1].Time.Sub(r.Time); gap < time.Second {
				t.Errorf("request %d came %v after a 429 with Retry-After", i+1, gap)
			}
		}
		if limited == 0 {
			t.Fatal("no 429")
		}
		if s := remoteStats(t, e, "opencx"); s.RateLimited != uint64(limited) || s.Requests != uint64(len(reqs)) {
			t.Errorf("stats %+v: want %d requests, %d limited", s, len(reqs), limited)
		}
	})
}

// TestOcamba_WaitInFlight: a 429 with Retry-After: -1 (Ocamba's parallel
// limit) is retried once the request in flight has finished.
func TestOcamba_WaitInFlight(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true, oc: ocambatest.Options{MaxInFlight: 1},
			occ: ocamba.Config{MaxInFlight: 2}})
		defer v.close()
		v.oc.SetFaults(ocambatest.Faults{Method: "GET", Slow: ocambatest.Fault{Next: 1}, SlowDelay: 20 * time.Second})
		block(t, g, "ann@example.com")
		// Someone else uses the client: a slow list is in flight.
		listed := make(chan error, 1)
		go func() {
			_, err := v.occ.ListBlockedContacts(context.Background(), ocamba.ListQuery{})
			listed <- err
		}()
		synctest.Wait()
		e := newEngine(t, g, []blocksync.Remote{v.ocr}, blocksync.WithBackoff(100*time.Millisecond, time.Minute))
		start := time.Now()
		rr := syncOnce(t, e).Remotes[0]
		if err := <-listed; err != nil {
			t.Fatal(err)
		}
		if rr.Pushed != 1 || rr.Retries == 0 {
			t.Fatalf("report %+v, want 1 pushed after a retry", rr)
		}
		if n := v.oc.InFlightRejections(); n != 1 {
			t.Fatalf("%d answers for the parallel limit, want 1: the retry waits for the request in flight", n)
		}
		var pushedAt time.Time
		for _, r := range v.oc.Requests() {
			if r.Method == "POST" && r.Status == http.StatusCreated {
				pushedAt = r.Time
			}
		}
		if d := pushedAt.Sub(start); d < 20*time.Second || d > 21*time.Second {
			t.Fatalf("pushed %v after the start, want just after the slow request (20s)", d)
		}
	})
}

// TestRun_PushesDuringLongPull: a local block made while a long full scan
// of OpenCX is under way reaches OpenCX within about a second, between two
// pages, not after the scan.
func TestRun_PushesDuringLongPull(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		for i := range 4000 {
			v.cx.Seed(opencxtest.Contact{Email: fmt.Sprintf("cx%d@example.org", i)})
		}
		e := newEngine(t, g, []blocksync.Remote{v.cxr})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		time.Sleep(10 * time.Second) // the scan of 40 pages takes about 18s
		synctest.Wait()
		block(t, g, "ann@example.com")
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if m := missingFrom(v.cxEmails(), []string{"ann@example.com"}); len(m) > 0 {
			t.Fatal("the local block waits for the scan")
		}
		gets := 0
		for _, r := range v.cx.Requests() {
			if r.Method == "GET" {
				gets++
			}
		}
		if gets >= 40 {
			t.Fatalf("the scan was over (%d pages) before the block: the test proves nothing", gets)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestVendors_PushEndpointUnavailable: a redirect, 404 or 405 answered to
// a push (a gateway during a vendor's deploy, a wrong base URL) stops the
// pass with ErrUnavailable and keeps every record pending: nothing is
// dead-lettered, and the records reach the vendor once it answers again.
func TestVendors_PushEndpointUnavailable(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusNotFound, http.StatusMethodNotAllowed} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			inBubble(t, func(t *testing.T, g *guard.Guard) {
				v := startVendors(t, vendorConfig{inMemory: true})
				defer v.close()
				const n = 5
				for i := range n {
					block(t, g, emailN(i))
				}
				down := opencxtest.Faults{Method: "POST", ServerError: opencxtest.Fault{Prob: 1}, ServerErrorStatus: status}
				v.cx.SetFaults(down)
				v.oc.SetFaults(down)
				e := newEngine(t, g, v.remotes())
				rep, err := e.SyncOnce(t.Context())
				if !errors.Is(err, blocksync.ErrUnavailable) {
					t.Fatalf("SyncOnce error = %v, want ErrUnavailable", err)
				}
				for _, rr := range rep.Remotes {
					if rr.Pending != n || rr.DeadLettered != 0 || !errors.Is(rr.Err, blocksync.ErrUnavailable) {
						t.Errorf("report %+v, want %d pending, none dead-lettered, ErrUnavailable", rr, n)
					}
				}
				if dl, err := g.Replication().DeadLetters(t.Context(), ""); err != nil || len(dl) != 0 {
					t.Fatalf("%d dead letters (%v), want none", len(dl), err)
				}
				// The pass stopped at the first answer: one POST each.
				if p := posts(v.cx.Requests(), opencx.ContactsPath); p != 1 {
					t.Errorf("opencx: %d POSTs, want 1", p)
				}
				if p := posts(v.oc.Requests(), ocamba.BlockedContactsPath); p != 1 {
					t.Errorf("ocamba: %d POSTs, want 1", p)
				}
				for _, name := range []string{"opencx", "ocamba"} {
					if s := remoteStats(t, e, name); !strings.Contains(s.LastError, strconv.Itoa(status)) {
						t.Errorf("%s: last error %q, want the status", name, s.LastError)
					}
				}
				// The vendor is back: everything is delivered.
				v.cx.SetFaults(opencxtest.Faults{})
				v.oc.SetFaults(opencxtest.Faults{})
				if p := syncOnce(t, e).Pending(); p != 0 {
					t.Fatalf("%d pending after the vendor came back", p)
				}
				if got := len(v.cxEmails()); got != n {
					t.Errorf("opencx lists %d, want %d", got, n)
				}
				if got := len(v.ocContacts()); got != n {
					t.Errorf("ocamba lists %d, want %d", got, n)
				}
			})
		})
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestVendors_RetryAfterCapped: a 429 with "Retry-After: 999999999" (and
// an Ocamba "X-RateLimit-Reset: 999999999" with nothing remaining) holds
// neither the engine nor the clients for years: the wait is cut to the
// maximum (WithMaxWait, the clients' MaxRetryAfter), counted and the
// record delivered after it.
func TestVendors_RetryAfterCapped(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		var mu gosync.Mutex
		limited := map[string]bool{}
		v := startVendors(t, vendorConfig{inMemory: true, wrap: func(next http.RoundTripper) http.RoundTripper {
			return roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				first := r.Method == "POST" && !limited[r.URL.Host]
				limited[r.URL.Host] = limited[r.URL.Host] || first
				mu.Unlock()
				if first {
					return &http.Response{StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests",
						Header: http.Header{"Retry-After": {"999999999"}}, Body: http.NoBody, Request: r}, nil
				}
				resp, err := next.RoundTrip(r)
				if err == nil && strings.HasPrefix(r.URL.Path, "/v1/hood") {
					resp.Header.Set("X-RateLimit-Remaining", "0")
					resp.Header.Set("X-RateLimit-Reset", "999999999")
				}
				return resp, err
			})
		}})
		defer v.close()
		block(t, g, "ann@example.com")
		block(t, g, "bob@example.com")
		e := newEngine(t, g, v.remotes(), blocksync.WithMaxWait(time.Hour))
		start := time.Now()
		// Without the cap, the pass gives up at once: the wait would pass
		// the deadline.
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Hour)
		defer cancel()
		rep, err := e.SyncOnce(ctx)
		if err != nil {
			t.Fatalf("SyncOnce: %v", err)
		}
		took := time.Since(start)
		if took < time.Hour || took > time.Hour+10*time.Minute {
			t.Fatalf("the pass took %v of fake time, want just over the 1h maximum", took)
		}
		for _, rr := range rep.Remotes {
			if rr.Pushed != 2 || rr.Pending != 0 || rr.WaitsCapped != 1 {
				t.Errorf("report %+v, want 2 pushed, 1 wait capped", rr)
			}
		}
		for _, name := range []string{"opencx", "ocamba"} {
			if s := remoteStats(t, e, name); s.WaitsCapped != 1 {
				t.Errorf("%s: stats WaitsCapped = %d, want 1", name, s.WaitsCapped)
			}
		}
	})
}

// TestVendors_OtherBlockNotAnEcho: a contact blocked here with an expiry
// is pushed; later someone else blocks the same contact at the vendor (a
// new entry, created before the expiry). That entry is not the engine's
// echo: it is applied, and the contact stays blocked once the local block
// has lapsed. At Ocamba the engine knows its own entry by the id it was
// given; OpenCX gives no id, and its own entry is the one created within
// the push's window.
func TestVendors_OtherBlockNotAnEcho(t *testing.T) {
	for _, vendor := range []string{"ocamba", "opencx"} {
		t.Run(vendor, func(t *testing.T) {
			inBubble(t, func(t *testing.T, g *guard.Guard) {
				v := startVendors(t, vendorConfig{inMemory: true})
				defer v.close()
				remote, listed := blocksync.Remote(v.ocr), v.ocContacts
				someoneElse := func() { v.oc.Seed(ocambatest.Entry{Contact: "ann@example.com", Description: "complained"}) }
				if vendor == "opencx" {
					remote, listed = v.cxr, v.cxEmails
					someoneElse = func() { v.cx.Seed(opencxtest.Contact{Email: "ann@example.com", Reason: "complained"}) }
				}
				block(t, g, "ann@example.com", guard.WithExpiry(20*time.Minute))
				block(t, g, "bob@example.com", guard.WithExpiry(20*time.Minute)) // nobody else blocks bob
				e := newEngine(t, g, []blocksync.Remote{remote})
				syncOnce(t, e)
				syncOnce(t, e) // pulls our own pushes (OpenCX's full scan, Ocamba's overlap)
				if got := sorted(listed()); !slices.Equal(got, []string{"ann@example.com", "bob@example.com"}) {
					t.Fatalf("%s lists %q", vendor, got)
				}
				for _, who := range []string{"ann@example.com", "bob@example.com"} {
					if v := blocked(t, g, who); !v.Blocked || v.ExpiresAt.IsZero() {
						t.Fatalf("%s after pulling our own push: %+v, want the expiring local block", who, v)
					}
				}

				// Five minutes later, someone else blocks ann at the vendor.
				time.Sleep(5 * time.Minute)
				someoneElse()
				if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != 1 {
					t.Errorf("report %+v, want 1 pulled", rr)
				}

				// Twenty minutes later our blocks have lapsed; the vendor
				// still lists ann for someone else: she stays blocked.
				// bob, listed only by our own push, is free.
				time.Sleep(20 * time.Minute)
				syncOnce(t, e)
				if v := blocked(t, g, "ann@example.com"); !v.Blocked || !v.ExpiresAt.IsZero() || v.Source != vendor {
					t.Fatalf("ann after our block lapsed: %+v, want blocked for good from %s", v, vendor)
				}
				if v := blocked(t, g, "bob@example.com"); v.Blocked {
					t.Fatalf("bob after our block lapsed: %+v, want allowed", v)
				}
			})
		})
	}
}

// TestVendors_ReblockNotPushedAgain: neither vendor can unblock, so a
// contact blocked and unblocked again and again (or whose expiring block
// lapses and is blocked again) is pushed once: each vendor holds at most
// one entry for it, however many cycles.
func TestVendors_ReblockNotPushedAgain(t *testing.T) {
	inBubble(t, func(t *testing.T, g *guard.Guard) {
		v := startVendors(t, vendorConfig{inMemory: true})
		defer v.close()
		const n, cycles = 100, 12
		e := newEngine(t, g, v.remotes())
		ctx := t.Context()
		var total [2]blocksync.Counts
		for cycle := range cycles {
			for i := range n {
				switch {
				case i%2 == 0:
					block(t, g, emailN(i))
				default: // lapses by the next cycle
					block(t, g, emailN(i), guard.WithExpiry(time.Minute))
				}
			}
			if cycle%3 != 2 { // most cycles sync while blocked
				rep := syncOnce(t, e)
				for k, rr := range rep.Remotes {
					total[k] = addCounts(total[k], rr.Counts)
				}
			}
			for i := 0; i < n; i += 2 {
				if _, err := g.Unblock(ctx, emailN(i)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(2 * time.Minute)
			rep := syncOnce(t, e)
			for k, rr := range rep.Remotes {
				total[k] = addCounts(total[k], rr.Counts)
			}
		}
		for name, got := range map[string][]string{"opencx": v.cxEmails(), "ocamba": v.ocContacts()} {
			count := map[string]int{}
			for _, c := range got {
				count[c]++
			}
			for i := range n {
				if c := count[emailN(i)]; c != 1 {
					t.Errorf("%s lists %s %d times, want 1", name, emailN(i), c)
					break
				}
			}
		}
		t.Logf("opencx: %+v", total[0])
		t.Logf("ocamba: %+v", total[1])
		for k, c := range total {
			if c.Pushed != n || c.AlreadyListed == 0 {
				t.Errorf("remote %d: %+v, want %d pushed and the rest already listed", k, c, n)
			}
		}
	})
}

// TestOcamba_FullPull: an entry that appears at Ocamba with a create_time
// older than the watermark minus the overlap (a restore, a bulk import
// with original dates) is missed by the incremental pulls, and seen by
// the periodic full pull (WithFullPull), which asks for the whole list.
// With full pulls off, it is never seen.
func TestOcamba_FullPull(t *testing.T) {
	for _, every := range []time.Duration{2 * time.Hour, -1} {
		t.Run(fmt.Sprint(every), func(t *testing.T) {
			inBubble(t, func(t *testing.T, g *guard.Guard) {
				v := startVendors(t, vendorConfig{inMemory: true})
				defer v.close()
				for i := range 5 {
					v.oc.Seed(ocambatest.Entry{Contact: phoneN(i)})
				}
				e := newEngine(t, g, []blocksync.Remote{v.ocr}, blocksync.WithFullPull(every))
				if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != 5 {
					t.Fatalf("first pull: %+v", rr)
				}
				time.Sleep(30 * time.Minute)
				late := phoneN(99)
				v.oc.Seed(ocambatest.Entry{Contact: late, CreateTime: time.Now().Add(-72 * time.Hour)})
				before := len(v.oc.Requests())
				if rr := syncOnce(t, e).Remotes[0]; rr.Pulled != 0 {
					t.Fatalf("incremental pull: %+v, want the late entry missed", rr)
				}
				if q := v.oc.Requests()[before].Query; q.Get("create_time") == "" {
					t.Fatalf("the second pull was not incremental: %q", v.oc.Requests()[before].RawQuery)
				}
				time.Sleep(2 * time.Hour)
				before = len(v.oc.Requests())
				rr := syncOnce(t, e).Remotes[0]
				q := v.oc.Requests()[before].Query
				if every < 0 {
					if rr.Pulled != 0 || q.Get("create_time") == "" || blocked(t, g, late).Blocked {
						t.Fatalf("full pulls off: %+v, query %q", rr, q.Encode())
					}
					return
				}
				if rr.Pulled != 1 || q.Get("create_time") != "" || !blocked(t, g, late).Blocked {
					t.Fatalf("full pull: %+v, query %q; want the late entry pulled", rr, q.Encode())
				}
				// The watermark did not go back: the next pull is
				// incremental from the newest entry again.
				before = len(v.oc.Requests())
				syncOnce(t, e)
				mark := v.oc.Blocked()[4].CreateTime
				if got, want := v.oc.Requests()[before].Query.Get("create_time"), "rl:"+mark.Add(-blocksync.DefaultOverlap).UTC().Format("2006-01-02 15:04:05"); got != want {
					t.Fatalf("pull after the full pull: create_time %q, want %q", got, want)
				}
			})
		})
	}
}
