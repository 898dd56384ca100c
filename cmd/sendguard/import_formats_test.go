package main

import (
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 13: peers' exports load as they are, through the built binary.
func TestImportPeerFormats(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		in       string
		contacts []string
		reason   string // of the first contact
		created  string
		columns  string // the stderr line's description
	}{
		"mailgun rfc 2822": {
			"address,code,error,created_at\nalice@example.com,550,No such mailbox,\"Fri, 26 Apr 2024 10:06:40 UTC\"\nbob@example.com,550,x,1714000000000\n",
			[]string{"alice@example.com", "bob@example.com"}, "No such mailbox", "2024-04-26T10:06:40Z",
			`CSV; contact from "address", reason from "error", created_at from "created_at"`,
		},
		"ses json": {
			`{"SuppressedDestinationSummaries":[{"EmailAddress":"ses@example.com","Reason":"BOUNCE","LastUpdateTime":"2024-04-26T10:06:40.123000+00:00"}],"NextToken":"x"}`,
			[]string{"ses@example.com"}, "BOUNCE", "2024-04-26T10:06:40Z",
			`JSON; contact from "EmailAddress", reason from "Reason", created_at from "LastUpdateTime"`,
		},
		"postmark pretty": {
			"{\n  \"Suppressions\": [\n    {\n      \"EmailAddress\": \"pm@example.com\",\n      \"SuppressionReason\": \"HardBounce\",\n      \"Origin\": \"Recipient\",\n      \"CreatedAt\": \"2024-04-26T06:06:40-04:00\"\n    }\n  ]\n}\n",
			[]string{"pm@example.com"}, "HardBounce", "2024-04-26T10:06:40Z",
			`JSON; contact from "EmailAddress", reason from "SuppressionReason", source from "Origin", created_at from "CreatedAt"`,
		},
		"mailchimp": {
			"Email Address,First Name,OPTIN_TIME,UNSUB_TIME,UNSUB_REASON\nmc@example.com,M,2020-01-01 00:00:00,2024-04-26 10:06:40,Too many emails\n",
			[]string{"mc@example.com"}, "Too many emails", "2024-04-26T10:06:40Z",
			`CSV; contact from "Email Address", reason from "UNSUB_REASON", created_at from "UNSUB_TIME"`,
		},
		"twilio": {
			"phone_number,date_created\n+14155550100,\"Fri, 26 Apr 2024 10:06:40 +0000\"\n",
			[]string{"+14155550100"}, "", "2024-04-26T10:06:40Z",
			`CSV; contact from "phone_number", created_at from "date_created"`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t)
			r := s.run(tc.in, "import", "-").want(t, 0)
			wantLines(t, r.stdout, summary(len(tc.contacts), 0, 0))
			wantLines(t, r.stderr, "sendguard: import: stdin: "+tc.columns)
			r = s.run("", append([]string{"check", "--json"}, tc.contacts...)...).want(t, 1)
			ls := lines(r.stdout)
			for i, l := range ls {
				if !strings.Contains(l, `"blocked":true`) {
					t.Fatalf("%s is not blocked: %s", tc.contacts[i], l)
				}
			}
			if !strings.Contains(ls[0], `"reason":"`+tc.reason+`"`) || !strings.Contains(ls[0], `"created_at":"`+tc.created+`"`) {
				t.Fatalf("check: %s, want reason %q created %s", ls[0], tc.reason, tc.created)
			}
		})
	}
}

// Issue 11 item 3: one unclosed quote swallowed the rest of the file
// with exit 0.
func TestImportUnclosedQuote(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("email,reason\na1@example.com,\"oops\na2@example.com,x\na3@example.com,y\n", "import", "-").want(t, 0)
	wantLines(t, r.stdout, summary(3, 0, 0)+", warnings 1")
	if ls := lines(r.stderr); len(ls) != 2 || ls[1] != "line 2: a1@example.com: imported, but unclosed quote; the line was read up to its end" {
		t.Fatalf("stderr %q", r.stderr)
	}
	s.run("", "check", "a1@example.com", "a2@example.com", "a3@example.com").want(t, 1)
	if strings.Contains(s.run("", "check", "a1@example.com", "a2@example.com", "a3@example.com").stdout, "allowed") {
		t.Fatal("a contact after the broken line is allowed")
	}
}

