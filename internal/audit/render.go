package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as an aligned table, the assumptions, the
// failures and, last, the summary line. source names the template.
func WriteText(w io.Writer, source string, r Report) error {
	fmt.Fprintf(w, "logvault audit of %s\n", source)
	fmt.Fprintf(w, "resolved for: Account A %s (vault), Account B %s (TrustedAccountId), bucket %s, writer %s,\n", AccountA, AccountB, r.BucketARN, r.WriterARN)
	fmt.Fprintf(w, "  FunctionRoleArns %s, BreakGlassRoleName %s (exempt), a placeholder ExternalId\n\n", strings.Join(functionRoles, ","), BreakGlassRoleName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINCIPAL\tACTION\tCONTEXT\tDECISION\tSTATEMENT\tVERDICT")
	for _, rw := range r.Rows {
		verdict := rw.Verdict
		switch {
		case rw.GrantedBy != "":
			verdict += " (granted by " + rw.GrantedBy + ")"
		case rw.Verdict == VerdictOK && rw.Expected == "Allow":
			verdict += " (allowed by design)"
		}
		if len(rw.Assumed) > 0 {
			verdict += " (assumed)"
		}
		stmt := rw.Statement
		if stmt == "" {
			stmt = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", rw.Principal, rw.Action, rw.Context, rw.Decision, stmt, verdict)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("audit: write table: %w", err)
	}
	if len(r.Assumptions) > 0 {
		fmt.Fprintln(w, "\nassumed:")
		for _, a := range r.Assumptions {
			fmt.Fprintln(w, "  - "+a)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
		for _, s := range r.Warnings {
			fmt.Fprintln(w, "WARNING: "+s)
		}
	}
	fmt.Fprintln(w)
	for _, f := range r.Failures {
		fmt.Fprintln(w, f)
	}
	_, err := fmt.Fprintln(w, r.Summary())
	if err != nil {
		return fmt.Errorf("audit: write report: %w", err)
	}
	return nil
}

// jsonReport is the --json form: the report with its source and outcome.
type jsonReport struct {
	Template string `json:"template"`
	OK       bool   `json:"ok"`
	Summary  string `json:"summary"`
	Report
}

// WriteJSON writes the report as one JSON object: the template, ok, the
// summary line, the rows, failures, warnings, assumptions and counts.
func WriteJSON(w io.Writer, source string, r Report) error {
	if r.Rows == nil {
		r.Rows = []Row{}
	}
	for _, p := range []*[]string{&r.Failures, &r.Warnings, &r.Assumptions} {
		if *p == nil {
			*p = []string{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(jsonReport{Template: source, OK: r.OK(), Summary: r.Summary(), Report: r}); err != nil {
		return fmt.Errorf("audit: write JSON: %w", err)
	}
	return nil
}
