package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxJSONRecord bounds the bytes read between two records (or contacts)
// of a JSON input, so that memory stays bounded: a longer stretch stops
// the import with an error naming its line.
const maxJSONRecord = 1 << 20

// errJSONTooLong is the error of a JSON stretch over maxJSONRecord.
var errJSONTooLong = fmt.Errorf("a JSON value runs past %d KiB without a record ending", maxJSONRecord>>10)

// lineCounter passes a JSON input through, keeping what is needed to
// turn a byte offset into a line number, and refusing to read more than
// maxJSONRecord bytes past the last mark.
type lineCounter struct {
	r     io.Reader
	read  int64   // bytes read
	mark  int64   // offset of the last record
	nl    []int64 // offsets of the line breaks read and not yet passed
	lines int     // line breaks passed (before the offsets in nl)
}

func (lc *lineCounter) Read(p []byte) (int, error) {
	if lc.read-lc.mark > maxJSONRecord {
		return 0, errJSONTooLong
	}
	n, err := lc.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			lc.nl = append(lc.nl, lc.read+int64(i))
		}
	}
	lc.read += int64(n)
	return n, err
}

// lineAt returns the line of the byte at off. Calls must not go back.
func (lc *lineCounter) lineAt(off int64) int {
	i := 0
	for i < len(lc.nl) && lc.nl[i] < off {
		i++
	}
	lc.lines += i
	lc.nl = lc.nl[i:]
	return lc.lines + 1
}

// jsonRecord is one record of a JSON input: its scalar fields, in order.
type jsonRecord struct {
	line       int
	keys, vals []string
	bare       bool // a bare string, not an object: vals[0] is a contact
}

// jsonReader reads records from JSON: an array of records, an object
// holding one array of records (nested objects are searched: {"data":
// {"results": […]}}), or a sequence of records (JSON lines). A record is
// an object; its scalar fields are kept, nested values skipped. A bare
// string where a record may stand is a contact.
type jsonReader struct {
	dec   *json.Decoder
	lc    *lineCounter
	lines bool // the input is a sequence of records (JSON lines)
	emit  func(jsonRecord) error
}

func newJSONReader(r io.Reader, firstLine int, emit func(jsonRecord) error) *jsonReader {
	lc := &lineCounter{r: r, lines: firstLine - 1}
	dec := json.NewDecoder(lc)
	dec.UseNumber()
	return &jsonReader{dec: dec, lc: lc, emit: emit}
}

// maxWrapperDepth is how deep wrappers are searched for the records
// ({"data": {"results": […]}} is depth 2); deeper objects are skipped, so
// that nesting never costs more than a few stack frames.
const maxWrapperDepth = 4

// objectMode says what an object may be.
type objectMode uint8

const (
	recordOrWrapper objectMode = iota // at the top: a record, or a wrapper of records
	wrapperOnly                       // inside a wrapper: it may hold the records
	recordOnly                        // an element of a records array
)

// run reads the whole input.
func (jr *jsonReader) run() error {
	for {
		tok, err := jr.dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return jr.fail(err)
		}
		switch tok {
		case json.Delim('['):
			if _, err := jr.array(); err != nil {
				return err
			}
		case json.Delim('{'):
			if _, err := jr.object(recordOrWrapper, 0); err != nil {
				return err
			}
		default:
			if s, ok := tok.(string); ok {
				jr.lines = true
				if err := jr.emitRecord(jsonRecord{vals: []string{s}, bare: true}); err != nil {
					return err
				}
				continue
			}
			return &LineError{Line: jr.line(), Reason: fmt.Sprintf("a JSON %s where a record or a contact should be", scalarKind(tok))}
		}
	}
}

// line is the line of the token just read.
func (jr *jsonReader) line() int {
	return jr.lc.lineAt(max(jr.dec.InputOffset()-1, 0))
}

