package main

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/optout"
	blocksync "github.com/sendguard/sendguard/sync"
	"github.com/sendguard/sendguard/sync/opencx"
	"github.com/sendguard/sendguard/sync/opencx/opencxtest"
)

// scrape GETs h's /metrics and parses the Prometheus text format.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// value returns the value of fam's sample whose labels include want.
func value(fam *dto.MetricFamily, want map[string]string) (float64, bool) {
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			if labels[k] != v {
				ok = false
			}
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// recipientLike matches what could be a recipient: an email address, a
// phone number (7 digits or more, possibly spaced), a vendor token.
var recipientLike = regexp.MustCompile(`@|\+?\d[\d ()-]{6,}|SECRET`)

// TestPromMetrics_Scrape wires a guard, a sync engine against the OpenCX
// fake and an opt-out recorder to the provider, and scrapes /metrics.
func TestPromMetrics_Scrape(t *testing.T) {
	ctx := t.Context()
	pm, err := newPromMetrics()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pm.Shutdown(ctx) }()

	g, err := guard.Open(t.TempDir(), guard.WithMeterProvider(pm.Provider))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, r := range []string{"ann@example.com", "+1 202-555-0147", "spam.test"} {
		if _, err := g.Block(ctx, r, "test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []string{"bob@example.com", "ann@example.com", "x@mail.spam.test"} {
		if _, err := g.Check(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	cx := opencxtest.NewServer(opencxtest.Options{Token: cxToken, RequestsPerMinute: -1})
	defer cx.Close()
	cxc, err := opencx.New(opencx.Config{Token: cxToken, BaseURL: cx.URL(), HTTPClient: cx.Client()})
	if err != nil {
		t.Fatal(err)
	}
	e, err := blocksync.New(g.Replication(), []blocksync.Remote{blocksync.NewOpenCX(cxc, blocksync.OpenCXOptions{})},
		blocksync.WithMeterProvider(pm.Provider))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}

	rec, err := optout.NewRecorder(g, optout.RecorderConfig{MeterProvider: pm.Provider})
	if err != nil {
		t.Fatal(err)
	}
	fb := &optout.Feedback{Type: optout.HardBounce, Recipients: []string{"gone@example.org"}, Date: time.Now().Add(-time.Minute)}
	if n, err := rec.Record(ctx, fb); n != 1 || err != nil {
		t.Fatalf("Record = %d, %v", n, err)
	}

	fams := scrape(t, pm.Handler)
	runtime.KeepAlive(e) // the engine's instruments last as long as it does
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64 // -1: any value
	}{
		{"sendguard_checks_total", map[string]string{"result": "allowed"}, 1},
		{"sendguard_checks_total", map[string]string{"result": "blocked", "match": "contact"}, 1},
		{"sendguard_checks_total", map[string]string{"result": "blocked", "match": "domain"}, 1},
		{"sendguard_filter_maybes_total", nil, 2},
		{"sendguard_filter_false_positives_total", nil, 0},
		{"sendguard_store_errors_total", nil, 0},
		{"sendguard_blocks_total", map[string]string{"source": "local"}, 3},
		{"sendguard_blocks_total", map[string]string{"source": "bounce"}, 1},
		{"sendguard_entries", nil, 4},
		{"sendguard_domains", nil, 1},
		{"sendguard_filter_fill_ratio", nil, -1},
		{"sendguard_filter_false_positive_rate_ratio", nil, -1},                        // the exporter adds _ratio for unit "1"
		{"sendguard_changelog_lag", map[string]string{"consumer": "remote/opencx"}, 1}, // the bounce came after the pass
		{"sendguard_sync_requests_total", map[string]string{"remote": "opencx"}, -1},
		{"sendguard_sync_rate_limited_total", map[string]string{"remote": "opencx"}, 0},
		{"sendguard_sync_pushed_total", map[string]string{"remote": "opencx"}, 2},
		{"sendguard_sync_pulled_total", map[string]string{"remote": "opencx"}, 0},
		{"sendguard_sync_retries_total", map[string]string{"remote": "opencx"}, 0},
		{"sendguard_sync_dead_lettered_total", map[string]string{"remote": "opencx"}, 0},
		{"sendguard_sync_dead_letters", map[string]string{"remote": "opencx"}, 0},
		{"sendguard_sync_pending", map[string]string{"remote": "opencx"}, 1},
		{"sendguard_sync_last_success_seconds", map[string]string{"remote": "opencx"}, -1},
		{"sendguard_optout_captured_total", map[string]string{"channel": "bounce"}, 1},
		{"sendguard_optout_delay_seconds", map[string]string{"channel": "bounce"}, 1},
	} {
		fam, ok := fams[c.name]
		if !ok {
			t.Errorf("%s missing", c.name)
			continue
		}
		got, ok := value(fam, c.labels)
		if !ok || (c.want >= 0 && got != c.want) {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if v, _ := value(fams["sendguard_sync_last_success_seconds"], nil); time.Since(time.Unix(int64(v), 0)) > time.Minute {
		t.Errorf("last success %v is not a recent Unix time", v)
	}

	for name, fam := range fams {
		if name == "target_info" {
			if v, _ := value(fam, map[string]string{"service_name": "sendguard"}); v != 1 {
				t.Errorf("target_info does not name the service sendguard")
			}
			continue
		}
		if !strings.HasPrefix(name, "sendguard_") {
			t.Errorf("metric %s is not a sendguard_ metric", name)
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.HasPrefix(l.GetName(), "otel_scope") {
					continue // the instrumentation scope: a Go import path
				}
				if recipientLike.MatchString(l.GetValue()) {
					t.Errorf("%s: label %s=%q looks like a recipient or a token", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
}
