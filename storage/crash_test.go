package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sendguard/sendguard/normalize"
	"github.com/sendguard/sendguard/storage"
)

// TestCrash kills a writing child process with SIGKILL at a random moment,
// five times over the same directory, and after each kill reopens the store
// and checks that every write the child acknowledged is there, that the
// change log has a record for each, and that entries and log agree for
// every contact (acknowledged or not). The seed is printed; set
// SENDGUARD_CRASH_SEED to replay one.
func TestCrash(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SENDGUARD_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("SENDGUARD_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (SENDGUARD_CRASH_SEED=%d to replay)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()

	// What the children acknowledged, over all iterations.
	blocked := map[string]bool{}   // key -> acknowledged blocked (true) or unblocked (false)
	uncertain := map[string]bool{} // delete started, not acknowledged
	var lastSeq uint64
	for iter := range 5 {
		killAfter := 1 + rng.IntN(300) // acknowledged lines before the kill
		acks := runCrashChild(t, dir, fmt.Sprintf("i%d", iter), rng.Uint64(), killAfter, blocked, uncertain)
		t.Logf("iteration %d: killed after %d acknowledged lines (%d read)", iter, killAfter, acks)
		lastSeq = checkAfterCrash(t, dir, blocked, uncertain, lastSeq)
	}
}

// runCrashChild runs one child until it has printed killAfter lines, kills
// it, reads what it printed before dying, and records the acknowledged
// writes. It returns the number of lines read.
func runCrashChild(t *testing.T, dir, tag string, seed uint64, killAfter int, blocked, uncertain map[string]bool) int {
	t.Helper()
	c := startChild(t, "crash", dirEnv+"="+dir, tagEnv+"="+tag, seedEnv+"="+strconv.FormatUint(seed, 10))
	cmd, sc := c.cmd, c.lines
	lines, killed := 0, false
	for sc.Scan() {
		line := sc.Text()
		op, rest, _ := strings.Cut(line, " ")
		switch op {
		case "ready":
			continue
		case "put", "imp":
			for _, k := range strings.Fields(rest) {
				blocked[k] = true
			}
		case "try":
			uncertain[rest] = true
		case "del":
			blocked[rest] = false
			delete(uncertain, rest)
		default:
			t.Errorf("child printed %q", line)
		}
		if lines++; lines == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v before the kill (after %d lines); stderr:\n%s", err, lines, c.stderr)
	}
	return lines
}

// checkAfterCrash reopens the store and checks it against what the
// children acknowledged. It returns the log's last seq.
func checkAfterCrash(t *testing.T, dir string, blocked, uncertain map[string]bool, prevLast uint64) uint64 {
	t.Helper()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()

	// The last op per contact in the log must match the entry's presence.
	lastOp := map[string]storage.Op{}
	var prev uint64
	for _, r := range readAll(t, s) {
		if r.Seq <= prev {
			t.Fatalf("log seq %d after %d", r.Seq, prev)
		}
		prev = r.Seq
		lastOp[string(r.Contact.Key())] = r.Op
	}
	last, _ := s.LastSeq(ctx)
	if last != prev || last < prevLast {
		t.Errorf("LastSeq = %d; log ends at %d; previous run ended at %d", last, prev, prevLast)
	}
	live := map[string]bool{}
	if err := s.ScanKeys(ctx, func(k []byte) error { live[string(k)] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	for k, op := range lastOp {
		if (op == storage.OpBlock) != live[k] {
			t.Errorf("%s: last log op %v but entry present=%v", k, op, live[k])
		}
	}
	for k := range live {
		if _, ok := lastOp[k]; !ok {
			t.Errorf("%s: entry without any log record", k)
		}
	}
	for k, isBlocked := range blocked {
		c, err := normalize.FromKey([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		_, ok, err := s.Get(ctx, c)
		switch {
		case err != nil:
			t.Errorf("Get(%s): %v", k, err)
		case uncertain[k]:
			// A delete was under way at the kill: either outcome, but in
			// step with the log (checked above).
		case isBlocked && !ok:
			t.Errorf("%s: acknowledged block lost", k)
		case isBlocked && lastOp[k] != storage.OpBlock:
			t.Errorf("%s: acknowledged block has no block record last (%v)", k, lastOp[k])
		case !isBlocked && ok:
			t.Errorf("%s: acknowledged unblock lost", k)
		case !isBlocked && lastOp[k] != storage.OpUnblock:
			t.Errorf("%s: acknowledged unblock has no unblock record last (%v)", k, lastOp[k])
		}
	}
	// The next run must not reuse numbers.
	if seq := mustPut(t, s, entry(email(fmt.Sprintf("after-%d@crash.test", last)))); seq <= last {
		t.Errorf("seq %d after reopen is not above %d", seq, last)
	}
	last, _ = s.LastSeq(ctx)
	return last
}