func (jr *jsonReader) emitRecord(rec jsonRecord) error {
	if rec.line == 0 {
		rec.line = jr.line()
	}
	jr.lc.mark = jr.dec.InputOffset()
	return jr.emit(rec)
}

// fail turns a decoder error into a LineError naming the line.
func (jr *jsonReader) fail(err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return err
	}
	off := jr.dec.InputOffset()
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off = se.Offset
		err = fmt.Errorf("malformed JSON: %s", se.Error())
	case errors.Is(err, errJSONTooLong):
		off = jr.lc.mark
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = errors.New("malformed JSON: the input ends inside a value")
	}
	return &LineError{Line: jr.lc.lineAt(max(off, 0)), Reason: err.Error()}
}

// array reads an array after its '['; it reports whether it held records
// or contacts.
func (jr *jsonReader) array() (bool, error) {
	found := false
	for jr.dec.More() {
		tok, err := jr.dec.Token()
		if err != nil {
			return found, jr.fail(err)
		}
		switch tok {
		case json.Delim('{'):
			found = true
			if _, err := jr.object(recordOnly, 0); err != nil {
				return found, err
			}
		case json.Delim('['):
			if err := jr.skip(); err != nil {
				return found, err
			}
		default:
			s, ok := tok.(string)
			if !ok {
				return found, &LineError{Line: jr.line(), Reason: fmt.Sprintf("a JSON %s where a record or a contact should be", scalarKind(tok))}
			}
			found = true
			if err := jr.emitRecord(jsonRecord{vals: []string{s}, bare: true}); err != nil {
				return found, err
			}
		}
	}
	if _, err := jr.dec.Token(); err != nil { // ']'
		return found, jr.fail(err)
	}
	return found, nil
}

// object reads an object after its '{'. As a record it is emitted; as a
// wrapper its first array of records (or of contacts) is read. It reports
// whether it held records.
func (jr *jsonReader) object(mode objectMode, depth int) (bool, error) {
	rec := jsonRecord{line: jr.line()}
	held, contactSeen, arrayRead := false, false, false
	for jr.dec.More() {
		kt, err := jr.dec.Token()
		if err != nil {
			return held, jr.fail(err)
		}
		key, _ := kt.(string)
		vt, err := jr.dec.Token()
		if err != nil {
			return held, jr.fail(err)
		}
		wrapper := mode != recordOnly && !held && !contactSeen && depth < maxWrapperDepth
		switch vt {
		case json.Delim('['):
			if !wrapper {
				if err := jr.skip(); err != nil {
					return held, err
				}
				continue
			}
			found, err := jr.array()
			if err != nil {
				return held, err
			}
			held, arrayRead = found, true
		case json.Delim('{'):
			if !wrapper {
				if err := jr.skip(); err != nil {
					return held, err
				}
				continue
			}
			found, err := jr.object(wrapperOnly, depth+1)
			if err != nil {
				return held, err
			}
			held = found
		default:
			rec.keys = append(rec.keys, key)
			rec.vals = append(rec.vals, scalar(vt))
			if _, class := contactClass(key); class != noClass {
				contactSeen = true
			}
		}
	}
	if _, err := jr.dec.Token(); err != nil { // '}'
		return held, jr.fail(err)
	}
	if held || mode == wrapperOnly || (arrayRead && !contactSeen) {
		// A wrapper, perhaps of an empty list.
		return held, nil
	}
	if mode == recordOrWrapper {
		jr.lines = true
	}
	return true, jr.emitRecord(rec)
}

// skip reads past the rest of a nested value whose opening delimiter was
// just read.
func (jr *jsonReader) skip() error {
	depth := 1
	for depth > 0 {
		tok, err := jr.dec.Token()
		if err != nil {
			return jr.fail(err)
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
	return nil
}

// scalar is a JSON scalar as cell text: null is empty.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

func scalarKind(v any) string {
	switch v.(type) {
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case nil:
		return "null"
	}
	return "value"
}
