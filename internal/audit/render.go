package audit

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteText writes the report: what was proven, what is reported and
// assumed, the warnings, one line per finding and, last, the summary.
func WriteText(w io.Writer, r Report) error {
	fmt.Fprintf(w, "logvault audit of %s\n", r.Source)
	fmt.Fprintf(w, "asked: every one of %d S3 actions on the bucket and on %d keys, of %d principals, over TLS and plain HTTP;\n", r.Actions, r.Keys, r.Principals)
	if r.Live {
		fmt.Fprintln(w, "  every way into the writer and break-glass roles; every change to them; the bucket's settings, as deployed")
	} else {
		fmt.Fprintln(w, "  every way into the writer and the template's roles; every change to the writer and break-glass roles;")
		fmt.Fprintln(w, "  the bucket's settings; every value the template's parameters admit")
	}
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintln(w, "\n"+title)
		for _, l := range lines {
			fmt.Fprintln(w, "  - "+l)
		}
	}
	section("reported (holds only with the Organization's guardrails, or is for you to judge):", r.Reported)
	section("assumed:", r.Assumptions)
	fmt.Fprintln(w)
	for _, s := range r.Warnings {
		fmt.Fprintln(w, "WARNING: "+s)
	}
	for _, f := range r.Findings {
		fmt.Fprintln(w, f.String())
	}
	if _, err := fmt.Fprintln(w, r.Summary()); err != nil {
		return fmt.Errorf("audit: write report: %w", err)
	}
	return nil
}

// jsonReport is the --json form: the report with its outcome.
type jsonReport struct {
	OK      bool   `json:"ok"`
	Summary string `json:"summary"`
	Report
}

// WriteJSON writes the report as one JSON object.
func WriteJSON(w io.Writer, r Report) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, p := range []*[]string{&r.Warnings, &r.Reported, &r.Assumptions} {
		if *p == nil {
			*p = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonReport{OK: r.OK(), Summary: r.Summary(), Report: r}); err != nil {
		return fmt.Errorf("audit: write JSON: %w", err)
	}
	return nil
}
