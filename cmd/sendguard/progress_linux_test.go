package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair: the program writes to the
// terminal side, the test reads what it wrote from the controller side.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	c, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, c.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlock pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, c.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("pty number: %v", e)
	}
	term, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	return c, term
}

// TestImportProgressBar runs an import whose stderr is a terminal: the
// bar is drawn there, erased before each reject and at the end, and stdout
// (not a terminal) gets only the summary.
func TestImportProgressBar(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	var in strings.Builder
	const n = 25_000
	for i := range n {
		if i == 12_345 {
			in.WriteString("bad line\n")
			continue
		}
		fmt.Fprintf(&in, "p%d@example.com\n", i)
	}
	path := filepath.Join(s.dir, "list.txt")
	if err := os.WriteFile(path, []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	ctl, term := openPTY(t)
	defer func() { _ = ctl.Close() }()
	cmd := exec.Command(binPath, "import", path)
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), "SENDGUARD_DB="+s.db)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, term
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = term.Close() // the child has its copy
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(ctl) // ends with EIO once the child is gone
		read <- b
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("import: %v", err)
	}
	tty := string(<-read)

	wantLines(t, stdout.String(), summary(n-1, 0, 1))
	for _, want := range []string{
		"\r[", "100%  line 25000: imported 24999, already present 0, invalid 1\x1b[K", // the bar
		"\r\x1b[Kline 12346: bad line: ", // erased before the reject
	} {
		if !strings.Contains(tty, want) {
			t.Fatalf("terminal output lacks %q:\n%q", want, tty)
		}
	}
	if !strings.HasSuffix(tty, "\r\x1b[K") {
		t.Fatalf("the bar is not erased at the end:\n%q", tty)
	}
}
