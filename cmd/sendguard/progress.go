package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// isTerminal reports whether w is a terminal (a character device), where
// a progress bar may be drawn.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws the import's progress bar on one terminal line. A nil
// *progress draws nothing. It is used by one goroutine.
type progress struct {
	w     io.Writer
	total int64 // input size in bytes; 0 when unknown (stdin)
	drawn bool
}

const barWidth = 30

// show redraws the bar: read bytes of total, and the counts so far.
func (p *progress) show(read int64, lines, added, present, invalid int) {
	if p == nil {
		return
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressLine(p.total, read, lines, added, present, invalid))
	p.drawn = true
}

// clear erases the bar, so that other output starts on a clean line.
func (p *progress) clear() {
	if p == nil || !p.drawn {
		return
	}
	fmt.Fprint(p.w, "\r\x1b[K")
	p.drawn = false
}

// progressLine renders one state of the bar:
//
//	[#########.....................]  31%  line 120000: imported 119000, already present 500, invalid 500
//
// without the bar and percentage when the total is unknown.
func progressLine(total, read int64, lines, added, present, invalid int) string {
	var b strings.Builder
	if total > 0 {
		read = min(max(read, 0), total)
		filled := int(read * barWidth / total)
		fmt.Fprintf(&b, "[%s%s] %3d%%  ", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled), read*100/total)
	}
	fmt.Fprintf(&b, "line %d: imported %d, already present %d, invalid %d", lines, added, present, invalid)
	return b.String()
}
