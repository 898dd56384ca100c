package importer

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sendguard/sendguard/guard"
	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// Format is the kind of input a [Reader] found.
type Format uint8

// The formats read. CSV covers every separator (see [Detected].Separator).
const (
	List      Format = iota // one contact per line; blank lines and # comments skipped
	CSV                     // a header line, then records
	JSON                    // an array of records, or an object holding one
	JSONLines               // one record per line (or a sequence of records)
)

// String returns "list", "CSV", "JSON" or "JSON lines".
func (f Format) String() string {
	switch f {
	case List:
		return "list"
	case CSV:
		return "CSV"
	case JSON:
		return "JSON"
	case JSONLines:
		return "JSON lines"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Detected is what a [Reader] found at the start of its input.
type Detected struct {
	Format    Format
	Separator byte     // CSV: ',', ';' or '\t'
	Columns   []Column // which column became which field (none for a list)
}

// Row is one contact read, with the metadata of its record. A record with
// an email and a phone column gives two rows with the same line.
type Row struct {
	Line  int // the line the record starts on; 1 is the input's first
	Entry guard.ImportEntry
	// Warnings are problems with the record that did not stop the contact
	// from being read: a time that could not be read (left out: the block
	// is made now, or never lapses), an unclosed quote (the line was read
	// alone).
	Warnings []string
}

// LineError is a problem with one line of the input. As a [Problem] it is
// a line skipped; returned by [Reader.Read] or [Import], it stopped the
// import there.
type LineError struct {
	Line   int
	Reason string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// Problem is a line, or a contact, reported by [Import].
type Problem struct {
	Line   int
	Input  string // the contact as written; "" when the line could not be read at all
	Reason string
	// Imported is true for a warning: the contact was blocked all the
	// same (its record had a time that could not be read, say). False:
	// nothing was imported from it.
	Imported bool
}

// Option configures a [Reader] and [Import].
type Option func(*options)

type options struct {
	mapping    Mapping
	reason     string
	reasonSet  bool
	source     string
	sourceSet  bool
	batch      int
	onDetect   func(Detected)
	onProblem  func(Problem)
	onProgress func(Result)
}

// WithMapping names the columns of some fields, overriding the names the
// reader knows (see [ParseMapping]).
func WithMapping(m Mapping) Option { return func(o *options) { o.mapping = m } }

// WithReason records reason with every block, whatever a reason column
// says.
func WithReason(reason string) Option {
	return func(o *options) { o.reason, o.reasonSet = reason, true }
}

// WithSource records source with every block, whatever a source column
// says. Without it (and without a source column) the source is "import".
func WithSource(source string) Option {
	return func(o *options) { o.source, o.sourceSet = source, true }
}

// WithBatchSize sets how many contacts go to one [guard.Guard.ImportEntries]
// call. The default value is 10,000.
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.batch = n
		}
	}
}

// OnDetect sets a function called once, before the first row, with the
// format and columns found.
func OnDetect(fn func(Detected)) Option { return func(o *options) { o.onDetect = fn } }

// OnProblem sets a function [Import] calls for each line skipped, contact
// rejected and warning, in line order within each batch.
func OnProblem(fn func(Problem)) Option { return func(o *options) { o.onProblem = fn } }

// OnProgress sets a function [Import] calls after each batch with the
// totals so far.
func OnProgress(fn func(Result)) Option { return func(o *options) { o.onProgress = fn } }

// Reader reads the contacts of a peer's export (or this tool's) from an
// io.Reader, one record at a time, in bounded memory. The format is found
// from the input:
//
//   - JSON, when the first character that is not a space is [ or {: an
//     array of records, an object holding one array of records (such as
//     `aws sesv2 list-suppressed-destinations` or Postmark's suppression
//     dump print), or a sequence of records, one per line (JSON lines).
//     A record is an object; its string, number and boolean fields are
//     its columns.
//   - CSV, when the first line that is neither blank nor a # comment is a
//     header: two fields or more separated by commas, semicolons or tabs,
//     or one field that is a known column name.
//   - Otherwise a list of one contact per line.
//
// Columns are found by name (ignoring case, spaces, underscores, dashes
// and dots) among the names peers use, or named by [WithMapping].
//
// A Reader reads its input once and is not safe for concurrent use.
type Reader struct {
	src io.Reader
	o   options
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	o := options{batch: 10_000}
	for _, opt := range opts {
		opt(&o)
	}
	return &Reader{src: r, o: o}
}

