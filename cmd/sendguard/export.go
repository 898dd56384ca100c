package main

import (
	"encoding/csv"
	"encoding/json"

	"github.com/sendguard/sendguard/storage"
)

// exportHeader is the CSV export's header line. The import finds the
// "contact" column, so an export imports back as it is.
func exportHeader() []string {
	return []string{"contact", "kind", "reason", "source", "created_at", "expires_at"}
}

// exportJSON is one line of export --format jsonl.
type exportJSON struct {
	Contact   string  `json:"contact"`
	Kind      string  `json:"kind"`
	Reason    string  `json:"reason"`
	Source    string  `json:"source"`
	CreatedAt string  `json:"created_at"`
	ExpiresAt *string `json:"expires_at"` // null: never
}

// export writes every active block to stdout.
func (a *app) export(args []string) int {
	fs, c := a.flags("export")
	format := fs.String("format", "csv", "csv or jsonl")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) > 0 {
		return a.failf("export: unexpected argument %q (see 'sendguard help export')", pos[0])
	}
	if *format != "csv" && *format != "jsonl" {
		return a.failf("export: --format %q: want csv or jsonl", *format)
	}
	// The store is opened before anything is written, so that a failed
	// export leaves no header-only "backup".
	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	var write func(e storage.Entry) error
	switch *format {
	case "csv":
		w := csv.NewWriter(a.stdout)
		if err := w.Write(exportHeader()); err != nil {
			return a.closeGuard(g, c, a.failf("export: write output: %s", why(err)))
		}
		defer w.Flush()
		write = func(e storage.Entry) error {
			return w.Write([]string{e.Contact.Value, e.Contact.Kind.String(), e.Reason, e.Source,
				rfc3339(e.CreatedAt), rfc3339(e.ExpiresAt)})
		}
	case "jsonl":
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		write = func(e storage.Entry) error {
			j := exportJSON{Contact: e.Contact.Value, Kind: e.Contact.Kind.String(),
				Reason: e.Reason, Source: e.Source, CreatedAt: rfc3339(e.CreatedAt)}
			if !e.ExpiresAt.IsZero() {
				t := rfc3339(e.ExpiresAt)
				j.ExpiresAt = &t
			}
			return enc.Encode(j)
		}
	}
	if err := g.Scan(a.ctx, write); err != nil {
		return a.closeGuard(g, c, a.failf("export: %s: %s", c.db, why(err)))
	}
	return a.closeGuard(g, c, exitOK)
}
