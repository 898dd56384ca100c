package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exportCSV runs export and returns its rows without the header, which it
// checks.
func exportCSV(t *testing.T, s *sandbox) [][]string {
	t.Helper()
	r := s.run("", "export").want(t, 0)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, r.stdout)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], exportHeader()) {
		t.Fatalf("export header: %v", rows)
	}
	return rows[1:]
}

// contactsOf returns the sorted "kind:contact" of export rows.
func contactsOf(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[1]+":"+r[0])
	}
	slices.Sort(out)
	return out
}

// summary is the import's last stdout line for these counts.
func summary(imported, present, invalid int) string {
	return fmt.Sprintf("imported %d, already present %d, invalid %d", imported, present, invalid)
}

func TestImportCSV100k(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	const rows = 100_000
	var b strings.Builder
	b.WriteString("\ufeffEmail Address,First Name,Phone Number,Notes\n")
	var valid, dup, invalid int
	var invalidLines []int
	for i := range rows {
		line := i + 2 // the header is line 1
		switch {
		case i%10 == 3: // invalid email, no phone
			fmt.Fprintf(&b, "user%d@nodot,Name %d,,\n", i, i)
			invalid++
			invalidLines = append(invalidLines, line)
		case i%10 == 5: // a repeat of the row before
			fmt.Fprintf(&b, "USER%d@Example.com,Again,,\n", i-1)
			dup++
		case i%10 == 7: // email and a national phone: two contacts
			// The note spans two lines: later rows start a line lower.
			fmt.Fprintf(&b, "\"Person %d <user%d@example.com>\",\"Last, First\",(415) %03d-%04d,\"a\nnote\"\n", i, i, 200+i/10000, i%10000)
			valid += 2
		case i%100 == 9: // an invalid phone and a valid email
			fmt.Fprintf(&b, "user%d@example.com,x,12,\n", i)
			valid++
			invalid++
			invalidLines = append(invalidLines, line)
		default:
			fmt.Fprintf(&b, "user%d@example.com,x,,\n", i)
			valid++
		}
	}
	// Line numbers shift after each two-line row: recompute them from the
	// CSV itself.
	input := b.String()
	path := filepath.Join(s.dir, "suppressions.csv")
	if err := os.WriteFile(path, []byte(input), 0o600); err != nil {
		t.Fatal(err)
	}
	rejects := filepath.Join(s.dir, "rejects.txt")
	r := s.run("", "import", "--rejects", rejects, "--reason", "migrated", path).want(t, 0)
	wantLines(t, r.stdout, summary(valid, dup, invalid))
	wantLines(t, r.stderr, "sendguard: import: "+path+`: CSV; contact from "Email Address", contact from "Phone Number"`)
	data, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	rl := lines(string(data))
	if len(rl) != invalid {
		t.Fatalf("%d reject lines, want %d", len(rl), invalid)
	}
	wantRejectLines := csvLineNumbers(t, input, invalidLines)
	for i, l := range rl {
		prefix := fmt.Sprintf("line %d: ", wantRejectLines[i])
		if !strings.HasPrefix(l, prefix) {
			t.Fatalf("reject %d is %q, want it to start with %q", i, l, prefix)
		}
	}
	if !strings.Contains(rl[0], "user3@nodot: ") {
		t.Fatalf("first reject %q does not name its input", rl[0])
	}

	st := s.run("", "stats").want(t, 0).stdout
	if !strings.Contains(st, "entries\t"+strconv.Itoa(valid)+"\n") {
		t.Fatalf("stats after import:\n%s", st)
	}
	s.run("", "check", "user0@example.com", "user7@example.com").want(t, 1)
	s.run("", "check", "user3@nodot.example").want(t, 0)
	wantLines(t, s.run("", "check", "user1@example.com").stdout, "blocked\tuser1@example.com\tmigrated\timport\tuser1@example.com")

	// Importing again adds nothing.
	r = s.run("", "import", "--rejects", rejects, path).want(t, 0)
	wantLines(t, r.stdout, summary(0, valid+dup, invalid))
}

// csvLineNumbers maps the i-th "logical" line numbers the generator
// counted (one line per row) to physical line numbers, where rows with a
// two-line note push later rows down.
func csvLineNumbers(t *testing.T, input string, logical []int) []int {
	t.Helper()
	cr := csv.NewReader(strings.NewReader(input))
	cr.FieldsPerRecord = -1
	var phys []int // phys[row] = physical line of row (row 0 is the header)
	for {
		_, err := cr.Read()
		if err != nil {
			break
		}
		l, _ := cr.FieldPos(0)
		phys = append(phys, l)
	}
	out := make([]int, len(logical))
	for i, l := range logical {
		out[i] = phys[l-1]
	}
	return out
}

