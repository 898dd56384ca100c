package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Limits of the line-based readers. They bound the memory an import
// holds, whatever the input: a physical line, and a CSV record whose quoted
// field spans lines.
const (
	// MaxLine is the longest line read; a longer line is reported and
	// skipped.
	MaxLine = 64 << 10
	// maxRecordBytes and maxRecordLines bound one CSV record: a quoted
	// field still open past them (or at the end of the input) is an
	// unclosed quote, not a field.
	maxRecordBytes = 64 << 10
	maxRecordLines = 64
)

// physLine is one line of the input without its line break.
type physLine struct {
	text    string
	num     int  // 1-based
	tooLong bool // longer than MaxLine: text is empty
}

// lineReader reads physical lines, at most MaxLine bytes each, and lets
// the CSV reader put lines back to read them again.
type lineReader struct {
	br   *bufio.Reader
	n    int        // lines read from br
	back []physLine // put back, read first
}

// next returns the next line, or io.EOF when none is left.
func (lr *lineReader) next() (physLine, error) {
	if len(lr.back) > 0 {
		l := lr.back[0]
		lr.back = lr.back[1:]
		return l, nil
	}
	var buf []byte
	tooLong := false
	for {
		frag, err := lr.br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(frag) > MaxLine+2 { // +2: the line break
				tooLong, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(buf) == 0 && len(frag) == 0 && !tooLong:
			return physLine{}, io.EOF
		case err != nil && err != io.EOF:
			return physLine{}, err
		}
		lr.n++
		if tooLong {
			return physLine{num: lr.n, tooLong: true}, nil
		}
		return physLine{text: string(bytes.TrimRight(buf, "\r\n")), num: lr.n}, nil
	}
}

// unread puts lines back, to be read again before anything else.
func (lr *lineReader) unread(ls []physLine) {
	lr.back = append(append([]physLine(nil), ls...), lr.back...)
}

// csvReader reads CSV records (RFC 4180, with any one-byte separator)
// from physical lines, in bounded memory. It is lenient where the intent
// is plain: a quote inside an unquoted field is a character, and text
// after a closing quote belongs to the field. A quoted field still open
// after maxRecordLines lines, maxRecordBytes bytes or at the end of the
// input is an unclosed quote: the record's first line is read alone, up
// to its end, and reading resumes at the line after it.
type csvReader struct {
	lr    *lineReader
	comma byte
}

// read returns the next record and the line it starts on. problem is ""
// or what was wrong with the line: an unclosed quote (fields are then the
// line read alone), or a line too long (fields nil).
func (c *csvReader) read() (fields []string, line int, problem string, err error) {
	first, err := c.lr.next()
	if err != nil {
		return nil, 0, "", err
	}
	if first.tooLong {
		return nil, first.num, fmt.Sprintf("line longer than %d KiB, skipped", MaxLine>>10), nil
	}
	var p csvParse
	p.comma = c.comma
	if p.feed(first.text, false) {
		return p.fields, first.num, "", nil
	}
	lines := []physLine{first}
	size := len(first.text)
	for {
		next, err := c.lr.next()
		if err != nil && err != io.EOF {
			return nil, 0, "", err
		}
		if err == io.EOF {
			break
		}
		lines = append(lines, next)
		size += len(next.text) + 1
		if next.tooLong || len(lines) > maxRecordLines || size > maxRecordBytes {
			break
		}
		if p.feed(next.text, false) {
			return p.fields, first.num, "", nil
		}
	}
	// An unclosed quote: this line alone, and the others again.
	c.lr.unread(lines[1:])
	p = csvParse{comma: c.comma}
	p.feed(first.text, true)
	return p.fields, first.num, "unclosed quote; the line was read up to its end", nil
}

// csvParse is the state of one record being parsed line by line.
type csvParse struct {
	comma   byte
	fields  []string
	cur     strings.Builder
	inQuote bool
}

// feed parses one more physical line of the record and reports whether
// the record is complete. lenient closes a quote left open at the end of
// the line.
func (p *csvParse) feed(line string, lenient bool) bool {
	i := 0
	if p.inQuote {
		p.cur.WriteByte('\n')
	}
	for {
		if !p.inQuote && i < len(line) && line[i] == '"' && p.cur.Len() == 0 {
			p.inQuote = true
			i++
		}
		if p.inQuote {
			for p.inQuote {
				j := strings.IndexByte(line[i:], '"')
				if j < 0 {
					p.cur.WriteString(line[i:])
					if !lenient {
						return false
					}
					p.inQuote = false
					i = len(line)
					break
				}
				p.cur.WriteString(line[i : i+j])
				i += j + 1
				if i < len(line) && line[i] == '"' {
					p.cur.WriteByte('"')
					i++
					continue
				}
				p.inQuote = false
			}
		}
		k := strings.IndexByte(line[i:], p.comma)
		if k < 0 {
			p.cur.WriteString(line[i:])
			p.fields = append(p.fields, p.cur.String())
			p.cur.Reset()
			return true
		}
		p.cur.WriteString(line[i : i+k])
		p.fields = append(p.fields, p.cur.String())
		p.cur.Reset()
		i += k + 1
	}
}

// splitRecord parses one line as a CSV record separated by comma; open
// reports a quote left open at its end.
func splitRecord(line string, comma byte) (fields []string, open bool) {
	p := csvParse{comma: comma}
	if !p.feed(line, false) {
		return nil, true
	}
	return p.fields, false
}

// csvHeader reports whether line is a CSV header, and its separator: it
// parses as comma-separated values with two fields or more, or as values
// separated by semicolons or tabs (as some spreadsheets write) with a
// contact column among them, or its one field is a known column name.
// With force (an explicit mapping), any line is a header.
func csvHeader(line string, force bool) (header []string, comma byte, ok bool) {
	rec, open := splitRecord(line, ',')
	if open {
		return nil, 0, false
	}
	for _, c := range []byte{'\t', ';'} {
		if strings.IndexByte(line, c) < 0 {
			continue
		}
		if other, open := splitRecord(line, c); !open && len(other) >= 2 {
			if len(contactColumns(other)) > 0 || (force && len(rec) < 2) {
				return other, c, true
			}
		}
	}
	if len(rec) >= 2 || force {
		return rec, ',', true
	}
	_, class := contactClass(rec[0])
	return rec, ',', class != noClass
}
