package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sendguard/sendguard/guard"
)

// importChunk is how many contacts go to one guard.Import call.
const importChunk = 10_000

// maxLine is how much of one line of a plain list is kept; the rest is
// dropped (the contact is then rejected as too long).
const maxLine = 4 << 10

// importList blocks every contact of a plain list or a CSV file.
func (a *app) importList(args []string) int {
	fs, c := a.flags("import")
	reason := fs.String("reason", "", "reason recorded with every imported block (overrides a reason column)")
	source := fs.String("source", "import", "source recorded with every imported block (overrides a source column)")
	rejectsPath := fs.String("rejects", "", "write invalid lines to this file instead of stderr")
	pos, code, done := a.parse(fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		return a.failf("import: want one FILE (or - for stdin), got %d arguments (see 'sendguard help import')", len(pos))
	}
	if strings.TrimSpace(*source) == "" {
		return a.failf("import: --source: must not be empty")
	}
	name := pos[0]

	// The input and the rejects file are opened before the database, so
	// that a typo creates nothing.
	in, size, closeIn, err := a.openInput(name)
	if err != nil {
		return a.failf("import: %s", err)
	}
	defer closeIn()
	im := &importer{a: a, reason: *reason, source: *source}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "reason":
			im.reasonSet = true
		case "source":
			im.sourceSet = true
		}
	})
	rejects := a.stderr
	var rf *os.File
	if *rejectsPath != "" {
		rf, err = os.Create(*rejectsPath)
		if err != nil {
			return a.failf("import: --rejects %s: %s", *rejectsPath, pathWhy(err))
		}
		defer func() { _ = rf.Close() }() // closed (and checked) below on success
		rejects = rf
	} else {
		im.rejectsToStderr = true
	}
	rw := bufio.NewWriter(rejects)
	im.rejects = rw

	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	im.g = g
	if isTerminal(a.errOut) {
		im.bar = &progress{w: a.errOut, total: size}
	}
	cr := &countingReader{r: in}
	im.read = cr
	err = im.run(cr)
	if err == nil {
		err = im.flush()
	}
	im.bar.clear()
	if ferr := rw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write rejects: %s", why(ferr))
	}
	fmt.Fprintf(a.stdout, "imported %d, already present %d, invalid %d", im.added, im.present, im.invalid)
	if im.expired > 0 {
		fmt.Fprintf(a.stdout, ", expired %d", im.expired)
	}
	fmt.Fprintln(a.stdout)
	code = exitOK
	if err != nil {
		code = a.failf("import: %s: %s", displayName(name), err)
	}
	if rf != nil {
		if cerr := rf.Close(); cerr != nil && code == exitOK {
			code = a.failf("import: --rejects %s: %s", *rejectsPath, pathWhy(cerr))
		}
	}
	return a.closeGuard(g, c, code)
}

// openInput opens the import's input: stdin for "-", else the file. size
// is the file's size when known (for the progress bar), else 0.
func (a *app) openInput(name string) (r io.Reader, size int64, closeFn func(), err error) {
	if name == "-" {
		return a.stdin, 0, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s: %s", name, pathWhy(err))
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, 0, nil, fmt.Errorf("%s: %s", name, pathWhy(err))
	}
	if st.IsDir() {
		_ = f.Close()
		return nil, 0, nil, fmt.Errorf("%s: is a directory", name)
	}
	if st.Mode().IsRegular() {
		size = st.Size()
	}
	return f, size, func() { _ = f.Close() }, nil
}

func displayName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// pathWhy is the reason of a file error without the operation and path,
// which the caller names already.
func pathWhy(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return why(pe.Err)
	}
	return why(err)
}

// importer streams contacts into the guard in chunks.
type importer struct {
	a               *app
	g               *guard.Guard
	reason, source  string // from the flags
	reasonSet       bool   // --reason was given: it overrides a reason column
	sourceSet       bool   // likewise --source
	rejects         *bufio.Writer
	rejectsToStderr bool
	bar             *progress // nil: no progress bar
	read            *countingReader

	chunk  []guard.ImportEntry
	lines  []int      // the line number of each chunk entry
	unread []rejected // lines that could not be read, since the last flush

	lineCount               int // input lines read
	added, present, invalid int
	expired                 int // rows whose expires_at had passed
}

// add queues one contact read on line.
func (im *importer) add(line int, e guard.ImportEntry) error {
	im.chunk = append(im.chunk, e)
	im.lines = append(im.lines, line)
	if len(im.chunk) >= importChunk {
		return im.flush()
	}
	return nil
}

// rejected is one line reported as invalid.
type rejected struct {
	line          int
	input, reason string // input "": the line could not be read at all
}

// reject queues the report of a line that cannot be read, to be written
// with the chunk's other rejects in line order.
func (im *importer) reject(line int, input, reason string) {
	im.unread = append(im.unread, rejected{line, input, reason})
}

