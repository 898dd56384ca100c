package guard

import (
	"context"
	"fmt"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// domainSet is an immutable set of blocked domains, probed for every
// email's domain and parent domains. Most probes are for domains that are
// not there; sig answers nearly all of them with one AND, no hashing.
type domainSet struct {
	set map[string]struct{}
	sig [4]uint64 // bit domainSig(d) is set for every d in set
}

func newDomainSet(set map[string]struct{}) *domainSet {
	ds := &domainSet{set: set}
	for d := range set {
		i := domainSig(d)
		ds.sig[i>>6] |= 1 << (i & 63)
	}
	return ds
}

// domainSig picks one of 256 bits for a non-empty domain from its length
// and its first and last bytes: cheap, and spread enough that a few
// hundred blocked domains leave most bits clear.
func domainSig(d string) uint {
	return (uint(len(d))*31 + uint(d[0])*7 + uint(d[len(d)-1])) & 255
}

// has reports whether d is in the set.
func (ds *domainSet) has(d string) bool {
	if d == "" {
		return false
	}
	i := domainSig(d)
	if ds.sig[i>>6]&(1<<(i&63)) == 0 {
		return false
	}
	_, ok := ds.set[d]
	return ok
}

// addDomains publishes a new domain set with ds added. Caller holds wmu.
func (g *Guard) addDomains(ds []string) {
	old := g.domains.Load().set
	next := make(map[string]struct{}, len(old)+len(ds))
	for d := range old {
		next[d] = struct{}{}
	}
	for _, d := range ds {
		next[d] = struct{}{}
	}
	g.domains.Store(newDomainSet(next))
}

// removeDomain publishes a new domain set without d. Caller holds wmu.
func (g *Guard) removeDomain(d string) {
	old := g.domains.Load().set
	if _, ok := old[d]; !ok {
		return
	}
	next := make(map[string]struct{}, len(old))
	for k := range old {
		if k != d {
			next[k] = struct{}{}
		}
	}
	g.domains.Store(newDomainSet(next))
}

func (g *Guard) loadDomains(ctx context.Context) error {
	set := make(map[string]struct{})
	err := g.store.ScanKind(ctx, normalize.Domain, func(e storage.Entry) error {
		set[e.Contact.Value] = struct{}{}
		return nil
	})
	if err != nil {
		return fmt.Errorf("guard: load domain blocks: %w", err)
	}
	g.domains.Store(newDomainSet(set))
	return nil
}
