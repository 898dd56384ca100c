package importer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/importer"
)

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2024-04-26T10:06:40Z":                  "2024-04-26T10:06:40Z",
		"2024-04-26T10:06:40.123+02:00":         "2024-04-26T08:06:40.123Z",
		"2024-04-26 10:06:40":                   "2024-04-26T10:06:40Z",
		"2024-04-26T10:06:40":                   "2024-04-26T10:06:40Z",
		"2024-04-26 10:06:40.123456+00":         "2024-04-26T10:06:40.123456Z",
		"2024-04-26 15:36:40+05:30":             "2024-04-26T10:06:40Z",
		"2024-04-26":                            "2024-04-26T00:00:00Z",
		"Fri, 26 Apr 2024 10:06:40 UTC":         "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 10:06:40 GMT":         "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 06:06:40 EDT":         "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 03:06:40 PDT":         "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 10:06:40 +0000":       "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 12:06:40 +0200":       "2024-04-26T10:06:40Z",
		"26 Apr 2024 10:06:40 -0000":            "2024-04-26T10:06:40Z",
		"Fri, 26 Apr 2024 10:06:40 +0000 (UTC)": "2024-04-26T10:06:40Z",
		"Fri Apr 26 10:06:40 UTC 2024":          "2024-04-26T10:06:40Z",
		"1714126000":                            "2024-04-26T10:06:40Z",
		"1714126000123":                         "2024-04-26T10:06:40.123Z",
		"1714126000.5":                          "2024-04-26T10:06:40.5Z",
		"  1714126000 ":                         "2024-04-26T10:06:40Z",
	} {
		got, err := importer.ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		if s := got.Format(time.RFC3339Nano); s != want {
			t.Errorf("ParseTime(%q) = %s, want %s", in, s, want)
		}
	}
	for _, in := range []string{"yesterday", "42", "-1714126000", "26/04/2024", "Fri, 26 Apr 2024 10:06:40 XYZ", "2024-13-01"} {
		if got, err := importer.ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
	if got, err := importer.ParseTime(""); err != nil || !got.IsZero() {
		t.Errorf("ParseTime(\"\") = %v, %v; want the zero time", got, err)
	}
}

// importString imports in into a new guard, returning the guard, the
// result and the problems.
func importString(t *testing.T, in string, opts ...importer.Option) (*guard.Guard, importer.Result, []importer.Problem, error) {
	t.Helper()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })
	var problems []importer.Problem
	opts = append(opts, importer.OnProblem(func(p importer.Problem) { problems = append(problems, p) }))
	res, err := importer.Import(context.Background(), g, strings.NewReader(in), opts...)
	return g, res, problems, err
}

// blocked fails unless every contact is blocked in g.
func blocked(t *testing.T, g *guard.Guard, contacts ...string) {
	t.Helper()
	for _, c := range contacts {
		v, err := g.Check(context.Background(), c)
		if err != nil || !v.Blocked {
			t.Errorf("%s: blocked %v, err %v; want blocked", c, v.Blocked, err)
		}
	}
}

// Issue 11 item 3: an unclosed quote swallowed the rest of the file.
func TestUnclosedQuoteResyncs(t *testing.T) {
	g, res, problems, err := importString(t, "email,reason\na1@example.com,\"oops\na2@example.com,x\na3@example.com,y\n")
	if err != nil {
		t.Fatal(err)
	}
	blocked(t, g, "a1@example.com", "a2@example.com", "a3@example.com")
	if res.Added != 3 || res.Warned != 1 || res.Invalid != 0 {
		t.Fatalf("result %+v, want 3 added, 1 warned", res)
	}
	if len(problems) != 1 || problems[0].Line != 2 || !problems[0].Imported || !strings.Contains(problems[0].Reason, "unclosed quote") {
		t.Fatalf("problems %+v, want one warning on line 2", problems)
	}
	// A legitimate quoted field over two lines is one field.
	g, res, problems, err = importString(t, "email,note\na@example.com,\"two\nlines\"\nb@example.com,x\n")
	if err != nil || res.Added != 2 || len(problems) != 0 {
		t.Fatalf("multi-line field: %+v %+v %v", res, problems, err)
	}
	blocked(t, g, "a@example.com", "b@example.com")
}

// An open quote never swallows what follows, however long the input: the
// reader gives up on the quote after its record limit and reads every
// later row.
func TestUnclosedQuoteOnLargeInput(t *testing.T) {
	var b strings.Builder
	b.WriteString("email,note\nfirst@example.com,\"never closed\n")
	const rows = 200_000
	for i := range rows {
		fmt.Fprintf(&b, "u%d@example.com,some note text to make the line longer than most\n", i)
	}
	n, warned, last := 0, 0, ""
	err := importer.NewReader(strings.NewReader(b.String())).Read(func(r importer.Row) error {
		n++
		warned += len(r.Warnings)
		last = r.Entry.Recipient
		return nil
	})
	if err != nil || n != rows+1 || warned != 1 || last != fmt.Sprintf("u%d@example.com", rows-1) {
		t.Fatalf("read %d rows (last %s), %d warnings, err %v; want %d rows, 1 warning", n, last, warned, err, rows+1)
	}
}