func TestImportColumnFlag(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	in := "Correo,Motivo,Fecha\nx@example.com,rebote,\"Fri, 26 Apr 2024 10:06:40 GMT\"\n"
	r := s.run(in, "import", "--column", "contact=Correo,reason=Motivo,created_at=Fecha", "-").want(t, 0)
	wantLines(t, r.stdout, summary(1, 0, 0))
	wantLines(t, r.stderr, `sendguard: import: stdin: CSV; contact from "Correo", reason from "Motivo", created_at from "Fecha"`)
	rows := exportCSV(t, s)
	if len(rows) != 1 || rows[0][2] != "rebote" || rows[0][4] != "2024-04-26T10:06:40Z" {
		t.Fatalf("export %v", rows)
	}
	// The flag may be repeated: the mappings add up.
	s2 := newSandbox(t)
	r = s2.run(in, "import", "--column", "contact=Correo", "--column", "reason=Motivo", "--column=created_at=Fecha", "-").want(t, 0)
	wantLines(t, r.stderr, `sendguard: import: stdin: CSV; contact from "Correo", reason from "Motivo", created_at from "Fecha"`)
	if rows := exportCSV(t, s2); len(rows) != 1 || rows[0][2] != "rebote" || rows[0][4] != "2024-04-26T10:06:40Z" {
		t.Fatalf("repeated --column: export %v", rows)
	}
	r = s.run(in, "import", "--column", "colour=Correo", "-").want(t, 2)
	wantOneErrorLine(t, r, "--column", "colour")
	r = s.run(in, "import", "--column", "contact=Correo,reason=Nope", "-").want(t, 2)
	wantOneErrorLine(t, r, "stdin", "line 1", "reason=Nope", "Correo")
}

func TestImportMalformedJSON(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	r := s.run("{\"email\":\"a@example.com\"}\n{\"email\": oops}\n", "import", "-").want(t, 2)
	wantLines(t, r.stdout, summary(1, 0, 0))
	if ls := lines(r.stderr); len(ls) != 2 || !strings.Contains(ls[1], "stdin: line 2: malformed JSON") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// Every export format imports back to the same blocks.
func TestExportFormatsRoundTrip(t *testing.T) {
	t.Parallel()
	src := newSandbox(t)
	src.run("", "block", "--reason", `says "stop", twice`, "Alice <alice@example.com>", "+44 20 7946 0000").want(t, 0)
	src.run("", "block", "--reason", "multi\nline", "--expires", "10d", "*.example.org", "bob@example.net").want(t, 0)
	src.run("bulk1@example.com\n(212) 555-0123\n", "import", "--source", "crm", "-").want(t, 0)
	want := src.run("", "export").want(t, 0).stdout
	n := len(exportCSV(t, src))
	if n != 6 {
		t.Fatalf("%d blocks exported, want 6", n)
	}
	for _, format := range []string{"csv", "jsonl"} {
		// Exported here, not in the parallel subtest: one process at a
		// time opens src.
		out := src.run("", "export", "--format", format).want(t, 0).stdout
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			dst := newSandbox(t)
			r := dst.run(out, "import", "-").want(t, 0)
			wantLines(t, r.stdout, summary(n, 0, 0))
			if got := dst.run("", "export").want(t, 0).stdout; got != want {
				t.Fatalf("%s round trip gave\n%s\nwant\n%s", format, got, want)
			}
		})
	}
}

// Issue 13 item 11: an interrupted import says how far it got and that it
// is safe to run again.
func TestImportInterrupted(t *testing.T) {
	t.Parallel()
	s := newSandbox(t)
	cmd := exec.Command(binPath, "import", "-")
	cmd.Dir = s.dir
	cmd.Env = append(baseEnv(), "SENDGUARD_DB="+s.db)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(stdin, "a@example.com\nb@example.com\n")
	// The database is open (and the signal handler set) once its
	// files exist.
	deadline := time.Now().Add(10 * time.Second)
	for !exists(filepath.Join(s.db, "MANIFEST")) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	_, _ = io.WriteString(stdin, "c@example.com\n")
	_ = stdin.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !asExit(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2; stderr %s", err, errb.String())
	}
	ls := lines(errb.String())
	if !slices.ContainsFunc(ls, func(l string) bool {
		return strings.HasPrefix(l, "sendguard: import: stdin: interrupted; ") && strings.HasSuffix(l, " imported, safe to re-run")
	}) {
		t.Fatalf("stderr %q, want the interrupted line", errb.String())
	}
	if strings.Contains(errb.String(), "context canceled") {
		t.Fatalf("stderr %q says context canceled", errb.String())
	}
}

func asExit(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}
