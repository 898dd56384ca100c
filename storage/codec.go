package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/sendguard/sendguard/normalize"
)

// Value encodings. Every value starts with a version byte; a decoder that
// meets a version it does not know, a truncated field or trailing bytes
// returns errBadValue, which callers wrap in ErrCorrupt with the key.
//
//	entry  v1: ver flags [created] [expires] [str(original)] str(reason) str(source)
//	record v1: ver op flags [time] [expires] str(contact key) [str(original)]
//	           str(reason) str(source) str(target)
//	           [str(origin) flags2 [created]]   (optional trailer)
//	dead   v1: ver flags [at] uvarint(record seq) str(reason) record-v1...
//	tomb   v1: ver time
//
// A time is varint(unix seconds) uvarint(nanoseconds); flags say which
// optional times are present (a zero time.Time is absent), and whether the
// original text is simply the contact's canonical value (then it is not
// stored: bulk lists are mostly canonical already). A str is uvarint(length)
// and the bytes.
const codecV1 = 1

const (
	flagFirstTime  = 1 << 0 // created-at, record time, dead-letter time
	flagSecondTime = 1 << 1 // expires-at
	flagOrigIsKey  = 1 << 2 // original == the contact's value: not stored
	knownFlags     = flagFirstTime | flagSecondTime | flagOrigIsKey
)

var errBadValue = errors.New("bad value")

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func valueFlags(first, second time.Time, original, value string) byte {
	var f byte
	if original != "" && original == value {
		f |= flagOrigIsKey
	}
	if !first.IsZero() {
		f |= flagFirstTime
	}
	if !second.IsZero() {
		f |= flagSecondTime
	}
	return f
}

func appendTimes(dst []byte, flags byte, first, second time.Time) []byte {
	if flags&flagFirstTime != 0 {
		dst = appendTime(dst, first)
	}
	if flags&flagSecondTime != 0 {
		dst = appendTime(dst, second)
	}
	return dst
}

// encodeEntry returns e's value bytes (the contact is the key).
func encodeEntry(e *Entry) []byte {
	return appendEntry(make([]byte, 0, entrySize(e)), e)
}

// entrySize is an upper bound of len(encodeEntry(e)).
func entrySize(e *Entry) int {
	return 2 + 2*16 + 3*5 + len(e.Original) + len(e.Reason) + len(e.Source)
}

// appendEntry appends e's value bytes to dst.
func appendEntry(dst []byte, e *Entry) []byte {
	f := valueFlags(e.CreatedAt, e.ExpiresAt, e.Original, e.Contact.Value)
	dst = append(dst, codecV1, f)
	dst = appendTimes(dst, f, e.CreatedAt, e.ExpiresAt)
	if f&flagOrigIsKey == 0 {
		dst = appendString(dst, e.Original)
	}
	dst = appendString(dst, e.Reason)
	return appendString(dst, e.Source)
}

// encodeRecord returns r's value bytes (the seq is the key).
func encodeRecord(dst []byte, r *Record) []byte {
	f := valueFlags(r.Time, r.ExpiresAt, r.Original, r.Contact.Value)
	dst = append(dst, codecV1, byte(r.Op), f)
	dst = appendTimes(dst, f, r.Time, r.ExpiresAt)
	prefix, _ := kindPrefix(r.Contact.Kind)
	dst = binary.AppendUvarint(dst, uint64(len(prefix)+len(r.Contact.Value)))
	dst = r.Contact.AppendKey(dst)
	if f&flagOrigIsKey == 0 {
		dst = appendString(dst, r.Original)
	}
	dst = appendString(dst, r.Reason)
	dst = appendString(dst, r.Source)
	dst = appendString(dst, r.Target)
	if r.Origin == "" && r.CreatedAt.IsZero() {
		return dst // the v1 layout, byte for byte
	}
	dst = appendString(dst, r.Origin)
	f2 := valueFlags(r.CreatedAt, time.Time{}, "", "")
	dst = append(dst, f2)
	return appendTimes(dst, f2, r.CreatedAt, time.Time{})
}

// recordSize is an upper bound of the size of r's value bytes.
func recordSize(r *Record) int {
	return 3 + 3*16 + 6*5 + 1 + len(r.Contact.Value) + 2 + len(r.Original) + len(r.Reason) + len(r.Source) + len(r.Target) + len(r.Origin)
}

