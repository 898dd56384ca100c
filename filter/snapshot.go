package filter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
)

// ErrSnapshot is matched (with errors.Is) by every error ReadSnapshot returns:
// a snapshot that is corrupt, truncated, of another format or version, or
// unreadable. The caller's answer is always the same: rebuild from the source.
var ErrSnapshot = errors.New("filter: bad snapshot")

// MaxStampLen is the longest stamp WriteSnapshot accepts and ReadSnapshot reads.
const MaxStampLen = 64 << 10

// Snapshot format, version 1. All integers are little-endian.
//
//	offset size field
//	     0    8 magic "SGFILTER"
//	     8    2 format version (1)
//	    10    2 hash scheme (1: bloom/v3 ≥ v3.7 murmur3 locations)
//	    12    4 reserved, zero
//	    16    8 m, bits
//	    24    8 k, hash functions
//	    32    8 count
//	    40    8 capacity
//	    48    8 fpRate, IEEE 754
//	    56    8 set bits (popcount of the payload)
//	    64    8 stale
//	    72    8 rebuilds
//	    80    8 last rebuild, Unix nanoseconds; 0 if none
//	    88    8 probe: digest of the locations of a fixed key
//	    96    4 stamp length
//	   100    n stamp
//	     …  8·⌈m/64⌉ payload: the bitset's words
//	     …    4 CRC-32C (Castagnoli) of everything before it
const (
	snapshotMagic   = "SGFILTER"
	snapshotVersion = 1
	hashScheme      = 1
	headerLen       = 100
	maxK            = 64
	chunkBytes      = 64 << 10
)

// probeKey is hashed at write and read time; a different digest means this
// build of bloom/v3 places keys differently from the one that wrote the
// snapshot (its hashing has changed before, e.g. on big-endian machines).
var probeKey = []byte("sendguard/filter snapshot probe")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// probe returns a digest of where bloom/v3 puts probeKey in a filter of m bits
// and k hash functions.
func probe(m, k uint64) uint64 {
	d := uint64(14695981039346656037) // FNV-1a over the locations
	for _, loc := range bloom.Locations(probeKey, uint(k)) {
		d = (d ^ loc%m) * 1099511628211
	}
	return d
}

// header is the fixed part of a snapshot.
type header struct {
	m, k, count, capacity uint64
	fpRate                float64
	setBits, stale        uint64
	rebuilds              uint64
	lastRebuild           int64
	probe                 uint64
	stampLen              uint32
}

func (h *header) append(b []byte) []byte {
	b = append(b, snapshotMagic...)
	b = binary.LittleEndian.AppendUint16(b, snapshotVersion)
	b = binary.LittleEndian.AppendUint16(b, hashScheme)
	b = binary.LittleEndian.AppendUint32(b, 0)
	for _, v := range [...]uint64{
		h.m, h.k, h.count, h.capacity, math.Float64bits(h.fpRate),
		h.setBits, h.stale, h.rebuilds, uint64(h.lastRebuild), h.probe,
	} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return binary.LittleEndian.AppendUint32(b, h.stampLen)
}