// Issue 13 item 1: a time that cannot be read never drops the block.
func TestUnreadableTimeStillBlocks(t *testing.T) {
	before := time.Now().Add(-time.Minute)
	g, res, problems, err := importString(t, "address,error,created_at,expires_at\n"+
		"a@example.com,gone,yesterday,\n"+
		"b@example.com,gone,\"Fri, 26 Apr 2024 10:06:40 UTC\",next week\n"+
		"c@example.com,gone,1714000000000,\n")
	if err != nil {
		t.Fatal(err)
	}
	blocked(t, g, "a@example.com", "b@example.com", "c@example.com")
	if res.Added != 3 || res.Warned != 2 || res.Invalid != 0 {
		t.Fatalf("result %+v, want 3 added, 2 warned", res)
	}
	if len(problems) != 2 || problems[0].Line != 2 || problems[1].Line != 3 ||
		!strings.Contains(problems[0].Reason, "created_at") || !strings.Contains(problems[1].Reason, "expires_at") {
		t.Fatalf("problems %+v", problems)
	}
	ctx := context.Background()
	if v, _ := g.Check(ctx, "a@example.com"); v.CreatedAt.Before(before) {
		t.Errorf("a: created %v, want now", v.CreatedAt)
	}
	if v, _ := g.Check(ctx, "b@example.com"); !v.ExpiresAt.IsZero() || v.CreatedAt.Format(time.RFC3339) != "2024-04-26T10:06:40Z" {
		t.Errorf("b: %+v, want created 2024-04-26T10:06:40Z and no expiry", v)
	}
	if v, _ := g.Check(ctx, "c@example.com"); v.CreatedAt.UnixMilli() != 1714000000000 {
		t.Errorf("c: created %v, want the millisecond epoch", v.CreatedAt)
	}
}

func TestExplicitMapping(t *testing.T) {
	m, err := importer.ParseMapping("contact=Correo, reason=Motivo,created_at=Fecha")
	if err != nil {
		t.Fatal(err)
	}
	var det importer.Detected
	g, res, _, err := importString(t, "Correo;Motivo;Fecha\nx@example.com;rebote;2024-04-26\n",
		importer.WithMapping(m), importer.OnDetect(func(d importer.Detected) { det = d }))
	if err != nil || res.Added != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	blocked(t, g, "x@example.com")
	v, _ := g.Check(context.Background(), "x@example.com")
	if v.Reason != "rebote" || v.CreatedAt.Format(time.DateOnly) != "2024-04-26" {
		t.Fatalf("verdict %+v", v)
	}
	want := []importer.Column{{importer.Contact, "Correo", 0}, {importer.Reason, "Motivo", 1}, {importer.CreatedAt, "Fecha", 2}}
	if det.Format != importer.CSV || det.Separator != ';' || !slices.Equal(det.Columns, want) {
		t.Fatalf("detected %+v", det)
	}
	// A name the input does not have is an error naming the columns.
	_, _, _, err = importString(t, "email,b\nx@example.com,y\n", importer.WithMapping(importer.Mapping{importer.Reason: {"why"}}))
	var le *importer.LineError
	if !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), `reason=why`) {
		t.Fatalf("err %v, want a LineError on line 1 naming reason=why", err)
	}
	for _, bad := range []string{"", "contact", "color=x", "contact="} {
		if _, err := importer.ParseMapping(bad); err == nil {
			t.Errorf("ParseMapping(%q) accepted", bad)
		}
	}
}

func TestFlagsOverrideColumns(t *testing.T) {
	g, _, _, err := importString(t, "email,reason,source\ne@example.com,from file,opencx\n",
		importer.WithReason("flag"), importer.WithSource("migrated"))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := g.Check(context.Background(), "e@example.com")
	if v.Reason != "flag" || v.Source != "migrated" {
		t.Fatalf("verdict %+v", v)
	}
}

func TestJSONShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		in     string
		format importer.Format
		want   []string
	}{
		"array of strings": {`["a@example.com", "+14155550100"]`, importer.JSON, []string{"a@example.com", "+14155550100"}},
		"lines":            {"{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n", importer.JSONLines, []string{"a@example.com", "b@example.com"}},
		"concatenated":     {`{"email":"a@example.com"}{"email":"b@example.com"}`, importer.JSONLines, []string{"a@example.com", "b@example.com"}},
		"empty wrapper":    {`{"Suppressions": []}`, importer.JSON, nil},
		"nested values":    {`[{"tags":["x"],"meta":{"email":"no@example.com"},"email":"a@example.com"}]`, importer.JSON, []string{"a@example.com"}},
	} {
		t.Run(name, func(t *testing.T) {
			var det importer.Detected
			g, res, problems, err := importString(t, tc.in, importer.OnDetect(func(d importer.Detected) { det = d }))
			if err != nil || len(problems) > 0 || res.Added != len(tc.want) {
				t.Fatalf("result %+v, problems %+v, err %v", res, problems, err)
			}
			if det.Format != tc.format {
				t.Fatalf("format %v, want %v", det.Format, tc.format)
			}
			blocked(t, g, tc.want...)
			if v, _ := g.Check(context.Background(), "no@example.com"); v.Blocked {
				t.Fatal("a nested record's field was read as a contact")
			}
		})
	}
}

func TestMalformedJSONStopsNamingTheLine(t *testing.T) {
	g, res, _, err := importString(t, "{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n{\"email\": oops}\n{\"email\":\"c@example.com\"}\n")
	var le *importer.LineError
	if !errors.As(err, &le) || le.Line != 3 {
		t.Fatalf("err %v, want a LineError on line 3", err)
	}
	// What came before is imported, and counted.
	if res.Added != 2 {
		t.Fatalf("result %+v, want 2 added", res)
	}
	blocked(t, g, "a@example.com", "b@example.com")

	// A record that never ends stops at the limit, not at the end of memory.
	big := `[{"email":"a@example.com","note":"` + strings.Repeat("x", 3<<20) + `"}]`
	_, _, _, err = importString(t, big)
	if !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), "KiB") {
		t.Fatalf("err %v, want a LineError naming the size limit", err)
	}
}

func TestLongLineSkipped(t *testing.T) {
	in := "a@example.com\n" + strings.Repeat("x", importer.MaxLine+10) + "\nb@example.com\n"
	g, res, problems, err := importString(t, in)
	if err != nil {
		t.Fatal(err)
	}
	blocked(t, g, "a@example.com", "b@example.com")
	if res.Invalid != 1 || len(problems) != 1 || problems[0].Line != 2 || problems[0].Imported {
		t.Fatalf("result %+v, problems %+v", res, problems)
	}
}

func TestInvalidContactsReportedInLineOrder(t *testing.T) {
	_, res, problems, err := importString(t, "email,created\nnot-an-address,bad\nok@example.com,\nalso bad,\n", importer.WithBatchSize(2))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, fmt.Sprintf("%d %v %s", p.Line, p.Imported, p.Input))
	}
	want := []string{"2 true not-an-address", "2 false not-an-address", "4 false also bad"}
	if !slices.Equal(got, want) || res.Added != 1 || res.Invalid != 2 {
		t.Fatalf("problems %q, result %+v; want %q", got, res, want)
	}
}

func TestInterruptedImport(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := guard.Open("", guard.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close() }()
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "u%d@example.com\n", i)
	}
	res, err := importer.Import(ctx, g, strings.NewReader(b.String()), importer.WithBatchSize(10),
		importer.OnProgress(func(importer.Result) { cancel() }))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if res.Added != 10 {
		t.Fatalf("added %d, want the one batch before the cancel", res.Added)
	}
	blocked(t, g, "u0@example.com", "u9@example.com")
}

// Problems are reported as they come, batch by batch: an input of nothing
// but unreadable records does not pile them up.
func TestProblemsFlushedInBatches(t *testing.T) {
	var b strings.Builder
	b.WriteString("{\"email\":\"a@example.com\"}\n")
	for i := range 100 {
		fmt.Fprintf(&b, "{\"name\":\"n%d\"}\n", i)
	}
	batches := 0
	_, res, problems, err := importString(t, b.String(), importer.WithBatchSize(10),
		importer.OnProgress(func(importer.Result) { batches++ }))
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 1 || res.Invalid != 100 || len(problems) != 100 || problems[0].Line != 2 || problems[99].Line != 101 {
		t.Fatalf("result %+v, %d problems", res, len(problems))
	}
	if batches < 10 {
		t.Fatalf("%d progress reports, want one per 10 problems", batches)
	}
}

// Deep nesting costs a few stack frames, not one per level.
func TestDeepJSONNesting(t *testing.T) {
	deep := `{"data":` + strings.Repeat(`{"a":`, 100_000) + `"x"` + strings.Repeat("}", 100_000) + `, "results": []}`
	_, res, _, err := importString(t, deep)
	if err != nil || res.Added != 0 {
		t.Fatalf("result %+v, err %v; want an empty import", res, err)
	}
	nested := `{"data":{"page":{"results":[{"email":"a@example.com"}]}}}`
	g, res, _, err := importString(t, nested)
	if err != nil || res.Added != 1 {
		t.Fatalf("result %+v, err %v", res, err)
	}
	blocked(t, g, "a@example.com")
}