func encodeDeadLetter(d *DeadLetter) []byte {
	dst := make([]byte, 0, 2+12+10+len(d.Reason)+3+recordSize(&d.Record))
	f := valueFlags(d.At, time.Time{}, "", "")
	dst = append(dst, codecV1, f)
	dst = appendTimes(dst, f, d.At, time.Time{})
	dst = binary.AppendUvarint(dst, d.Record.Seq)
	dst = appendString(dst, d.Reason)
	return encodeRecord(dst, &d.Record)
}

func encodeTime(t time.Time) []byte {
	return appendTime([]byte{codecV1}, t)
}

// decoder reads a value; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) byte() byte {
	if d.bad || len(d.b) == 0 {
		d.bad = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	if d.bad {
		return time.Time{}
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) optTime(flags, bit byte) time.Time {
	if flags&bit == 0 {
		return time.Time{}
	}
	return d.time()
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

// original reads an original text, or returns value when flags say it is
// the contact's value.
func (d *decoder) original(flags byte, value string) string {
	if flags&flagOrigIsKey != 0 {
		return value
	}
	return d.string()
}

func (d *decoder) version() {
	if d.byte() != codecV1 {
		d.bad = true
	}
}

func (d *decoder) flags() byte {
	f := d.byte()
	if f&^knownFlags != 0 {
		d.bad = true
	}
	return f
}

// end reports errBadValue if a read failed or bytes are left over.
func (d *decoder) end() error {
	if d.bad || len(d.b) != 0 {
		return errBadValue
	}
	return nil
}

// decodeEntry fills e's fields other than Contact from v; e.Contact must
// be set (an original equal to its value is not stored).
func decodeEntry(v []byte, e *Entry) error {
	d := decoder{b: v}
	d.version()
	f := d.flags()
	e.CreatedAt = d.optTime(f, flagFirstTime)
	e.ExpiresAt = d.optTime(f, flagSecondTime)
	e.Original = d.original(f, e.Contact.Value)
	e.Reason = d.string()
	e.Source = d.string()
	return d.end()
}

// entryExpiresAt decodes only the expiry of an entry value.
func entryExpiresAt(v []byte) (time.Time, error) {
	d := decoder{b: v}
	d.version()
	f := d.flags()
	d.optTime(f, flagFirstTime)
	t := d.optTime(f, flagSecondTime)
	if d.bad {
		return time.Time{}, errBadValue
	}
	return t, nil
}

func (d *decoder) record(r *Record) {
	d.version()
	op := Op(d.byte())
	if op != OpBlock && op != OpUnblock {
		d.bad = true
	}
	r.Op = op
	f := d.flags()
	r.Time = d.optTime(f, flagFirstTime)
	r.ExpiresAt = d.optTime(f, flagSecondTime)
	key := d.bytes()
	if !d.bad {
		c, err := normalize.FromKey(key)
		if err != nil {
			d.bad = true
		}
		r.Contact = c
	}
	r.Original = d.original(f, r.Contact.Value)
	r.Reason = d.string()
	r.Source = d.string()
	r.Target = d.string()
	if d.bad || len(d.b) == 0 {
		return
	}
	r.Origin = d.string()
	f2 := d.flags()
	if f2&^flagFirstTime != 0 {
		d.bad = true
	}
	r.CreatedAt = d.optTime(f2, flagFirstTime)
}

func decodeRecord(v []byte, r *Record) error {
	d := decoder{b: v}
	d.record(r)
	return d.end()
}

func decodeDeadLetter(v []byte, dl *DeadLetter) error {
	d := decoder{b: v}
	d.version()
	f := d.flags()
	if f&flagSecondTime != 0 {
		d.bad = true
	}
	dl.At = d.optTime(f, flagFirstTime)
	seq := d.uvarint()
	dl.Reason = d.string()
	d.record(&dl.Record)
	dl.Record.Seq = seq
	return d.end()
}

func decodeTime(v []byte) (time.Time, error) {
	d := decoder{b: v}
	d.version()
	t := d.time()
	return t, d.end()
}

// badgerExpiry converts an expiry to Badger's TTL field: Unix seconds,
// rounded up so that Badger never hides an entry before its expiry (the
// store's own clock check hides it on time). Zero means never.
func badgerExpiry(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	if sec <= 0 {
		return 1 // long past: expired for Badger too
	}
	if uint64(sec) > math.MaxUint64/2 {
		return math.MaxUint64 / 2
	}
	return uint64(sec)
}
