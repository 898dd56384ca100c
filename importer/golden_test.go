package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/importer"
)

// want is one block a golden file must give.
type want struct {
	contact string // as Check reads it
	reason  string
	created string // RFC 3339, UTC
}

// goldens are peers' exports, written in each peer's documented shape
// (headers or JSON structure, time format), with the blocks they hold.
var goldens = map[string]struct {
	format importer.Format
	blocks []want
}{
	"sendgrid_bounces.csv": {importer.CSV, []want{
		{"bounce1@example.com", "550 5.1.1 The email account that you tried to reach does not exist.", "2024-04-26T10:00:00Z"},
		{"bounce2@example.com", "550 5.7.1 Rejected by policy", "2024-04-26T10:01:00Z"},
	}},
	"sendgrid_bounces.json": {importer.JSON, []want{
		{"bounce1@example.com", "550 5.1.1 The email account that you tried to reach does not exist.", "2024-04-26T10:00:00Z"},
		{"bounce2@example.com", "550 5.7.1 Rejected by policy", "2024-04-26T10:01:00Z"},
	}},
	"sendgrid_unsubscribes.csv": {importer.CSV, []want{
		{"unsub1@example.com", "", "2024-04-26T10:00:00Z"},
		{"unsub2@example.com", "", "2024-04-26T10:01:00Z"},
	}},
	"mailgun_bounces.csv": {importer.CSV, []want{
		{"alice@example.com", "No such mailbox", "2024-04-26T10:00:00Z"},
		{"bob@example.com", "Blocked", "2024-04-26T10:01:00Z"},
	}},
	"mailgun_bounces.json": {importer.JSON, []want{
		{"alice@example.com", "No such mailbox", "2024-04-26T10:00:00Z"},
		{"bob@example.com", "Blocked", "2024-04-26T10:01:00Z"}, // 06:01 EDT
	}},
	"mailgun_unsubscribes.json": {importer.JSON, []want{
		{"carol@example.com", "", "2024-04-26T10:00:00Z"},
		{"dave@example.com", "", "2024-04-26T10:01:00Z"},
	}},
	"ses_suppressed.json": {importer.JSON, []want{
		{"bounce@example.com", "BOUNCE", "2024-04-26T10:00:00Z"},
		{"complaint@example.com", "COMPLAINT", "2024-04-26T10:01:00Z"},
	}},
	"ses_suppressed_v1.json": {importer.JSON, []want{
		{"bounce@example.com", "BOUNCE", "2024-04-26T10:00:00Z"},
		{"complaint@example.com", "COMPLAINT", "2024-04-26T10:01:00Z"},
	}},
	"postmark_dump.json": {importer.JSON, []want{
		{"hard@example.com", "HardBounce", "2024-04-26T10:00:00Z"},
		{"spam@example.com", "SpamComplaint", "2024-04-26T10:01:00Z"},
		{"manual@example.com", "ManualSuppression", "2024-04-26T10:02:00Z"},
	}},
	"postmark_suppressions.csv": {importer.CSV, []want{
		{"hard@example.com", "HardBounce", "2024-04-26T10:00:00Z"},
		{"spam@example.com", "SpamComplaint", "2024-04-26T10:01:00Z"},
	}},
	"mailchimp_unsubscribed.csv": {importer.CSV, []want{
		{"erin@example.com", "I no longer want to receive these emails", "2024-04-26T10:00:00Z"},
		{"frank@example.com", "Other", "2024-04-26T10:01:00Z"},
	}},
	"mailchimp_cleaned.csv": {importer.CSV, []want{
		{"gone@example.com", "", "2024-04-26T10:00:00Z"},
	}},
	"twilio_optouts.csv": {importer.CSV, []want{
		{"+14155550100", "", "2024-04-26T10:00:00Z"},
		{"+442079460000", "", "2024-04-26T10:01:00Z"},
	}},
	"listmonk_subscribers.csv": {importer.CSV, []want{
		{"grace@example.com", "blocklisted", "2024-04-26T10:00:00Z"},
		{"heidi@example.com", "blocklisted", "2024-04-26T10:01:00Z"},
	}},
	"listmonk_subscribers.json": {importer.JSON, []want{
		{"grace@example.com", "blocklisted", "2024-04-26T10:00:00Z"},
		{"heidi@example.com", "blocklisted", "2024-04-26T10:01:00Z"},
	}},
	"sendguard_export.csv": {importer.CSV, []want{
		{"bob@example.com", "hard bounce", "2024-04-26T10:00:00Z"},
		{"+14155550100", "STOP", "2024-04-26T10:01:00Z"},
		{"someone@example.org", `says "stop", twice`, "2024-04-26T10:02:00Z"},
	}},
	"sendguard_export.jsonl": {importer.JSONLines, []want{
		{"bob@example.com", "hard bounce", "2024-04-26T10:00:00Z"},
		{"+14155550100", "STOP", "2024-04-26T10:01:00Z"},
		{"someone@example.org", "multi\nline", "2024-04-26T10:02:00Z"},
	}},
}

func TestGoldenExports(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, path := range files {
		name := filepath.Base(path)
		tc, ok := goldens[name]
		if !ok {
			t.Errorf("testdata/%s has no expectations", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			g, err := guard.Open("", guard.WithInMemory())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = g.Close() }()
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			var det importer.Detected
			var problems []importer.Problem
			res, err := importer.Import(ctx, g, f,
				importer.OnDetect(func(d importer.Detected) { det = d }),
				importer.OnProblem(func(p importer.Problem) { problems = append(problems, p) }))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if det.Format != tc.format {
				t.Errorf("format %v, want %v", det.Format, tc.format)
			}
			if len(problems) > 0 || res.Invalid+res.Warned+res.Expired > 0 {
				t.Fatalf("result %+v, problems %+v: want none", res, problems)
			}
			if res.Added != len(tc.blocks) {
				t.Fatalf("added %d, want %d", res.Added, len(tc.blocks))
			}
			for _, w := range tc.blocks {
				v, err := g.Check(ctx, w.contact)
				if err != nil {
					t.Fatalf("Check(%q): %v", w.contact, err)
				}
				if !v.Blocked {
					t.Errorf("%s is allowed, want blocked", w.contact)
					continue
				}
				if v.Reason != w.reason {
					t.Errorf("%s: reason %q, want %q", w.contact, v.Reason, w.reason)
				}
				if got := v.CreatedAt.UTC().Truncate(time.Second).Format(time.RFC3339); got != w.created {
					t.Errorf("%s: created %s, want %s", w.contact, got, w.created)
				}
			}
		})
	}
	if seen != len(goldens) {
		t.Errorf("%d golden files found, %d expected", seen, len(goldens))
	}
}
