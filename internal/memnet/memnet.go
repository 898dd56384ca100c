package memnet

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Network is the network name reported by every [Addr].
const Network = "memnet"

// Addr is the address of a [Listener] (and of both ends of its
// connections). It is the name given to [Listen] with ":80" appended, so that
// it can stand as the host:port of a URL.
type Addr string

// Network returns [Network].
func (a Addr) Network() string { return Network }

// String returns the address as text.
func (a Addr) String() string { return string(a) }

// Listener is an in-memory [net.Listener]. Connections are made only by its
// [Listener.DialContext]. The zero Listener is not usable: call [Listen].
//
// A Listener is safe for concurrent use by multiple goroutines.
type Listener struct {
	addr   Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

// Listen returns a new open Listener named name ("memnet" if empty). The
// name only labels addresses: listeners never share anything.
func Listen(name string) *Listener {
	if name == "" {
		name = Network
	}
	return &Listener{
		addr:  Addr(name + ":80"),
		conns: make(chan net.Conn),
		done:  make(chan struct{}),
	}
}

// Accept waits for the next dial and returns the server end of its
// connection. After [Listener.Close] it returns an error wrapping
// [net.ErrClosed].
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, l.opError("accept", net.ErrClosed)
	}
}

// Close stops the listener. Pending and later Accept and dial calls fail.
// Established connections are left open. Close is idempotent and always
// returns nil.
func (l *Listener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.addr }

// DialContext connects to the listener, whatever network and address are
// asked for (a [net/http.Transport] passes the URL's host:port, which only
// routes to this listener). It blocks until the server side accepts the
// connection, ctx is done, or the listener is closed, and returns the client
// end. Its signature matches [net/http.Transport.DialContext].
func (l *Listener) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- &conn{Conn: server, local: l.addr, remote: l.addr}:
		return &conn{Conn: client, local: l.addr, remote: l.addr}, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, l.opError("dial", net.ErrClosed)
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, l.opError("dial", ctx.Err())
	}
}

func (l *Listener) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: Network, Addr: l.addr, Err: fmt.Errorf("memnet: %w", err)}
}

// conn is a pipe end that reports the listener's address instead of "pipe".
type conn struct {
	net.Conn
	local, remote Addr
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
