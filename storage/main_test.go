package storage_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sendguard/sendguard/storage"
)

// Child processes: a test re-executes the test binary with helperEnv set to
// a mode, and TestMain runs that mode instead of the tests.
const (
	helperEnv = "SENDGUARD_STORAGE_HELPER" // "hold" or "crash"
	dirEnv    = "SENDGUARD_STORAGE_DIR"
	tagEnv    = "SENDGUARD_STORAGE_TAG"  // crash: unique key tag
	seedEnv   = "SENDGUARD_STORAGE_SEED" // crash: the child's random seed
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(helperEnv); mode {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(helperHold(os.Getenv(dirEnv)))
	case "crash":
		seed, _ := strconv.ParseUint(os.Getenv(seedEnv), 10, 64)
		os.Exit(helperCrash(os.Getenv(dirEnv), os.Getenv(tagEnv), seed))
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, mode)
		os.Exit(2)
	}
}

// helperHold opens the store in dir, says "ready", and holds it open until
// its standard input is closed.
func helperHold(dir string) int {
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperCrash opens the store in dir and writes until it is killed,
// printing one line per acknowledged write, after the call returned:
//
//	put <key>          Put returned added
//	imp <key> <key>…   Import returned with all of them added
//	try <key>          about to Delete key (not acknowledged)
//	del <key>          Delete returned existed
//
// Standard output is unbuffered (each line is a write to the pipe), so a
// printed line has left the process before the next write starts.
func helperCrash(dir, tag string, seed uint64) int {
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	ctx := context.Background()
	var live []string // contact values blocked by this child and not deleted
	next := 0
	newContact := func() string {
		next++
		return fmt.Sprintf("%s-%d@crash.test", tag, next)
	}
	fmt.Println("ready")
	for range 1_000_000 {
		switch r := rng.IntN(100); {
		case r < 55:
			v := newContact()
			added, _, err := s.Put(ctx, entry(email(v)))
			if err != nil || !added {
				fmt.Fprintln(os.Stderr, "put:", added, err)
				return 1
			}
			live = append(live, v)
			fmt.Println("put e:" + v)
		case r < 85:
			batch := make([]string, 1+rng.IntN(200))
			in := make([]storage.Entry, len(batch))
			for i := range batch {
				batch[i] = newContact()
				in[i] = entry(email(batch[i]))
			}
			res, err := s.Import(ctx, in)
			if err != nil || res.Added != len(in) {
				fmt.Fprintln(os.Stderr, "import:", res, err)
				return 1
			}
			live = append(live, batch...)
			fmt.Println("imp e:" + strings.Join(batch, " e:"))
		default:
			if len(live) == 0 {
				continue
			}
			i := rng.IntN(len(live))
			v := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			fmt.Println("try e:" + v)
			existed, err := s.Delete(ctx, email(v), "local")
			if err != nil || !existed {
				fmt.Fprintln(os.Stderr, "delete:", existed, err)
				return 1
			}
			fmt.Println("del e:" + v)
		}
	}
	return 0
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Scanner // its standard output
	stderr *strings.Builder
}

// startChild starts the test binary in helper mode with the given
// environment variables ("K=V") added.
func startChild(t *testing.T, mode string, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), stderr: new(strings.Builder)}
	c.cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	c.cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.lines = readLines(out)
	return c
}

// readLines returns a scanner over r with room for long "imp" lines.
func readLines(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return sc
}
