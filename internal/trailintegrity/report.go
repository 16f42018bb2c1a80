package trailintegrity

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// maxUnlistedRows bounds the unlisted logs the table shows (JSON has all).
const maxUnlistedRows = 20

// WriteTable prints the report as a table (FILE, KIND, STATUS, DETAIL),
// then the note and the summary line.
func (r *Report) WriteTable(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "CloudTrail digests in s3://%s/%s\n\n", r.Bucket, r.Prefix); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tKIND\tSTATUS\tDETAIL")
	unlisted := 0
	for _, res := range r.Results {
		if res.Status == Unlisted {
			if unlisted++; unlisted > maxUnlistedRows {
				continue
			}
		}
		detail := res.Detail
		if detail == "" {
			detail = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", oneLine(res.Key), res.Kind, res.Status, oneLine(detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if unlisted > maxUnlistedRows {
		fmt.Fprintf(w, "… and %d more unlisted log files (--json lists them all)\n", unlisted-maxUnlistedRows)
	}
	fmt.Fprintln(w)
	if r.Note != "" {
		fmt.Fprintln(w, r.Note)
	}
	_, err := fmt.Fprintln(w, r.Summary)
	return err
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	if r.Results == nil {
		r.Results = []Result{}
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(s)
}
