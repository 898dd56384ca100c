package storage

import (
	"encoding/binary"
	"strconv"

	"github.com/sendguard/sendguard/normalize"
)

// Key namespaces (see "Layout" in doc.go). Entry keys are the contact keys
// themselves ("e:", "p:", "d:" + value); every other namespace starts with a
// word and a slash, so it can never be mistaken for a contact key, whose
// second byte is always ':'.
const (
	prefixLog    = "log/"  // + 8-byte big-endian seq -> record
	prefixOffset = "off/"  // + consumer name -> 8-byte big-endian seq
	prefixDead   = "dead/" // + consumer + 0x00 + 8-byte big-endian id -> dead letter
	prefixTomb   = "tomb/" // + contact key -> time of the unblock
	prefixMeta   = "meta/" // + caller's key -> caller's bytes
	keyFormat    = "sys/format"
	keySeqLog    = "sys/seq/log"  // Badger sequence lease for change-log seqs
	keySeqDead   = "sys/seq/dead" // Badger sequence lease for dead-letter ids
	keyTrimmed   = "sys/trimmed"  // 8-byte big-endian seq of the last record Trim removed
)

// Limits on caller-chosen names, well inside Badger's 65,000-byte key limit.
const (
	maxValueLen   = 1024      // a contact's canonical value
	maxNameLen    = 256       // a consumer name
	maxMetaKeyLen = 1024      // a meta key
	maxMetaValLen = 256 << 10 // one value, well under a transaction's 614 KiB
)

// MaxEntryText is the most bytes an entry's Original, Reason or Source may
// hold; a longer one makes Put and Import fail with [ErrInvalid].
const MaxEntryText = 64 << 10

// entryPrefixes returns the key prefixes of the entry namespace in key order.
func entryPrefixes() [3]string {
	return [3]string{normalize.DomainPrefix, normalize.EmailPrefix, normalize.PhonePrefix}
}

// isEntryKey reports whether key is a contact key (and so an entry key).
func isEntryKey(key []byte) bool {
	if len(key) < 3 || key[1] != ':' {
		return false
	}
	switch key[0] {
	case 'd', 'e', 'p':
		return true
	}
	return false
}

func kindPrefix(k normalize.Kind) (string, bool) {
	switch k {
	case normalize.Email:
		return normalize.EmailPrefix, true
	case normalize.Phone:
		return normalize.PhonePrefix, true
	case normalize.Domain:
		return normalize.DomainPrefix, true
	}
	return "", false
}

func seqKey(prefix string, seq uint64) []byte {
	return appendSeqKey(make([]byte, 0, len(prefix)+8), prefix, seq)
}

func appendSeqKey(dst []byte, prefix string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dst, prefix...), seq)
}

func logKey(seq uint64) []byte { return seqKey(prefixLog, seq) }

func offsetKey(consumer string) []byte { return []byte(prefixOffset + consumer) }

func tombKey(contactKey []byte) []byte {
	return append([]byte(prefixTomb), contactKey...)
}

func metaKey(key string) []byte { return []byte(prefixMeta + key) }

// deadPrefix returns the key prefix of consumer's dead letters, or of all
// dead letters when consumer is "".
func deadPrefix(consumer string) []byte {
	if consumer == "" {
		return []byte(prefixDead)
	}
	return append([]byte(prefixDead+consumer), 0)
}

func deadKey(consumer string, id uint64) []byte {
	return binary.BigEndian.AppendUint64(deadPrefix(consumer), id)
}

// redactKey renders a key for an error message: contact values are
// personal data and are redacted (see [normalize.Redact]); sequence numbers
// are shown in decimal.
func redactKey(key []byte) string {
	switch {
	case isEntryKey(key):
		return string(key[:2]) + normalize.Redact(string(key[2:]))
	case hasPrefix(key, prefixTomb):
		return prefixTomb + redactKey(key[len(prefixTomb):])
	case hasPrefix(key, prefixLog) && len(key) == len(prefixLog)+8:
		return prefixLog + strconv.FormatUint(binary.BigEndian.Uint64(key[len(prefixLog):]), 10)
	case hasPrefix(key, prefixDead) && len(key) > len(prefixDead)+9:
		n := len(key) - 9
		return string(key[:n]) + "/" + strconv.FormatUint(binary.BigEndian.Uint64(key[n+1:]), 10)
	}
	return strconv.QuoteToASCII(string(key))
}

func hasPrefix(key []byte, prefix string) bool {
	return len(key) >= len(prefix) && string(key[:len(prefix)]) == prefix
}

// checkContact validates c and returns its key.
func checkContact(c normalize.Contact) ([]byte, error) {
	if _, ok := kindPrefix(c.Kind); !ok {
		return nil, errorf(ErrInvalid, "contact kind %d", c.Kind)
	}
	if c.Value == "" || len(c.Value) > maxValueLen {
		return nil, errorf(ErrInvalid, "%s contact value of %d bytes", c.Kind, len(c.Value))
	}
	return c.Key(), nil
}

func checkName(what, name string, max int) error {
	if name == "" || len(name) > max {
		return errorf(ErrInvalid, "%s of %d bytes", what, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return errorf(ErrInvalid, "%s contains a NUL byte", what)
		}
	}
	return nil
}
