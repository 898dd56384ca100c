package main

// TO BE REPLACED: this file is serve's stand-in /metrics until
// cmd/sendguard/metrics.go (the OpenTelemetry SDK MeterProvider with the
// Prometheus exporter, and guard.WithMeterProvider) is merged. The merger
// switches server.metricsHandler to that helper and deletes what is not
// needed here; httpMetrics (requests by route and status) may stay or
// move to OTel instruments. Everything here is written in the Prometheus
// text exposition format 0.0.4 by hand, from guard.Stats and the
// compliance clock; no label ever holds a recipient.

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"
)

// httpMetrics counts requests by route pattern and status. The counters
// are found through a sync.Map and added to atomically: no lock on the
// check path.
type httpMetrics struct {
	counts gosync.Map // httpKey → *httpCount
}

type httpKey struct {
	route  string
	status int
}

type httpCount struct {
	n       atomic.Uint64
	seconds atomic.Uint64 // nanoseconds, summed
}

func newHTTPMetrics() *httpMetrics { return &httpMetrics{} }

// observe counts one request.
func (m *httpMetrics) observe(route string, status int, took time.Duration) {
	k := httpKey{route, status}
	v, ok := m.counts.Load(k)
	if !ok {
		v, _ = m.counts.LoadOrStore(k, &httpCount{})
	}
	c := v.(*httpCount)
	c.n.Add(1)
	c.seconds.Add(uint64(max(took, 0)))
}

// metricsHandler serves GET /metrics: the guard's counters, the
// compliance clock and the HTTP requests, as Prometheus text.
func (s *server) metricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		st := s.g.Stats()
		counter := func(name, help string, v uint64) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
		}
		gauge := func(name, help string, v float64) {
			fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'g', -1, 64))
		}
		counter("sendguard_checks_total", "Checks of recipients that normalized.", st.Checks)
		counter("sendguard_checks_allowed_total", "Checks that said send.", st.Allowed)
		counter("sendguard_checks_blocked_total", "Checks that said blocked.", st.Blocked)
		counter("sendguard_checks_invalid_total", "Checks of input that is not a recipient.", st.Invalid)
		counter("sendguard_filter_maybes_total", "Store look-ups after a filter maybe.", st.FilterMaybes)
		counter("sendguard_filter_false_positives_total", "Filter maybes the store answered not blocked.", st.FalsePositives)
		counter("sendguard_store_errors_total", "Look-ups that failed.", st.StoreErrors)
		counter("sendguard_blocks_total", "Blocks written by this process.", st.Blocks)
		counter("sendguard_unblocks_total", "Unblocks that removed a block.", st.Unblocks)
		counter("sendguard_imported_total", "Blocks written by import.", st.Imported)
		gauge("sendguard_domain_blocks", "Blocked domains held for the domain check.", float64(st.DomainBlocks))
		gauge("sendguard_filter_entries", "Entries in the bloom filter.", float64(st.Filter.Count))
		gauge("sendguard_filter_capacity", "Capacity of the bloom filter.", float64(st.Filter.Capacity))
		gauge("sendguard_filter_fill_ratio", "Share of the filter's bits set.", st.Filter.FillRatio)
		gauge("sendguard_filter_estimated_fp_rate", "Estimated false-positive rate of the filter.", st.Filter.EstimatedFPRate)
		gauge("sendguard_change_log_last_seq", "Sequence number of the last change-log record.", float64(st.Store.LastSeq))
		ready := 0.0
		if s.ready.Load() {
			ready = 1
		}
		gauge("sendguard_ready", "1 while serve is ready for traffic.", ready)

		cs := s.clock.Stats()
		sources := make([]string, 0, len(cs.BySource))
		for src := range cs.BySource {
			sources = append(sources, src)
		}
		slices.Sort(sources)
		b.WriteString("# HELP sendguard_optouts_total Opt-outs captured, by block source.\n# TYPE sendguard_optouts_total counter\n")
		for _, src := range sources {
			fmt.Fprintf(&b, "sendguard_optouts_total{source=%q} %d\n", src, cs.BySource[src].Count)
		}
		b.WriteString("# HELP sendguard_optout_delay_worst_seconds Longest delay between an opt-out asked and enforced, by source.\n# TYPE sendguard_optout_delay_worst_seconds gauge\n")
		for _, src := range sources {
			fmt.Fprintf(&b, "sendguard_optout_delay_worst_seconds{source=%q} %s\n", src, strconv.FormatFloat(cs.BySource[src].Worst.Seconds(), 'g', -1, 64))
		}

		type row struct {
			k httpKey
			c *httpCount
		}
		var rows []row
		s.metrics.counts.Range(func(k, v any) bool {
			rows = append(rows, row{k.(httpKey), v.(*httpCount)})
			return true
		})
		slices.SortFunc(rows, func(x, y row) int {
			if x.k.route != y.k.route {
				if x.k.route < y.k.route {
					return -1
				}
				return 1
			}
			return x.k.status - y.k.status
		})
		b.WriteString("# HELP sendguard_http_requests_total HTTP requests served, by route pattern and status.\n# TYPE sendguard_http_requests_total counter\n")
		for _, rw := range rows {
			fmt.Fprintf(&b, "sendguard_http_requests_total{route=%q,code=\"%d\"} %d\n", rw.k.route, rw.k.status, rw.c.n.Load())
		}
		b.WriteString("# HELP sendguard_http_request_seconds_total Time spent serving HTTP requests, by route pattern and status.\n# TYPE sendguard_http_request_seconds_total counter\n")
		for _, rw := range rows {
			fmt.Fprintf(&b, "sendguard_http_request_seconds_total{route=%q,code=\"%d\"} %s\n", rw.k.route, rw.k.status,
				strconv.FormatFloat(time.Duration(rw.c.seconds.Load()).Seconds(), 'g', -1, 64))
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b.Bytes())
	})
}
