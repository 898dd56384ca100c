package main

import (
	"encoding/json"
	"fmt"
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
	gs := g.Stats()
	f := gs.Filter
	list := []stat{
		{"entries", n},
		{"domains", gs.DomainBlocks},
		{"provider_folding", g.Normalizer().ProviderFolding()},
		{"change_log.last_seq", gs.Store.LastSeq},
		{"dead_letters", len(dead)},
		{"filter.capacity", f.Capacity},
		{"filter.count", f.Count},
		{"filter.bits", f.Bits},
		{"filter.k", f.K},
		{"filter.fill_ratio", f.FillRatio},
		{"filter.estimated_fp_rate", f.EstimatedFPRate},
		{"filter.stale", f.Stale},
		{"store.lsm_bytes", gs.Store.LSMBytes},
		{"store.tables", gs.Store.Tables},
	}
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
		parts := strings.Split(s.name, ".")
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
