package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// writeDoc replaces, in the page at path, what lies between the markers of
// the mode (make bench or make bench-quick) with the report, its headings
// one level down (the page's "## Results" holds them), dated.
func writeDoc(path string, quick bool, report string, now time.Time) error {
	mode := "make bench"
	if quick {
		mode = "make bench-quick"
	}
	begin, end := "<!-- "+mode+": begin -->\n", "<!-- "+mode+": end -->"
	page, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(page)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q … %q section", path, strings.TrimSpace(begin), end)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(report), "\n") {
		if strings.HasPrefix(line, "#") {
			line = "#" + line
		}
		b.WriteString(line + "\n")
	}
	block := fmt.Sprintf("%s\nWritten by `%s` on %s.\n\n%s\n", begin, mode, now.UTC().Format("2006-01-02"), strings.TrimSpace(b.String()))
	out := s[:i] + block + s[j:]
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return err
	}
	progress("wrote the results into %s", path)
	return nil
}