// Read reads the whole input, calling fn for each row in input order. A
// line that cannot be read at all (a CSV line too long) comes as a row
// with no recipient and one warning, its reason. Read stops at the first
// error fn returns, or at an error of the input: a read error, or a
// *[LineError] for JSON that is malformed or a record over 1 MiB.
func (r *Reader) Read(fn func(Row) error) error {
	br := bufio.NewReaderSize(r.src, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	line := 1
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			r.detect(Detected{Format: List})
			return nil
		}
		if err != nil {
			return err
		}
		if b == '\n' {
			line++
		}
		if b == ' ' || b == '\t' || b == '\r' || b == '\n' {
			continue
		}
		_ = br.UnreadByte()
		if b == '[' || b == '{' {
			return r.readJSON(br, line, fn)
		}
		break
	}
	lr := &lineReader{br: br, n: line - 1}
	for {
		l, err := lr.next()
		if err == io.EOF {
			r.detect(Detected{Format: List})
			return nil
		}
		if err != nil {
			return err
		}
		t := strings.TrimSpace(l.text)
		if !l.tooLong && (t == "" || t[0] == '#') {
			continue
		}
		if !l.tooLong {
			if header, comma, ok := csvHeader(t, r.o.mapping != nil); ok {
				return r.readCSV(lr, header, comma, l.num, fn)
			}
		}
		r.detect(Detected{Format: List})
		lr.unread([]physLine{l})
		return r.readList(lr, fn)
	}
}

func (r *Reader) detect(d Detected) {
	if r.o.onDetect != nil {
		r.o.onDetect(d)
		r.o.onDetect = nil
	}
}

func (r *Reader) readList(lr *lineReader, fn func(Row) error) error {
	for {
		l, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if l.tooLong {
			if err := fn(Row{Line: l.num, Warnings: []string{fmt.Sprintf("line longer than %d KiB, skipped", MaxLine>>10)}}); err != nil {
				return err
			}
			continue
		}
		t := strings.TrimSpace(l.text)
		if t == "" || t[0] == '#' {
			continue
		}
		row := Row{Line: l.num, Entry: guard.ImportEntry{Recipient: t}}
		r.fill(&row, func(Field) (string, bool) { return "", false })
		if err := fn(row); err != nil {
			return err
		}
	}
}

func (r *Reader) readCSV(lr *lineReader, header []string, comma byte, headerLine int, fn func(Row) error) error {
	p, err := resolve(header, r.o.mapping)
	if err != nil {
		return &LineError{Line: headerLine, Reason: "CSV header: " + err.Error()}
	}
	r.detect(Detected{Format: CSV, Separator: comma, Columns: p.columns})
	cr := &csvReader{lr: lr, comma: comma}
	for {
		rec, line, problem, err := cr.read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec == nil {
			if err := fn(Row{Line: line, Warnings: []string{problem}}); err != nil {
				return err
			}
			continue
		}
		if err := r.emit(p, rec, line, problem, fn); err != nil {
			return err
		}
	}
}

func (r *Reader) readJSON(br *bufio.Reader, firstLine int, fn func(Row) error) error {
	var (
		jr       *jsonReader
		p        plan
		lastKeys []string
		started  bool
	)
	jr = newJSONReader(br, firstLine, func(rec jsonRecord) error {
		if rec.bare {
			if !started {
				started = true
				r.detect(Detected{Format: jsonFormat(jr)})
			}
			row := Row{Line: rec.line, Entry: guard.ImportEntry{Recipient: strings.TrimSpace(rec.vals[0])}}
			r.fill(&row, func(Field) (string, bool) { return "", false })
			if row.Entry.Recipient == "" {
				return nil
			}
			return fn(row)
		}
		if !started || !slices.Equal(rec.keys, lastKeys) {
			np, err := resolve(rec.keys, r.o.mapping)
			if err != nil {
				if !started {
					return &LineError{Line: rec.line, Reason: "JSON record: " + err.Error()}
				}
				return fn(Row{Line: rec.line, Warnings: []string{"JSON record: " + err.Error()}})
			}
			p, lastKeys = np, rec.keys
		}
		if !started {
			started = true
			r.detect(Detected{Format: jsonFormat(jr), Columns: p.columns})
		}
		return r.emit(p, rec.vals, rec.line, "", fn)
	})
	if err := jr.run(); err != nil {
		return err
	}
	r.detect(Detected{Format: jsonFormat(jr)})
	return nil
}

func jsonFormat(jr *jsonReader) Format {
	if jr.lines {
		return JSONLines
	}
	return JSON
}

