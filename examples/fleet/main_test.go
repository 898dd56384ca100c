package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestRun runs the demo: each change reaches every member, and the
// restarted member catches up with the block it missed.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), t.TempDir(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"answers for ann@example.com: api-1=blocked api-2=blocked api-3=blocked",
		"answers for ann@example.com: api-1=allowed api-2=allowed api-3=allowed",
		"api-3: blocked after",
		"answers for +14155550100: api-1=blocked api-2=blocked api-3=blocked",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
