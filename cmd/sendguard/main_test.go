package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binPath is the sendguard binary TestMain builds; every command test
// runs it as a separate process.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sendguard-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "sendguard")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sendguard:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// result is what one run of the binary did.
type result struct {
	stdout, stderr string
	code           int
}

// sandbox runs the binary with a clean environment (no SENDGUARD_*
// variables from the caller) in its own temporary directory.
type sandbox struct {
	t   *testing.T
	dir string   // working directory of the runs
	db  string   // passed as --db unless the test gives env or flags itself
	env []string // extra environment, KEY=VALUE
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	return &sandbox{t: t, dir: dir, db: filepath.Join(dir, "db")}
}

// baseEnv is the test process's environment without SENDGUARD_*.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SENDGUARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// run runs sendguard with args and stdin, with SENDGUARD_DB set to the
// sandbox's db (so that --db may be left out).
func (s *sandbox) run(stdin string, args ...string) result {
	s.t.Helper()
	return s.runEnv(append([]string{"SENDGUARD_DB=" + s.db}, s.env...), stdin, args...)
}

// runEnv runs sendguard with exactly the extra environment given.
func (s *sandbox) runEnv(env []string, stdin string, args ...string) result {
	s.t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("run sendguard %q: %v", args, err)
	}
	return r
}

// want fails unless r exited with code; it shows the run's output.
func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// lines splits output into lines, without the final newline.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// wantLines fails unless out is exactly these lines.
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	got := lines(out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// wantOneErrorLine fails unless stderr is one "sendguard: " line that
// contains every part.
func wantOneErrorLine(t *testing.T, r result, parts ...string) {
	t.Helper()
	ls := lines(r.stderr)
	if len(ls) != 1 || !strings.HasPrefix(ls[0], "sendguard: ") {
		t.Fatalf("stderr is not one sendguard: line:\n%s", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(ls[0], p) {
			t.Fatalf("stderr %q does not contain %q", ls[0], p)
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