// writeRejects writes rs, in line order, to the rejects output.
func (im *importer) writeRejects(rs []rejected) error {
	if len(rs) == 0 {
		return nil
	}
	slices.SortStableFunc(rs, func(a, b rejected) int { return cmp.Compare(a.line, b.line) })
	if im.rejectsToStderr {
		im.bar.clear()
	}
	for _, r := range rs {
		im.invalid++
		if r.input == "" {
			fmt.Fprintf(im.rejects, "line %d: %s\n", r.line, field(r.reason))
			continue
		}
		fmt.Fprintf(im.rejects, "line %d: %s: %s\n", r.line, field(r.input), field(r.reason))
	}
	if im.rejectsToStderr {
		return im.rejects.Flush()
	}
	return nil
}

// flush imports the queued contacts.
func (im *importer) flush() error {
	var res guard.ImportResult
	var err error
	if len(im.chunk) > 0 {
		res, err = im.g.ImportEntries(im.a.ctx, im.chunk)
	}
	im.added += res.Added
	im.present += res.Present
	im.expired += res.Expired
	rs := im.unread
	for _, r := range res.Invalid {
		reason, ok := invalidReason(r.Err)
		if !ok {
			reason = why(r.Err)
		}
		rs = append(rs, rejected{im.lines[r.Index], r.Input, reason})
	}
	werr := im.writeRejects(rs)
	im.chunk, im.lines, im.unread = im.chunk[:0], im.lines[:0], rs[:0]
	if err != nil {
		return errors.New(why(err))
	}
	if werr != nil {
		return fmt.Errorf("write rejects: %s", why(werr))
	}
	im.bar.show(im.read.n, im.lineCount, im.added, im.present, im.invalid)
	return nil
}

// run reads the input: a CSV file when the first line that is neither
// blank nor a # comment is a CSV header, else a plain list of one contact
// per line, where blank lines and # comments are skipped.
func (im *importer) run(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first := true
	for {
		line, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errors.New(why(err))
		}
		im.lineCount++
		if im.lineCount == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte-order mark, as spreadsheets write
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' {
			continue
		}
		if first {
			first = false
			if header, comma, ok := csvHeader(t); ok {
				return im.readCSV(header, comma, br, im.lineCount)
			}
		}
		if err := im.add(im.lineCount, guard.ImportEntry{Recipient: t, Reason: im.reason, Source: im.source}); err != nil {
			return err
		}
	}
}

// readLine returns the next line without its line break, at most maxLine
// bytes of it. It returns io.EOF only when no line is left.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf) < maxLine {
			buf = append(buf, frag[:min(len(frag), maxLine-len(buf))]...)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(buf) == 0 && len(frag) == 0:
			return "", io.EOF
		case err != nil && err != io.EOF:
			return "", err
		}
		return string(bytes.TrimRight(buf, "\r\n")), nil
	}
}

// readCSV reads the records after header, whose line number is
// headerLine; the contact columns are found by name.
func (im *importer) readCSV(header []string, comma rune, br *bufio.Reader, headerLine int) error {
	cols, err := contactColumns(header)
	if err != nil {
		return fmt.Errorf("line %d: %s", headerLine, err)
	}
	meta := metaColumns(header)
	cr := csv.NewReader(br)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // rows may be short; a missing cell is empty
	cr.ReuseRecord = true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			start, end := headerLine+pe.StartLine, headerLine+pe.Line
			reason := "malformed CSV: " + pe.Err.Error()
			if end > start {
				reason += fmt.Sprintf(" (lines %d to %d)", start, end)
			}
			im.reject(start, "", reason)
			continue
		}
		if err != nil {
			return errors.New(why(err))
		}
		line, _ := cr.FieldPos(0)
		line += headerLine
		im.lineCount = line
		e, bad := im.rowMeta(meta, rec)
		for _, col := range cols {
			if col >= len(rec) {
				continue
			}
			v := strings.TrimSpace(rec[col])
			if v == "" {
				continue
			}
			if bad != "" {
				im.reject(line, v, bad)
				continue
			}
			e.Recipient = v
			if err := im.add(line, e); err != nil {
				return err
			}
		}
	}
}

// metaCols are the positions of a CSV's block metadata columns, -1 when
// absent: reason, source, created_at and expires_at, as export writes them.
type metaCols struct{ reason, source, created, expires int }

// metaColumns finds the metadata columns of header by name, ignoring case,
// spaces, underscores, dashes and dots.
func metaColumns(header []string) metaCols {
	m := metaCols{-1, -1, -1, -1}
	for col, h := range header {
		var p *int
		switch squash(h) {
		case "reason":
			p = &m.reason
		case "source":
			p = &m.source
		case "createdat", "created":
			p = &m.created
		case "expiresat", "expires":
			p = &m.expires
		}
		if p != nil && *p < 0 {
			*p = col
		}
	}
	return m
}

