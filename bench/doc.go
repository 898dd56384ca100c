// Package bench holds sendguard's cross-package benchmarks: the guard on a
// store of a million (or ten million) blocked contacts, against its floor
// (normalize + one bare bloom.Test), the same lookups done by Badger alone,
// by a Go map and, opt-in, by Redis; BenchmarkRatio reports the ratios
// measured side by side. It has no API; nothing
// imports it. See README.md for the figures and how they were made.
//
// # Running
//
//	go test -run='^$' -bench=. ./bench                          # N = 1,000,000
//	SENDGUARD_BENCH_N=10000000 go test -run='^$' -bench=. -timeout=2h ./bench
//
// The store is built once per run (the first benchmark that needs it
// builds it; later ones reuse it): N contacts, three emails to one phone
// number, imported through guard.Import in chunks into an on-disk Badger
// store in a temporary directory, removed at the end of the run.
//
// # Environment
//
//   - SENDGUARD_BENCH_N: the number of blocked contacts. The default value
//     is 1,000,000.
//   - SENDGUARD_BENCH_CHUNK: contacts per guard.Import call while building.
//     The default value is 50,000.
//   - SENDGUARD_BENCH_REDIS: 1 adds the Redis baseline (SISMEMBER over
//     loopback to a redis-server started from PATH; skipped with a message
//     when there is none). The default is off.
//   - TMPDIR: where the store is built (os.MkdirTemp).
//
// # Concurrency
//
// The benchmarks share one store and must not run in parallel with each
// other (the testing package runs benchmarks one at a time).
package bench
