package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

const operationsDoc = "../../docs/operations.md"

// reference renders every available command's help as Markdown, in the
// tree's order, linking commands to each other's sections on the page.
func reference(t *testing.T, root *cobra.Command) string {
	t.Helper()
	var b bytes.Buffer
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		b.WriteString("\n")
		anchor := func(file string) string { // logvault_local_up.md → #logvault-local-up
			return "#" + strings.ReplaceAll(strings.TrimSuffix(file, ".md"), "_", "-")
		}
		if err := doc.GenMarkdownCustom(c, &b, anchor); err != nil {
			t.Fatal(err)
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() && !sub.IsAdditionalHelpTopicCommand() {
				walk(sub)
			}
		}
	}
	walk(root)
	// One blank line between blocks, none at the end.
	out := b.String()
	for strings.Contains(out, "\n\n\n") {
		out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
	}
	return strings.TrimSpace(out) + "\n"
}

// TestOperationsReference: docs/operations.md ends with the reference of
// every command, exactly as the commands' help gives it (usage, flags,
// defaults), so the page cannot drift from the CLI.
func TestOperationsReference(t *testing.T) {
	page, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	const marker = "rewrites it. -->\n"
	i := bytes.Index(page, []byte(marker))
	if i < 0 {
		t.Fatalf("%s has no generated-reference marker %q", operationsDoc, marker)
	}
	head := page[:i+len(marker)]
	want := reference(t, rootCmd())
	if os.Getenv("LOGVAULT_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(operationsDoc, append(append(head, '\n'), want...), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := strings.TrimSpace(string(page[i+len(marker):])) + "\n"; got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for n := 0; n < len(gl) && n < len(wl); n++ {
			if gl[n] != wl[n] {
				t.Fatalf("%s is stale at reference line %d:\n  page: %q\n  help: %q\n(LOGVAULT_UPDATE_DOCS=1 go test ./cmd/logvault/ -run TestOperationsReference)", operationsDoc, n+1, gl[n], wl[n])
			}
		}
		t.Fatalf("%s is stale: %d reference lines, the help gives %d (LOGVAULT_UPDATE_DOCS=1 go test ./cmd/logvault/ -run TestOperationsReference)", operationsDoc, len(gl), len(wl))
	}
}

// TestDocLinks: every relative link of the README and docs/ names a file
// that exists, and the README stays short (about 12 KB: what, the two
// commands, the diagram, the packages, the links).
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "../../README.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target, _, _ := strings.Cut(m[1], "#")
			if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(page), target)); err != nil {
				t.Errorf("%s links to %s, which does not exist", strings.TrimPrefix(page, "../../"), m[1])
			}
		}
	}
	if st, err := os.Stat("../../README.md"); err != nil || st.Size() > 12<<10 {
		t.Errorf("README.md is %d bytes, over 12 KiB: move the detail into docs/ (%v)", st.Size(), err)
	}
}
