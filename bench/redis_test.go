package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The Redis baseline (opt-in: SENDGUARD_BENCH_REDIS=1): what users pick
// instead of an embedded guard. A redis-server from PATH, started on a free
// loopback port with persistence off, holds every key of the fixture in
// one set; a check normalizes its input, as the guard does, and asks
// SISMEMBER over its own connection. The client is a few lines of RESP by
// hand (no dependency for a benchmark).
var (
	redisOnce sync.Once
	redisAddr string
	redisCmd  *exec.Cmd
	redisErr  error
	redisSkip string
)

const redisSetKey = "sendguard:blocked"

func redisWanted() bool { return os.Getenv("SENDGUARD_BENCH_REDIS") == "1" }

// getRedis starts and fills the server on first use; it skips b when the
// baseline is not wanted or redis-server is not installed.
func getRedis(b *testing.B, f *fixture) string {
	b.Helper()
	if !redisWanted() {
		b.Skip("Redis baseline is opt-in: set SENDGUARD_BENCH_REDIS=1 (needs redis-server on PATH)")
	}
	redisOnce.Do(func() { redisAddr, redisSkip, redisErr = startRedis(f) })
	if redisSkip != "" {
		b.Skip(redisSkip)
	}
	if redisErr != nil {
		b.Fatal(redisErr)
	}
	return redisAddr
}

func startRedis(f *fixture) (addr, skip string, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", "redis-server is not on PATH: Redis baseline skipped (apt-get install redis-server)", nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	dir, err := os.MkdirTemp("", "sendguard-bench-redis-")
	if err != nil {
		return "", "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	redisCmd = cmd
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var c *respConn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = dialRESP(addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return "", "", fmt.Errorf("bench: redis-server did not start: %w", err)
		}
	}
	defer c.Close()
	// Fill the set in pipelined SADDs of 1,000 members.
	norm := f.g.Normalizer()
	const batch = 1000
	for lo := 0; lo < f.n; lo += batch {
		args := []string{"SADD", redisSetKey}
		for i := lo; i < min(lo+batch, f.n); i++ {
			ct, err := norm.Parse(contact(i))
			if err != nil {
				return "", "", err
			}
			args = append(args, string(ct.Key()))
		}
		if _, err := c.do(args...); err != nil {
			return "", "", err
		}
	}
	n, err := c.do("SCARD", redisSetKey)
	if err != nil || n != int64(f.n) {
		return "", "", fmt.Errorf("bench: redis holds %d keys, want %d (%v)", n, f.n, err)
	}
	return addr, "", nil
}

func stopRedis() {
	if redisCmd != nil && redisCmd.Process != nil {
		_ = redisCmd.Process.Kill()
		_ = redisCmd.Wait()
	}
}

// redisChecker returns a check for one goroutine, with its own connection.
func redisChecker(f *fixture, addr string) func(string) (bool, error) {
	c, err := dialRESP(addr)
	if err != nil {
		return func(string) (bool, error) { return false, err }
	}
	return keyed(f.g.Normalizer(), func(key []byte) (bool, error) {
		n, err := c.sismember(key)
		return n == 1, err
	})
}

// respConn is a minimal RESP2 client: commands out as arrays of bulk
// strings, integer or simple replies in.
type respConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	buf  []byte
}

func dialRESP(addr string) (*respConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &respConn{conn: conn, r: bufio.NewReader(conn), w: bufio.NewWriter(conn)}, nil
}

func (c *respConn) Close() error { return c.conn.Close() }

func (c *respConn) do(args ...string) (int64, error) {
	c.buf = strconv.AppendInt(append(c.buf[:0], '*'), int64(len(args)), 10)
	c.buf = append(c.buf, '\r', '\n')
	for _, a := range args {
		c.buf = appendBulk(c.buf, a)
	}
	return c.roundTrip()
}

// sismember sends SISMEMBER without allocating.
func (c *respConn) sismember(member []byte) (int64, error) {
	c.buf = append(c.buf[:0], "*3\r\n$9\r\nSISMEMBER\r\n$"...)
	c.buf = strconv.AppendInt(c.buf, int64(len(redisSetKey)), 10)
	c.buf = append(c.buf, "\r\n"+redisSetKey+"\r\n$"...)
	c.buf = strconv.AppendInt(c.buf, int64(len(member)), 10)
	c.buf = append(c.buf, '\r', '\n')
	c.buf = append(c.buf, member...)
	c.buf = append(c.buf, '\r', '\n')
	return c.roundTrip()
}

func appendBulk(dst []byte, s string) []byte {
	dst = strconv.AppendInt(append(dst, '$'), int64(len(s)), 10)
	dst = append(dst, '\r', '\n')
	dst = append(dst, s...)
	return append(dst, '\r', '\n')
}

// roundTrip writes c.buf and reads one reply: an integer (":n"), a simple
// string ("+OK", as 0) or an error ("-ERR ...").
func (c *respConn) roundTrip() (int64, error) {
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 3 {
		return 0, errors.New("bench: short RESP reply")
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		return n, err
	case '+':
		return 0, nil
	case '-':
		return 0, fmt.Errorf("bench: redis: %s", body)
	}
	return 0, fmt.Errorf("bench: unexpected RESP reply %q", line)
}