// parseHeader decodes and validates b, which is headerLen bytes long.
func parseHeader(b []byte) (header, error) {
	if string(b[:8]) != snapshotMagic {
		return header{}, errors.New("not a filter snapshot (wrong magic)")
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != snapshotVersion {
		return header{}, fmt.Errorf("unknown format version %d", v)
	}
	if s := binary.LittleEndian.Uint16(b[10:]); s != hashScheme {
		return header{}, fmt.Errorf("unknown hash scheme %d", s)
	}
	if r := binary.LittleEndian.Uint32(b[12:]); r != 0 {
		return header{}, fmt.Errorf("reserved field is %#x, not zero", r)
	}
	u := func(off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	h := header{
		m: u(16), k: u(24), count: u(32), capacity: u(40),
		fpRate:  math.Float64frombits(u(48)),
		setBits: u(56), stale: u(64), rebuilds: u(72),
		lastRebuild: int64(u(80)), probe: u(88),
		stampLen: binary.LittleEndian.Uint32(b[96:]),
	}
	switch {
	case h.m == 0 || h.m > MaxBits || h.m > uint64(^uint(0)):
		return header{}, fmt.Errorf("m = %d bits is out of range", h.m)
	case h.k == 0 || h.k > maxK:
		return header{}, fmt.Errorf("k = %d is out of range", h.k)
	case !(h.fpRate >= MinFPRate && h.fpRate < 1):
		return header{}, fmt.Errorf("false-positive rate %g is out of range", h.fpRate)
	case h.capacity == 0 || h.capacity > MaxCapacity:
		return header{}, fmt.Errorf("capacity %d is out of range", h.capacity)
	case h.setBits > h.m:
		return header{}, fmt.Errorf("%d bits set of %d", h.setBits, h.m)
	case h.stampLen > MaxStampLen:
		return header{}, fmt.Errorf("stamp of %d bytes is longer than %d", h.stampLen, MaxStampLen)
	case h.probe != probe(h.m, h.k):
		return header{}, errors.New("written by a bloom/v3 that hashes differently")
	}
	return h, nil
}

// WriteSnapshot writes the filter and stamp (opaque bytes, at most MaxStampLen,
// returned as they are by ReadSnapshot) to w, and returns the number of bytes
// written. The snapshot holds every key whose Add returned before
// WriteSnapshot was called; a key Added concurrently may or may not be in it.
// So that the caller can bring a restored filter up to date, the stamp should
// name a state of the key source taken before calling WriteSnapshot.
//
// The writer lock is held only to fold recent keys into the bloom filter; the
// writing itself runs without it, concurrently with Add and MayContain.
func (f *Filter) WriteSnapshot(w io.Writer, stamp []byte) (int64, error) {
	if len(stamp) > MaxStampLen {
		return 0, fmt.Errorf("filter: snapshot stamp of %d bytes is longer than %d", len(stamp), MaxStampLen)
	}
	f.mu.Lock()
	f.foldLocked()
	bf := &f.cur.Load().bf
	m, k := uint64(bf.Cap()), uint64(bf.K())
	h := header{
		m: m, k: k, count: f.count, capacity: f.capacity, fpRate: f.fpRate,
		stale: f.stale, rebuilds: f.rebuilds,
		probe: probe(m, k), stampLen: uint32(len(stamp)),
	}
	if !f.lastRebuild.IsZero() {
		h.lastRebuild = f.lastRebuild.UnixNano()
	}
	f.mu.Unlock()
	h.setBits = uint64(bf.BitSet().Count()) // O(m): outside the lock
	f.mu.Lock()
	if f.cur.Load().bf.BitSet() == bf.BitSet() { // not folded or rebuilt since: the count is bf's
		f.setBits, f.countAtSetBits = h.setBits, h.count
	}
	f.mu.Unlock()

	sw := snapshotWriter{w: w, crc: crc32.New(castagnoli), buf: make([]byte, 0, chunkBytes)}
	sw.buf = h.append(sw.buf)
	sw.write(stamp)
	words := bf.BitSet().Words()
	for i := range (m + 63) / 64 {
		var word uint64
		if i < uint64(len(words)) {
			word = words[i]
		}
		if len(sw.buf)+8 > cap(sw.buf) {
			sw.flush()
		}
		sw.buf = binary.LittleEndian.AppendUint64(sw.buf, word)
	}
	sw.flush()
	sw.buf = binary.LittleEndian.AppendUint32(sw.buf, sw.crc.Sum32())
	sw.flush()
	if sw.err != nil {
		return sw.n, fmt.Errorf("filter: write snapshot: %w", sw.err)
	}
	return sw.n, nil
}

// snapshotWriter buffers writes to w and checksums what it writes. After the
// first error it writes nothing more and keeps the error.
type snapshotWriter struct {
	w   io.Writer
	crc hash.Hash32
	buf []byte
	n   int64
	err error
}

func (sw *snapshotWriter) write(p []byte) {
	for len(p) > 0 {
		if len(sw.buf) == cap(sw.buf) {
			sw.flush()
		}
		c := copy(sw.buf[len(sw.buf):cap(sw.buf)], p)
		sw.buf = sw.buf[:len(sw.buf)+c]
		p = p[c:]
	}
}

func (sw *snapshotWriter) flush() {
	if sw.err == nil && len(sw.buf) > 0 {
		sw.crc.Write(sw.buf)
		var n int
		n, sw.err = sw.w.Write(sw.buf)
		sw.n += int64(n)
	}
	sw.buf = sw.buf[:0]
}

// ReadSnapshot reads a snapshot written by WriteSnapshot and returns the
// filter and the stamp. It reads exactly the snapshot's bytes from r, no
// further.
//
// Every error wraps ErrSnapshot (and the underlying read error, if any):
// a wrong magic, version or hash scheme, a field out of range, a truncated
// payload, or a checksum mismatch. ReadSnapshot never trusts a length field
// further than the bytes actually present: memory grows with what r delivers,
// never beyond MaxBits/8 for the payload.
func ReadSnapshot(r io.Reader) (f *Filter, stamp []byte, err error) {
	crc := crc32.New(castagnoli)
	tr := io.TeeReader(r, crc)
	var hb [headerLen]byte
	if _, err := io.ReadFull(tr, hb[:]); err != nil {
		return nil, nil, snapshotError("header", err)
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return nil, nil, snapshotError("header", err)
	}
	stamp = make([]byte, h.stampLen)
	if _, err := io.ReadFull(tr, stamp); err != nil {
		return nil, nil, snapshotError("stamp", err)
	}
	words, err := readWords(tr, (h.m+63)/64)
	if err != nil {
		return nil, nil, snapshotError("payload", err)
	}
	var sum [4]byte
	want := crc.Sum32()
	if _, err := io.ReadFull(r, sum[:]); err != nil {
		return nil, nil, snapshotError("checksum", err)
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return nil, nil, snapshotError("checksum", fmt.Errorf("crc32c is %#08x, want %#08x", got, want))
	}
	// The checksum matched, so these only fail for a snapshot that was
	// written wrong, not damaged on the way.
	if rem := h.m % 64; rem != 0 && words[len(words)-1]>>rem != 0 {
		return nil, nil, snapshotError("payload", errors.New("bits set beyond m"))
	}
	var set uint64
	for _, w := range words {
		set += uint64(bits.OnesCount64(w))
	}
	if set != h.setBits {
		return nil, nil, snapshotError("payload", fmt.Errorf("%d bits set, header says %d", set, h.setBits))
	}

	f = &Filter{
		fpRate:   h.fpRate,
		capacity: h.capacity,
		count:    h.count,
		setBits:  h.setBits, countAtSetBits: h.count,
		stale:      h.stale,
		rebuilds:   h.rebuilds,
		rebuildSem: make(chan struct{}, 1),
	}
	if h.lastRebuild != 0 {
		f.lastRebuild = time.Unix(0, h.lastRebuild)
	}
	f.cur.Store(&state{bf: *bloom.FromWithM(words, uint(h.m), uint(h.k))})
	return f, stamp, nil
}

// readWords reads n little-endian words from r in chunks, so that the memory
// it takes grows with the bytes r actually delivers (at most twice as much),
// not with n.
func readWords(r io.Reader, n uint64) ([]uint64, error) {
	buf := make([]byte, min(n*8, chunkBytes))
	words := make([]uint64, 0, min(n, chunkBytes/8))
	for left := n; left > 0; {
		c := min(left*8, chunkBytes)
		if _, err := io.ReadFull(r, buf[:c]); err != nil {
			return nil, err
		}
		if uint64(cap(words)-len(words)) < c/8 {
			// Double, capped at n: append would grow large slices by
			// 1.25 at a time and copy the payload many times over.
			grown := make([]uint64, len(words), min(n, 2*uint64(cap(words))))
			copy(grown, words)
			words = grown
		}
		for b := buf[:c]; len(b) > 0; b = b[8:] {
			words = append(words, binary.LittleEndian.Uint64(b))
		}
		left -= c / 8
	}
	return words, nil
}

func snapshotError(part string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF // a snapshot that stops early is truncated
	}
	return fmt.Errorf("%w: %s: %w", ErrSnapshot, part, err)
}
