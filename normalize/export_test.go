package normalize

// Hooks for the external test package: the two halves of each normalizer,
// so that tests can prove the fast paths give exactly the full paths' keys.

// FastPhone reports whether s (trimmed) takes the E.164 fast path.
func (n *Normalizer) FastPhone(s string) bool { return n.phones.canonical(s) }

// SlowPhone runs the full phone path on s (trimmed), bypassing the fast
// path and the memo. It returns the canonical value or a reason.
func (n *Normalizer) SlowPhone(s string) (value, reason string) {
	m := n.phoneSlow(s)
	return m.value, m.reason
}

// FastEmail reports whether s (trimmed) takes the canonical-email fast path.
func (n *Normalizer) FastEmail(s string) bool { return n.canonicalEmail(s) }

// SlowEmail runs the full email path on s (trimmed), bypassing the fast
// path.
func (n *Normalizer) SlowEmail(s string) (value, reason string) { return n.emailSlow(s) }

// MemoLen returns the number of memoized phone inputs.
func (n *Normalizer) MemoLen() int {
	if n.memo == nil {
		return 0
	}
	return n.memo.Len()
}
