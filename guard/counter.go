package guard

import (
	"sync/atomic"
	"unsafe"
)

// counter is a striped event counter for the hot path. A single atomic
// counter written by every Check would bounce one cache line between cores
// and undo the filter's lock-free reads; counter spreads increments over
// padded cells picked from the calling goroutine's stack address (distinct
// goroutines have distinct stacks), so parallel callers mostly touch
// different lines. Reads sum the cells; they are exact once writers stop.
type counter struct {
	cells [stripes]cell
}

const stripes = 16

type cell struct {
	n atomic.Uint64
	_ [56]byte // one cache line per cell
}

//go:nosplit
func stripe() int {
	var marker byte
	p := uintptr(unsafe.Pointer(&marker))
	// Stacks are at least 8 KiB apart; hash the bits above that.
	return int((uint64(p>>13) * 0x9E3779B97F4A7C15) >> 60)
}

func (c *counter) inc() { c.cells[stripe()&(stripes-1)].n.Add(1) }

func (c *counter) load() uint64 {
	var sum uint64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}