func TestImportPlainList(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	in := "\ufeff# suppression list\r\n\r\nalice@example.com\r\n  Bob <BOB@example.com>  \n#carol@example.com\nnot valid\n+44 20 7946 0000\nalice@example.com\nexample.net\n\n"
	r := s.run(in, "import", "-", "--source", "crm").want(t, 0)
	wantLines(t, r.stdout, summary(4, 1, 1))
	wantLines(t, r.stderr, "line 6: not valid: not an email address, phone number or domain")
	rows := exportCSV(t, s)
	if got, want := contactsOf(rows), []string{"domain:example.net", "email:alice@example.com", "email:bob@example.com", "phone:+442079460000"}; !slices.Equal(got, want) {
		t.Fatalf("contacts %v, want %v", got, want)
	}
	for _, row := range rows {
		if row[3] != "crm" || row[2] != "" {
			t.Fatalf("row %v: want source crm, empty reason", row)
		}
	}
	// A one-column CSV with a known header is CSV, not a contact.
	r = s.run("Recipient\ndave@example.com\n", "import", "-").want(t, 0)
	wantLines(t, r.stdout, summary(1, 0, 0))
	// An empty input imports nothing.
	wantLines(t, s.run("", "import", "-").want(t, 0).stdout, summary(0, 0, 0))
}

func TestImportProviderExports(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		csv  string
		want []string
	}{
		"sendgrid":   {"email,created,reason,status\nA@x.example,1700000000,bounced,5.1.1\n", []string{"email:a@x.example"}},
		"mailchimp":  {"Email Address,First Name,Address,Phone\nb@x.example,B,\"1 Main St, Town\",\n", []string{"email:b@x.example"}},
		"postmark":   {"Recipient,Reason,CreatedAt\nc@x.example,HardBounce,2024-01-01\n", []string{"email:c@x.example"}},
		"mailgun":    {"address,code,error,created_at\nd@x.example,550,no such user,2024-01-01\n", []string{"email:d@x.example"}},
		"twilio":     {"phone_number,date\n+1 415 555 0199,2024-01-01\n", []string{"phone:+14155550199"}},
		"both":       {"E-mail,mobile_number\ne@x.example,+4930123456\n", []string{"email:e@x.example", "phone:+4930123456"}},
		"short row":  {"email,phone,name\nf@x.example\n,,\n", []string{"email:f@x.example"}},
		"semicolons": {"Name;E-Mail\nG;g@x.example\n", []string{"email:g@x.example"}},
		"tabs":       {"id\tmsisdn\n1\t+4930123457\n", []string{"phone:+4930123457"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t)
			r := s.run(tc.csv, "import", "-").want(t, 0)
			wantLines(t, r.stdout, summary(len(tc.want), 0, 0))
			if got := contactsOf(exportCSV(t, s)); !slices.Equal(got, tc.want) {
				t.Fatalf("contacts %v, want %v", got, tc.want)
			}
		})
	}
}

