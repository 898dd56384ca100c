package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/importer"
)

// FuzzReader feeds the reader arbitrary input: it must never panic, and
// every row it gives has a line within the input and either a contact or
// a reason it has none.
func FuzzReader(f *testing.F) {
	for _, s := range []string{
		"email,reason\na1,\"oops\na2,x\na3,y\n",
		"a@example.com\n# comment\n\n+14155550100\n",
		"Name;E-Mail\nG;g@x.example\n",
		"id\tmsisdn\n1\t+4930123457\n",
		`{"Suppressions":[{"EmailAddress":"a@x.com","CreatedAt":"2024-04-26T10:00:00Z"}]}`,
		"{\"contact\":\"a@x.com\"}\n{\"contact\":\"b@x.com\"}\n",
		`["a@x.com",1,{"email":"b@x.com","tags":[[{}]]}]`,
		"email,note\n\"a\"\"b\"c,\"x\ny\"\n",
	} {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := strings.Count(string(in), "\n") + 1
		last := 0
		_ = importer.NewReader(strings.NewReader(string(in))).Read(func(r importer.Row) error {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("row on line %d of %d: %+v", r.Line, lines, r)
			}
			if r.Line < last {
				t.Fatalf("row on line %d after line %d", r.Line, last)
			}
			last = r.Line
			if r.Entry.Recipient == "" && len(r.Warnings) == 0 {
				t.Fatalf("row on line %d with neither a contact nor a reason", r.Line)
			}
			return nil
		})
	})
}
