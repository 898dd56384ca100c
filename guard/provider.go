package guard

import (
	"errors"
	"fmt"
)

// ErrProviderDomain is matched (errors.Is) by a [ProviderDomainError].
var ErrProviderDomain = errors.New("guard: a mailbox provider's domain")

// ProviderDomainError refuses a block of a mailbox provider's whole
// domain: it would stop every address there, which is almost always a
// mistake for a block of one address.
type ProviderDomainError struct {
	Domain string
}

func (e *ProviderDomainError) Error() string {
	return fmt.Sprintf("guard: %s is a mailbox provider's domain: blocking it blocks every address there; block the addresses, or pass guard.AllowProviderDomain() if that is meant", e.Domain)
}

// Is matches [ErrProviderDomain].
func (e *ProviderDomainError) Is(target error) bool { return target == ErrProviderDomain }

// providerDomains are the domains of the largest mailbox providers, where
// a domain block stops a large share of everyone's recipients.
var providerDomains = map[string]struct{}{
	"gmail.com": {}, "googlemail.com": {},
	"outlook.com": {}, "hotmail.com": {}, "live.com": {}, "msn.com": {},
	"hotmail.co.uk": {}, "outlook.fr": {}, "hotmail.fr": {}, "live.co.uk": {},
	"yahoo.com": {}, "ymail.com": {}, "yahoo.co.uk": {}, "yahoo.fr": {}, "yahoo.co.jp": {},
	"aol.com":    {},
	"icloud.com": {}, "me.com": {}, "mac.com": {},
	"proton.me": {}, "protonmail.com": {},
	"gmx.com": {}, "gmx.de": {}, "gmx.net": {}, "web.de": {}, "t-online.de": {},
	"mail.com": {}, "zoho.com": {},
	"yandex.ru": {}, "yandex.com": {}, "mail.ru": {},
	"qq.com": {}, "163.com": {}, "126.com": {}, "naver.com": {},
	"comcast.net": {}, "orange.fr": {}, "free.fr": {}, "libero.it": {},
}

// IsProviderDomain reports whether domain (canonical: lowercase, IDNA
// ASCII) is one of the mailbox providers' domains that [Guard.Block]
// refuses to block without [AllowProviderDomain]: gmail.com,
// googlemail.com, outlook.com, hotmail.com (and .co.uk, .fr), live.com
// (and .co.uk), msn.com, outlook.fr, yahoo.com (and .co.uk, .fr, .co.jp),
// ymail.com, aol.com, icloud.com, me.com, mac.com, proton.me,
// protonmail.com, gmx.com, gmx.de, gmx.net, web.de, t-online.de, mail.com,
// zoho.com, yandex.ru, yandex.com, mail.ru, qq.com, 163.com, 126.com,
// naver.com, comcast.net, orange.fr, free.fr and libero.it. A subdomain
// of one is not on the list.
func IsProviderDomain(domain string) bool {
	_, ok := providerDomains[domain]
	return ok
}
