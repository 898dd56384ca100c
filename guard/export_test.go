package guard

import "github.com/sendguard/sendguard/storage"

// StoreOf returns g's store, for tests and benchmarks that must reach
// under the guard (break the store, read Badger alone). Never written to.
func StoreOf(g *Guard) *storage.Store { return g.store }
