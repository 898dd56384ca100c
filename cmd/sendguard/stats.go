package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/storage"
)

// stat is one figure of the stats command: a dotted name and its value (a
// number, a bool, a string or a time).
type stat struct {
	name  string
	value any
	// path, when set, is where the JSON output nests the value, for a
	// name with a part that may hold a dot (a consumer's name).
	path []string
}

// stats prints the blocklist's and the sync's figures.
func (a *app) stats(args []string) int {
	fs, c := a.flags("stats")
	asJSON := fs.Bool("json", false, "one JSON object")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return a.failf("stats: unexpected argument %q (see 'sendguard help stats')", pos[0])
	}
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	list, err := a.collectStats(g)
	if err != nil {
		return a.closeGuard(g, c, a.failf("stats: %s: %s", c.db, why(err)))
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(nest(list)); err != nil {
			return a.closeGuard(g, c, a.failf("stats: write output: %s", why(err)))
		}
		return a.closeGuard(g, c, exitOK)
	}
	for _, s := range list {
		fmt.Fprintf(a.stdout, "%s\t%s\n", s.name, field(statText(s.value)))
	}
	return a.closeGuard(g, c, exitOK)
}

// collectStats gathers the figures, in print order.
func (a *app) collectStats(g *guard.Guard) ([]stat, error) {
	n := 0
	if err := g.Scan(a.ctx, func(storage.Entry) error { n++; return nil }); err != nil {
		return nil, err
	}
	dead, err := g.Replication().DeadLetters(a.ctx, "")
	if err != nil {
		return nil, err
	}
	ls, err := g.Replication().LogStats(a.ctx)
	if err != nil {
		return nil, err
	}
	gs := g.Stats()
	f := gs.Filter
	list := []stat{
		{name: "entries", value: n},
		{name: "domains", value: gs.DomainBlocks},
		{name: "provider_folding", value: g.Normalizer().ProviderFolding()},
	}
	list = append(list, a.logStats(ls)...)
	list = append(list, []stat{
		{"dead_letters", len(dead), nil},
		{"filter.capacity", f.Capacity, nil},
		{"filter.count", f.Count, nil},
		{"filter.bits", f.Bits, nil},
		{"filter.k", f.K, nil},
		{"filter.fill_ratio", f.FillRatio, nil},
		{"filter.estimated_fp_rate", f.EstimatedFPRate, nil},
		{"filter.stale", f.Stale, nil},
		{"store.lsm_bytes", gs.Store.LSMBytes, nil},
		{"store.tables", gs.Store.Tables, nil},
	}...)
	syncList, err := a.syncStats(g)
	if err != nil {
		return nil, err
	}
	fleetList, err := a.fleetStats(g)
	if err != nil {
		return nil, err
	}
	return append(append(list, syncList...), fleetList...), nil
}

// logStats returns the change log's figures: its extent, its retention,
// the consumer that holds it back, and each consumer's offset and lag.
func (a *app) logStats(ls storage.LogStats) []stat {
	reten, _ := a.logRetention() // read without error by openGuard
	list := []stat{
		{name: "change_log.first_seq", value: ls.FirstSeq},
		{name: "change_log.last_seq", value: ls.LastSeq},
		{name: "change_log.records", value: ls.Records},
		{name: "change_log.trimmed_through", value: ls.Trimmed},
		{name: "change_log.retention", value: reten.String()},
		{name: "change_log.held_by", value: ls.HeldBy()},
	}
	names := make([]string, 0, len(ls.Offsets))
	for c := range ls.Offsets {
		names = append(names, c)
	}
	slices.Sort(names)
	for _, c := range names {
		off := ls.Offsets[c]
		list = append(list,
			stat{"change_log.consumers." + c + ".offset", off, []string{"change_log", "consumers", c, "offset"}},
			stat{"change_log.consumers." + c + ".lag", ls.LastSeq - min(off, ls.LastSeq), []string{"change_log", "consumers", c, "lag"}},
		)
	}
	return list
}

// statText formats a value for the text output.
func statText(v any) string {
	switch v := v.(type) {
	case time.Time:
		return rfc3339(v)
	case float64:
		return fmt.Sprintf("%.6g", v)
	}
	return fmt.Sprint(v)
}

// nest turns dotted names into nested JSON objects.
func nest(list []stat) map[string]any {
	root := map[string]any{}
	for _, s := range list {
		m := root
		parts := s.path
		if parts == nil {
			parts = strings.Split(s.name, ".")
		}
		for _, p := range parts[:len(parts)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		v := s.value
		if t, ok := v.(time.Time); ok {
			if t.IsZero() {
				v = nil
			} else {
				v = rfc3339(t)
			}
		}
		m[parts[len(parts)-1]] = v
	}
	return root
}
