// Package normalize turns the text a service puts in a "to" field into one
// canonical contact: an email address, a phone number in E.164, or a
// domain. Every blocklist key in sendguard comes from here, so two inputs
// that reach the same mailbox or line must give the same key, and the key
// must never change when read again.
//
// # Overview
//
// A [Normalizer] is configured once with [New] and options: the default
// region for national phone numbers ([WithRegion], default "US"), provider
// folding ([WithProviderFolding], default off) and the size of the phone
// memo ([WithMemoSize], default 8192). Its methods return a [Contact]:
//
//	n, err := normalize.New(normalize.WithRegion("GB"))
//	c, err := n.Parse("Ann <Ann@Example.com>") // {Email, "ann@example.com"}
//	c, err = n.Parse("+44 (0)20 7183 8750")     // {Phone, "+442071838750"}
//	c, err = n.Parse("*.example.com")           // {Domain, "example.com"}
//	key := c.Key()                              // "d:example.com"
//
// [Normalizer.Parse] detects the kind. Text that starts with "mailto:" or
// has an '@' after at least one character is an email address ("@x.y" is a
// domain). Text that starts with "tel:" or '+' is a phone number. "*.x.y"
// and bare host names whose last label is not all digits ("example.com",
// "163.com") are domains. Anything else that starts with a digit or '(' is a
// phone number, so digits-only strings are phone numbers and
// "020.7183.8750" is one too. [Normalizer.Email], [Normalizer.Phone] and
// [Normalizer.Domain] skip detection; [Normalizer.ParseDetail] also reports
// a phone number's extension and whether its range is known.
//
// [Contact.Key] prefixes the value by kind ("e:", "p:", "d:") so kinds never
// collide; [FromKey] reverses it. [KeyVersion] versions that format.
//
// # Email
//
// An address is read as follows, and rejected if any step fails:
//
//   - Surrounding white space is trimmed. Input over [MaxInputLen] bytes,
//     invalid UTF-8, and any CR or LF (header injection) are rejected.
//   - "mailto:addr" (any case) is accepted: everything from '?' or '#' on
//     (subject, cc and other headers) is dropped and the rest is
//     percent-decoded; it must then be a single plain address.
//   - "Name <addr>", "<addr>", quoted display names, encoded words and
//     comments are read with net/mail (only when such characters are
//     present). Several addresses in one string are rejected.
//   - The local part must be a dot-atom (a quoted local part is accepted
//     only if its content is one, and is then unquoted): ASCII atext, and
//     Unicode letters, marks, numbers, punctuation and symbols (RFC 6531),
//     no leading, trailing or double dot, at most 64 octets.
//   - The domain must be a host name: IP literals ("[192.0.2.1]") and
//     numeric top-level labels ("192.0.2.1") are rejected, as are dotless
//     domains ("localhost"). It is converted to ASCII with the IDNA lookup
//     profile (golang.org/x/net/idna: UTS #46 mapping, so case, full-width
//     forms and ideographic dots are folded; non-transitional, so "ß"
//     stays), one trailing dot is removed, and every label must be 1 to 63
//     octets of letters, digits and inner hyphens; at most 253 octets.
//   - The whole address is lowercased (Unicode simple case mapping) and the
//     local part put in NFC. RFC 5321 leaves local-part case to the
//     receiving system, but every large mailbox provider (Gmail,
//     Outlook.com, Yahoo, iCloud, Proton, Fastmail) delivers local parts
//     case-insensitively; keeping case would let "Ann@example.com" through
//     a block on "ann@example.com", which is the failure this library
//     exists to prevent. The address must be at most 254 octets.
//
// # Provider folding
//
// With [WithProviderFolding](true), addresses at a few providers are
// reduced to the mailbox they deliver to, after the steps above. Exactly
// these domains are folded (the domain must match exactly: subdomains and
// other national domains are not folded):
//
//	Domain                                   Rule
//	gmail.com, googlemail.com                remove every '.', and '+' with all after it;
//	                                         googlemail.com becomes gmail.com
//	outlook.com, outlook.fr, outlook.de,     remove '+' with all after it (dots kept)
//	hotmail.com, hotmail.co.uk, hotmail.fr,
//	hotmail.de, hotmail.it, hotmail.es,
//	live.com, live.co.uk, live.fr, live.de,
//	live.it, live.nl, msn.com                (Outlook.com plus addressing)
//	icloud.com, me.com, mac.com              remove '+' with all after it (iCloud Mail)
//	fastmail.com, fastmail.fm                remove '+' with all after it (Fastmail)
//	proton.me, protonmail.com,               remove '+' with all after it (Proton Mail)
//	protonmail.ch, pm.me
//
// An address whose local part is empty or invalid after folding
// ("+news@gmail.com", "ann.+x@outlook.com") is rejected: no mailbox has that
// name. me.com and mac.com are not folded into icloud.com: only accounts
// created before iCloud have those names, so the domains are not
// interchangeable for everyone.
//
// Yahoo is not folded. Yahoo Mail's "disposable addresses" are written
// basename-keyword@yahoo.com, but the base name is a second name the user
// picks, not the account's address: folding "basename-keyword" to
// "basename" would give the key of a different, possibly real, account.
// Yahoo does not document '+' subaddressing either. Folding only ever merges
// addresses, so a wrong rule would block strangers; where a provider's
// behaviour is not documented, we do not fold.
//
// Folding changes keys. A store must be used with one setting only; it
// persists [Normalizer.ProviderFolding] and refuses the other.
//
// # Phone
//
// Numbers are parsed with github.com/nyaruka/phonenumbers (libphonenumber)
// and formatted as E.164: "+" followed by the country calling code and the
// national significant number. Accepted forms:
//
//   - international, with '+' (also full-width '＋'), in any spacing and
//     punctuation: "+44 20 7183 8750", "+44-20-7183-8750";
//   - the trunk prefix written after the calling code, which is dropped
//     where the country has one: "+44 (0)20 7183 8750" and "+4402071838750"
//     give "+442071838750"; Italy has none, so "+39 06…" keeps its 0;
//   - national numbers, read in the default region: "020 7183 8750" with
//     region GB, "(201) 555-0123" with region US;
//   - the default region's international call prefix: "0044 20 7183 8750"
//     in the UK, where 00 is the prefix, and "011 44 20 7183 8750" in the
//     US. A leading 00 is international only where the region dials
//     abroad with 00 (most of the world, but not NANP, Japan, Australia,
//     Russia, …); elsewhere it is read as part of a national number, which
//     then is usually too long and rejected;
//   - tel: URIs (RFC 3966): "tel:+44-20-7183-8750", with ";ext=",
//     ";isub=" (ignored) and ";phone-context=" (a global prefix such as
//     "+44" is prepended to a local number; a domain context is ignored and
//     the number read in the default region);
//   - letters, as on a telephone keypad ("1-800-FLOWERS").
//
// Extensions ("ext. 123", "x123", ";ext=123", ",,123", "#123") are not
// part of the key: [Normalizer.ParseDetail] reports them in
// [Detail.Extension]. A number whose length libphonenumber finds not even
// possible for its country is rejected ("too short for its country",
// "local number without its area code", …), as is a '+' followed by an
// unknown calling code. A possible number that matches no known range is
// accepted, because numbering metadata lags new ranges, and
// [Detail.Unverified] says so. Keys follow libphonenumber, which allows
// national numbers of up to 17 digits in a few countries, beyond E.164's
// 15-digit total.
//
// One more rule keeps keys stable: the key must read back as itself. A
// number that still looks like it carries a trunk prefix after one was
// removed ("+44 0 0…") would read differently a second time and is
// rejected as ambiguous.
//
// # Domains
//
// [Normalizer.Domain] accepts "example.com", "@example.com" and
// "*.example.com", all giving the domain contact "example.com", with the
// same IDNA and host name rules as an email domain. A domain contact
// stands for the domain and its subdomains; matching them is the caller's
// business ([Contact.EmailDomain] gives an address's domain).
//
// # Concurrency
//
// A [Normalizer] is safe for concurrent use by multiple goroutines; its
// only mutable part is the phone memo, which locks internally. [Contact],
// [Detail], [Kind] and [InvalidError] are plain values. The metadata tables
// behind the phone fast path are built once per process, on first use,
// from libphonenumber's embedded metadata, and are read-only afterwards.
//
// # Errors
//
// Every rejected input gives an *[InvalidError] naming the input, the
// [Kind] it was read as (0 when it looks like no contact at all) and the
// reason. It matches [ErrInvalid]:
//
//	if errors.Is(err, normalize.ErrInvalid) { … }
//	var ie *normalize.InvalidError
//	if errors.As(err, &ie) { log.Println(ie.Kind, ie.Reason) }
//
// Nothing panics on any input. Inputs are personal data: log them only
// redacted, through [Redact], [Redacted] or a [Contact] (which redacts
// itself in log/slog).
//
// # Performance
//
// The guard normalizes every recipient of every message, so the common case
// is cheap. Input that is already canonical, a lowercase ASCII address with
// nothing to fold or strict E.164, is recognised by one scan of its bytes
// without net/mail, IDNA or libphonenumber, and without allocating: the
// returned Value is the input itself (trimmed). The E.164 fast path
// accepts a number only when libphonenumber would return it unchanged: its
// calling code is known, its national number has a length libphonenumber
// calls possible, and its first digit cannot start the country's
// national-prefix pattern (so "+4402071838750" and Argentina's "+54 11…"
// take the full path). A test compares both paths on more than 100,000
// generated numbers from every region.
//
// Other phone input costs a libphonenumber parse (about 15 µs); its result,
// including rejections, is kept in a least-recently-used memo
// (github.com/hashicorp/golang-lru/v2) of [WithMemoSize] entries, so a
// national number seen before costs a map lookup. Non-canonical email
// addresses are not memoized: they cost about 0.5 µs (mixed case) to 1.5 µs
// (display name).
package normalize