func TestImportErrors(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	missing := filepath.Join(s.dir, "missing.csv")
	r := s.run("", "import", missing).want(t, 2)
	wantOneErrorLine(t, r, "import", missing, "no such file")
	if exists(s.db) {
		t.Fatal("a failed import created the database")
	}
	r = s.run("", "import", s.dir).want(t, 2)
	wantOneErrorLine(t, r, "import", "is a directory")
	r = s.run("a@example.com\n", "import", "--rejects", filepath.Join(s.dir, "no", "such", "dir"), "-").want(t, 2)
	wantOneErrorLine(t, r, "--rejects", "no such file")
	r = s.run("", "import").want(t, 2)
	wantOneErrorLine(t, r, "import", "FILE")
	r = s.run("", "import", "a", "b").want(t, 2)
	wantOneErrorLine(t, r, "import", "FILE")
	if exists(s.db) {
		t.Fatal("a failed import created the database")
	}

	r = s.run("Correo,Nombre\nx@example.com,X\n", "import", "-").want(t, 2)
	wantOneErrorLine(t, r, "import", "stdin", "no contact column", "Correo")

	// A stray quote is a character: the cell is read, and rejected as
	// an address; the rest goes on.
	r = s.run("email,name\na@example.com,A\nb\"@example.com,B\nc@example.com,C\n", "import", "-").want(t, 0)
	wantLines(t, r.stdout, summary(2, 0, 1))
	if ls := lines(r.stderr); len(ls) != 2 || !strings.HasPrefix(ls[1], `line 3: b"@example.com: `) {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	src := newSandbox(t)
	src.run("", "block", "--reason", `says "stop", twice`, "Alice <alice@example.com>", "+44 20 7946 0000").want(t, 0)
	src.run("", "block", "--reason", "multi\nline", "--expires", "10d", "*.example.org", "bob@example.net").want(t, 0)
	src.run("bulk1@example.com\nbulk2@example.com\n(212) 555-0123\n", "import", "-").want(t, 0)
	src.run("", "unblock", "bulk2@example.com").want(t, 0)

	export := src.run("", "export").want(t, 0).stdout
	rows := exportCSV(t, src)
	want := []string{
		"domain:example.org", "email:alice@example.com", "email:bob@example.net", "email:bulk1@example.com",
		"phone:+12125550123", "phone:+442079460000",
	}
	if got := contactsOf(rows); !slices.Equal(got, want) {
		t.Fatalf("exported %v, want %v", got, want)
	}
	for _, row := range rows {
		if len(row) != 6 || !recent(row[4]) {
			t.Fatalf("row %v", row)
		}
	}

	dst := newSandbox(t)
	path := filepath.Join(dst.dir, "export.csv")
	if err := os.WriteFile(path, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	r := dst.run("", "import", path).want(t, 0)
	wantLines(t, r.stdout, summary(len(want), 0, 0))
	// Every field comes back: reason, source and both times.
	if got := dst.run("", "export").want(t, 0).stdout; got != export {
		t.Fatalf("round trip gave\n%s\nwant\n%s", got, export)
	}

	// JSONL carries the same blocks.
	r = src.run("", "export", "--format", "jsonl").want(t, 0)
	var got []string
	for _, l := range lines(r.stdout) {
		var e exportJSON
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, e.Kind+":"+e.Contact)
		if e.Contact == "example.org" && (e.ExpiresAt == nil || e.Reason != "multi\nline") {
			t.Fatalf("domain block %+v: want an expiry and the reason", e)
		}
		if e.Contact == "alice@example.com" && e.ExpiresAt != nil {
			t.Fatalf("alice expires: %+v", e)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("jsonl %v, want %v", got, want)
	}
	r = src.run("", "export", "--format", "xml").want(t, 2)
	wantOneErrorLine(t, r, "--format", "xml")
}

func TestImportRowMetadata(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	future := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	in := "Email,Reason,Source,Created,Expires_At\n" +
		"a@example.com,bounced,sendgrid,1700000000,\n" +
		"b@example.com,,,2024-05-06," + future + "\n" +
		"c@example.com,complaint,,2024-05-06T07:08:09Z,2020-01-01T00:00:00Z\n" +
		"d@example.com,x,,yesterday,\n"
	r := s.run(in, "import", "-").want(t, 0)
	// A time that cannot be read never drops the block (issue 13): d is
	// blocked as of now, and the warning names its line.
	wantLines(t, r.stdout, summary(3, 0, 0)+", expired 1, warnings 1")
	wantLines(t, r.stderr,
		`sendguard: import: stdin: CSV; contact from "Email", reason from "Reason", source from "Source", created_at from "Created", expires_at from "Expires_At"`,
		`line 5: d@example.com: imported, but created_at: "yesterday" is not a time (want RFC 3339, RFC 2822, a date or Unix seconds); blocked as of now`)
	rows := exportCSV(t, s)
	want := [][]string{
		{"a@example.com", "email", "bounced", "sendgrid", "2023-11-14T22:13:20Z", ""},
		{"b@example.com", "email", "", "import", "2024-05-06T00:00:00Z", future},
	}
	if len(rows) != 3 || rows[2][0] != "d@example.com" || rows[2][2] != "x" || !recent(rows[2][4]) {
		t.Fatalf("export %v, want d@example.com blocked as of now", rows)
	}
	rows = rows[:2]
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("export %v, want %v", rows, want)
	}

	// --reason and --source, when given, win over the columns.
	s2 := newSandbox(t)
	s2.run("email,reason,source\ne@example.com,from file,opencx\n", "import", "--reason", "flag", "--source", "migrated", "-").want(t, 0)
	if rows := exportCSV(t, s2); len(rows) != 1 || rows[0][2] != "flag" || rows[0][3] != "migrated" {
		t.Fatalf("export %v, want the flags' reason and source", rows)
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	got := progressLine(1000, 500, 42, 40, 1, 1)
	want := "[###############...............]  50%  line 42: imported 40, already present 1, invalid 1"
	if got != want {
		t.Fatalf("progressLine = %q, want %q", got, want)
	}
	if got := progressLine(0, 500, 7, 7, 0, 0); got != "line 7: imported 7, already present 0, invalid 0" {
		t.Fatalf("progressLine without a total = %q", got)
	}
	if got := progressLine(10, 20, 1, 1, 0, 0); !strings.Contains(got, "100%") {
		t.Fatalf("progressLine past the total = %q", got)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if isTerminal(f) || isTerminal(&strings.Builder{}) {
		t.Fatal("a file or a buffer is taken for a terminal")
	}
}