// emit calls fn for each contact of one record.
func (r *Reader) emit(p plan, rec []string, line int, problem string, fn func(Row) error) error {
	cell := func(i int) string {
		if i < 0 || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	get := func(f Field) (string, bool) {
		v := cell(p.meta[f])
		return v, v != ""
	}
	for _, col := range p.contacts {
		v := cell(col)
		if v == "" {
			continue
		}
		row := Row{Line: line, Entry: guard.ImportEntry{Recipient: v}}
		if problem != "" {
			row.Warnings = append(row.Warnings, problem)
		}
		r.fill(&row, get)
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// fill sets a row's metadata from the options and the record's cells. A
// time that cannot be read is left out, with a warning: the contact is
// blocked all the same.
func (r *Reader) fill(row *Row, get func(Field) (string, bool)) {
	e := &row.Entry
	e.Reason, e.Source = r.o.reason, r.o.source
	if v, ok := get(Reason); ok && !r.o.reasonSet {
		e.Reason = v
	}
	if v, ok := get(Source); ok && !r.o.sourceSet {
		e.Source = v
	}
	for _, f := range []*string{&e.Reason, &e.Source} {
		if len(*f) > storage.MaxEntryText {
			*f = cut(*f, storage.MaxEntryText)
			row.Warnings = append(row.Warnings, fmt.Sprintf("reason or source cut to %d KiB", storage.MaxEntryText>>10))
		}
	}
	if v, ok := get(CreatedAt); ok {
		t, err := ParseTime(v)
		if err != nil {
			row.Warnings = append(row.Warnings, "created_at: "+err.Error()+"; blocked as of now")
		}
		e.CreatedAt = t
	}
	if v, ok := get(ExpiresAt); ok {
		t, err := ParseTime(v)
		if err != nil {
			row.Warnings = append(row.Warnings, "expires_at: "+err.Error()+"; blocked without an expiry")
		}
		e.ExpiresAt = t
	}
}

// cut returns at most n bytes of s, not splitting a character.
func cut(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Result counts what [Import] did.
type Result struct {
	Added   int // new blocks written
	Present int // contacts blocked already, or repeated in the input
	Expired int // not written: the record's expires_at had passed
	Invalid int // lines skipped and contacts rejected: nothing imported from them
	Warned  int // contacts imported with a warning (a time left out, say)
	Lines   int // the last line read
}

// Import reads r as [Reader] does and blocks every contact in g, in
// batches through [guard.Guard.ImportEntries], so that memory stays
// bounded whatever the input's size. Problems go to the [OnProblem]
// function, each with its line. The error is for the import itself: the
// input failing or malformed past repair (a *[LineError]), the store
// failing, or ctx ending; the result then counts what was done before,
// and running the import again is safe (a contact imported already is
// counted as present).
func Import(ctx context.Context, g *guard.Guard, r io.Reader, opts ...Option) (Result, error) {
	rd := NewReader(r, opts...)
	o := &rd.o
	var (
		res     Result
		batch   []guard.ImportEntry
		lines   []int
		pending []Problem
	)
	report := func(p Problem) {
		if p.Imported {
			res.Warned++
		} else {
			res.Invalid++
		}
		if o.onProblem != nil {
			o.onProblem(p)
		}
	}
	flush := func() error {
		var ir guard.ImportResult
		var err error
		if len(batch) > 0 {
			ir, err = g.ImportEntries(ctx, batch)
		}
		res.Added += ir.Added
		res.Present += ir.Present
		res.Expired += ir.Expired
		for _, inv := range ir.Invalid {
			pending = append(pending, Problem{Line: lines[inv.Index], Input: inv.Input, Reason: invalidReason(inv.Err)})
		}
		slices.SortStableFunc(pending, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		for _, p := range pending {
			report(p)
		}
		batch, lines, pending = batch[:0], lines[:0], pending[:0]
		if err != nil {
			return err
		}
		if o.onProgress != nil {
			o.onProgress(res)
		}
		return nil
	}
	err := rd.Read(func(row Row) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Lines = max(res.Lines, row.Line)
		if row.Entry.Recipient == "" {
			pending = append(pending, Problem{Line: row.Line, Reason: strings.Join(row.Warnings, "; ")})
			if len(pending) >= o.batch {
				// An input of nothing but bad lines must not grow memory.
				return flush()
			}
			return nil
		}
		for _, w := range row.Warnings {
			pending = append(pending, Problem{Line: row.Line, Input: row.Entry.Recipient, Reason: w, Imported: true})
		}
		batch = append(batch, row.Entry)
		lines = append(lines, row.Line)
		if len(batch) >= o.batch {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	if err == nil {
		// Stopped while waiting for input that then ended: say so, for
		// the input may have been cut short.
		err = ctx.Err()
	}
	return res, err
}

// invalidReason is the reason of a rejected contact.
func invalidReason(err error) string {
	var ie *normalize.InvalidError
	if errors.As(err, &ie) && ie.Reason != "" {
		return ie.Reason
	}
	return err.Error()
}
