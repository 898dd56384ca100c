package main

import (
	_ "embed"
	"fmt"
	"go/doc/comment"
	"io"
	"strings"
)

// docGo is this program's doc.go: its package comment is the reference
// that help prints, so that the two never differ.
//
//go:embed doc.go
var docGo string

// reference parses the package comment of doc.go.
func reference() *comment.Doc {
	var lines []string
	for line := range strings.Lines(docGo) {
		line = strings.TrimRight(line, "\n")
		if !strings.HasPrefix(line, "//") {
			break
		}
		line = strings.TrimPrefix(line, "//")
		lines = append(lines, strings.TrimPrefix(line, " "))
	}
	var p comment.Parser
	return p.Parse(strings.Join(lines, "\n"))
}

// section returns the blocks under the heading named name, the heading
// included, or nil.
func section(d *comment.Doc, name string) []comment.Block {
	var out []comment.Block
	for _, b := range d.Content {
		if h, ok := b.(*comment.Heading); ok {
			if out != nil {
				break
			}
			if headingText(h) == name {
				out = append(out, b)
			}
			continue
		}
		if out != nil {
			out = append(out, b)
		}
	}
	return out
}

func headingText(h *comment.Heading) string {
	var b strings.Builder
	for _, t := range h.Text {
		if p, ok := t.(comment.Plain); ok {
			b.WriteString(string(p))
		}
	}
	return b.String()
}

// render prints d as plain text for a terminal.
func render(d *comment.Doc) []byte {
	p := comment.Printer{TextWidth: 78}
	return p.Text(d)
}

// help prints the whole reference, or one command's part of it.
func (a *app) help(args []string) int {
	switch len(args) {
	case 0:
		a.stdout.Write(render(reference()))
		return exitOK
	case 1:
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
			return a.help(nil)
		}
		return a.commandHelp(a.stdout, args[0])
	}
	return a.failf("help: want at most one COMMAND, got %d", len(args))
}

// commandHelp prints the reference's section about the named command and
// the common flags, to w; for an unknown command it fails.
func (a *app) commandHelp(w io.Writer, name string) int {
	d := reference()
	blocks := section(d, name)
	if blocks == nil {
		fmt.Fprintf(a.stderr, "sendguard: help: unknown command %q\n\n", name)
		a.usage(a.stderr)
		return exitErr
	}
	blocks = append(blocks, section(d, "Common flags")...)
	w.Write(render(&comment.Doc{Content: blocks, Links: d.Links}))
	return exitOK
}