// rowMeta returns the import entry (without its recipient) for one CSV
// record: the record's reason and source unless the flags set them, and
// its times. bad is why the record cannot be imported ("" if it can).
func (im *importer) rowMeta(m metaCols, rec []string) (e guard.ImportEntry, bad string) {
	cell := func(col int) string {
		if col < 0 || col >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[col])
	}
	e.Reason, e.Source = im.reason, im.source
	if v := cell(m.reason); v != "" && !im.reasonSet {
		e.Reason = v
	}
	if v := cell(m.source); v != "" && !im.sourceSet {
		e.Source = v
	}
	var err error
	if e.CreatedAt, err = parseTime(cell(m.created)); err != nil {
		return e, "created_at: " + err.Error()
	}
	if e.ExpiresAt, err = parseTime(cell(m.expires)); err != nil {
		return e, "expires_at: " + err.Error()
	}
	return e, ""
}

// parseTime reads a time cell: RFC 3339 (as export writes), a date and
// time or a date without a zone (read as UTC), or Unix seconds (as some
// providers' exports have). Empty is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > 1<<40 {
			return time.Time{}, fmt.Errorf("%q is out of range for Unix seconds", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read %q as a time (want RFC 3339, e.g. 2025-01-02T03:04:05Z)", s)
}

// csvHeader reports whether line is a CSV header, and its separator: it
// parses as comma-separated values with two fields or more, or as values
// separated by semicolons or tabs (as some spreadsheets write) with a
// contact column among them, or its one field is a known column name.
func csvHeader(line string) (header []string, comma rune, ok bool) {
	rec, err := readHeader(line, ',')
	if err != nil {
		return nil, 0, false
	}
	if len(rec) >= 2 {
		return rec, ',', true
	}
	for _, c := range []rune{';', '\t'} {
		if other, err := readHeader(line, c); err == nil && len(other) >= 2 {
			if _, err := contactColumns(other); err == nil {
				return other, c, true
			}
		}
	}
	return rec, ',', len(rec) == 1 && columnRank(rec[0]) != noColumn
}

// readHeader parses line as one CSV record separated by comma.
func readHeader(line string, comma rune) ([]string, error) {
	r := csv.NewReader(strings.NewReader(line))
	r.Comma = comma
	return r.Read()
}

// Column classes, for the choice of contact columns.
const (
	noColumn = iota
	emailColumn
	phoneColumn
	anyColumn // could hold either: used only when no email or phone column exists
)

// columnNames are the known contact column names, normalized (lowercase,
// without spaces, underscores, dashes and dots), best first within a
// class. They cover the suppression exports of common providers: SendGrid
// "email", Mailchimp "Email Address", Postmark "Email" and "Recipient",
// Mailgun "address", Twilio "phone_number", and this tool's "contact".
func columnNames() []struct {
	name  string
	class int
} {
	return []struct {
		name  string
		class int
	}{
		{"email", emailColumn}, {"emailaddress", emailColumn}, {"mail", emailColumn},
		{"recipientemail", emailColumn}, {"address", emailColumn},
		{"phone", phoneColumn}, {"phonenumber", phoneColumn}, {"mobile", phoneColumn},
		{"mobilenumber", phoneColumn}, {"mobilephone", phoneColumn}, {"msisdn", phoneColumn},
		{"cell", phoneColumn}, {"cellphone", phoneColumn}, {"telephone", phoneColumn},
		{"tel", phoneColumn}, {"number", phoneColumn},
		{"contact", anyColumn}, {"recipient", anyColumn}, {"to", anyColumn},
	}
}

// columnRank returns the class of a header name, or noColumn.
func columnRank(h string) int {
	_, class := columnIndex(h)
	return class
}

// columnIndex returns the position of a header name in columnNames and its
// class, or (-1, noColumn).
func columnIndex(h string) (int, int) {
	n := squash(h)
	for i, c := range columnNames() {
		if c.name == n {
			return i, c.class
		}
	}
	return -1, noColumn
}

// squash is a header name lowercased, without spaces, underscores, dashes
// and dots, for matching.
func squash(h string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '_', '-', '.', '\ufeff':
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(h)))
}

// contactColumns picks the columns to import from a header: the best email
// column and the best phone column; when there is neither, the best
// column that may hold either kind (contact, recipient, to).
func contactColumns(header []string) ([]int, error) {
	best := map[int][2]int{} // class -> {rank, column}
	for col, h := range header {
		rank, class := columnIndex(h)
		if class == noColumn {
			continue
		}
		if b, ok := best[class]; !ok || rank < b[0] {
			best[class] = [2]int{rank, col}
		}
	}
	var cols []int
	for _, class := range []int{emailColumn, phoneColumn} {
		if b, ok := best[class]; ok {
			cols = append(cols, b[1])
		}
	}
	if len(cols) == 0 {
		if b, ok := best[anyColumn]; ok {
			cols = append(cols, b[1])
		}
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("CSV header %q names no contact column (want a column named email, phone, contact, recipient, address, …)",
			strings.Join(header, ","))
	}
	return cols, nil
}

// countingReader counts the bytes read through it, for the progress bar.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
