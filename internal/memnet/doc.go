// Package memnet is an in-memory network: a [net.Listener] whose
// connections are made by its own [Listener.DialContext] over [net.Pipe].
//
// # Overview
//
// It exists so that a real [net/http] server and client can talk without
// sockets. Everything it does is built from channels, so a goroutine blocked
// in [Listener.Accept], in a dial, or in a read or write on one of its
// connections is "durably blocked" in the sense of [testing/synctest]: an
// HTTP exchange over memnet works inside a synctest bubble, where the fake
// clock advances once every goroutine waits, and real sockets do not (a
// goroutine blocked in network I/O is never durably blocked).
//
// A typical use plugs a Listener into an [net/http/httptest.Server] and the
// same Listener's DialContext into the client's [net/http.Transport]:
//
//	ln := memnet.Listen("fake")
//	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
//	srv.Start()
//	client := &http.Client{Transport: &http.Transport{DialContext: ln.DialContext}}
//
// # Concurrency
//
// A [Listener] is safe for concurrent use by multiple goroutines. Each
// connection is a [net.Pipe] end: synchronous and unbuffered, with deadlines.
//
// # Lifecycle
//
// [Listener.Close] makes pending and later Accept and dial calls fail with
// [net.ErrClosed]. It does not close connections already made; their owners
// close them. Inside a synctest bubble, create the Listener inside the
// bubble: its channels belong to the bubble that made them.
package memnet
