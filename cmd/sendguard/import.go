package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/sendguard/sendguard/importer"
)

// maxWarnings is how many warnings (rows imported despite a problem) an
// import lists on stderr; the summary counts them all.
const maxWarnings = 20

// importList blocks every contact of a list, CSV, JSON or JSON lines file,
// through the importer package.
func (a *app) importList(args []string) int {
	fs, c := a.flags("import")
	reason := fs.String("reason", "", "reason recorded with every imported block (overrides a reason column)")
	source := fs.String("source", "import", "source recorded with every imported block (overrides a source column)")
	rejectsPath := fs.String("rejects", "", "write invalid lines to this file instead of stderr")
	var columns joinedFlag
	fs.Var(&columns, "column", "name columns: contact=NAME,reason=NAME,source=NAME,created_at=NAME,expires_at=NAME (may be repeated)")
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
	var opts []importer.Option
	if columns != "" {
		m, err := importer.ParseMapping(string(columns))
		if err != nil {
			return a.failf("import: --column: %s", err)
		}
		opts = append(opts, importer.WithMapping(m))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "reason":
			opts = append(opts, importer.WithReason(*reason))
		case "source":
			opts = append(opts, importer.WithSource(*source))
		}
	})

	// The input and the rejects file are opened before the database, so
	// that a typo creates nothing.
	in, size, closeIn, err := a.openInput(name)
	if err != nil {
		return a.failf("import: %s", err)
	}
	defer closeIn()
	rejects := a.stderr
	var rf *os.File
	if *rejectsPath != "" {
		rf, err = os.Create(*rejectsPath)
		if err != nil {
			return a.failf("import: --rejects %s: %s", *rejectsPath, pathWhy(err))
		}
		defer func() { _ = rf.Close() }() // closed (and checked) below on success
		rejects = rf
	}
	rw := bufio.NewWriter(rejects)

	g, err := a.openGuard(c)
	if err != nil {
		return a.failf("%s", err)
	}
	var bar *progress
	if isTerminal(a.errOut) {
		bar = &progress{w: a.errOut, total: size}
	}
	cr := &countingReader{r: in}
	var werr error // the first failure to write a reject
	warnings := 0
	opts = append(opts,
		importer.OnDetect(func(d importer.Detected) {
			if len(d.Columns) == 0 {
				return
			}
			fmt.Fprintf(a.stderr, "sendguard: import: %s: %s\n", displayName(name), describe(d))
		}),
		importer.OnProblem(func(p importer.Problem) {
			if p.Imported {
				warnings++
				if warnings > maxWarnings {
					return
				}
				bar.clear()
				fmt.Fprintf(a.stderr, "line %d: %s: imported, but %s\n", p.Line, field(p.Input), field(p.Reason))
				return
			}
			if rf == nil {
				bar.clear()
			}
			if p.Input == "" {
				fmt.Fprintf(rw, "line %d: %s\n", p.Line, field(p.Reason))
			} else {
				fmt.Fprintf(rw, "line %d: %s: %s\n", p.Line, field(p.Input), field(p.Reason))
			}
			if rf == nil {
				if err := rw.Flush(); err != nil && werr == nil {
					werr = err
				}
			}
		}),
		importer.OnProgress(func(r importer.Result) {
			bar.show(cr.n, r.Lines, r.Added, r.Present, r.Invalid)
		}))
	res, err := importer.Import(a.ctx, g, cr, opts...)
	bar.clear()
	if ferr := rw.Flush(); ferr != nil && werr == nil {
		werr = ferr
	}
	if err == nil && werr != nil {
		err = fmt.Errorf("write rejects: %s", why(werr))
	}
	if warnings > maxWarnings {
		fmt.Fprintf(a.stderr, "sendguard: import: %d more warnings not listed\n", warnings-maxWarnings)
	}
	fmt.Fprintf(a.stdout, "imported %d, already present %d, invalid %d", res.Added, res.Present, res.Invalid)
	if res.Expired > 0 {
		fmt.Fprintf(a.stdout, ", expired %d", res.Expired)
	}
	if res.Warned > 0 {
		fmt.Fprintf(a.stdout, ", warnings %d", res.Warned)
	}
	fmt.Fprintln(a.stdout)
	code = exitOK
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled) && a.ctx.Err() != nil:
		code = a.failf("import: %s: interrupted; %d imported, safe to re-run", displayName(name), res.Added)
	default:
		code = a.failf("import: %s: %s", displayName(name), why(err))
	}
	if rf != nil {
		if cerr := rf.Close(); cerr != nil && code == exitOK {
			code = a.failf("import: --rejects %s: %s", *rejectsPath, pathWhy(cerr))
		}
	}
	return a.closeGuard(g, c, code)
}

// describe says how an input was read: its format and which column
// became what, e.g. `CSV; contact from "Email Address", created_at from
// "UNSUB_TIME"`.
func describe(d importer.Detected) string {
	var b strings.Builder
	b.WriteString(d.Format.String())
	switch d.Separator {
	case ';':
		b.WriteString(" (semicolons)")
	case '\t':
		b.WriteString(" (TABs)")
	}
	for i, col := range d.Columns {
		if i == 0 {
			b.WriteString("; ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s from %q", col.Field, col.Name)
	}
	return b.String()
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

// joinedFlag is a flag that may be given more than once: its values are
// joined with commas, so "--column contact=A --column reason=B" reads as
// "--column contact=A,reason=B".
type joinedFlag string

func (f *joinedFlag) String() string { return string(*f) }

func (f *joinedFlag) Set(v string) error {
	if *f != "" {
		*f += ","
	}
	*f += joinedFlag(v)
	return nil
}
