package verify

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for a person: one line per finding (FAIL, or
// "ok" for an expected overwrite), every version too when all is set, and
// the summary line last.
func (r Report) WriteText(w io.Writer, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if all {
		for _, v := range r.Versions {
			state := "ok"
			if len(v.Problems) > 0 {
				codes := make([]string, len(v.Problems))
				for i, c := range v.Problems {
					codes[i] = string(c)
				}
				state = strings.Join(codes, ",")
			}
			cur := ""
			if v.IsLatest {
				cur = "current"
			}
			what := fmt.Sprintf("%d bytes", v.Size)
			if v.DeleteMarker {
				what = "delete marker"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", state, v.Key, v.VersionID, cur, orDash(v.Kind), what)
		}
		if len(r.Versions) > 0 {
			fmt.Fprintln(tw)
		}
	}
	for _, p := range r.Problems {
		verdict := "FAIL"
		if p.Expected {
			verdict = "ok"
		}
		version := "-"
		if p.VersionID != "" {
			version = "version " + p.VersionID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", verdict, p.Code, p.Key, version, p.Detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, r.SummaryLine())
	return err
}

// SummaryLine is "verify: N versions, M keys, K problems", with the expected
// overwrites and delete markers when there are any, and where it looked.
func (r Report) SummaryLine() string {
	s := r.Summary
	line := fmt.Sprintf("verify: %d %s, %d %s, %d %s", s.Versions, plural(s.Versions, "version"), s.Keys, plural(s.Keys, "key"), s.Problems, plural(s.Problems, "problem"))
	var extra []string
	if s.DeleteMarkers > 0 {
		extra = append(extra, fmt.Sprintf("%d %s", s.DeleteMarkers, plural(s.DeleteMarkers, "delete marker")))
	}
	if s.Expected > 0 {
		extra = append(extra, fmt.Sprintf("%d expected %s", s.Expected, plural(s.Expected, "overwrite")))
	}
	if len(extra) > 0 {
		line += " (" + strings.Join(extra, ", ") + ")"
	}
	if len(r.Prefixes) == 1 {
		return line + " in s3://" + r.Bucket + "/" + r.Prefixes[0]
	}
	if len(r.Prefixes) > 1 {
		return fmt.Sprintf("%s in s3://%s under %d prefixes (%s … %s)", line, r.Bucket, len(r.Prefixes), r.Prefixes[0], r.Prefixes[len(r.Prefixes)-1])
	}
	return line + " in s3://" + r.Bucket + "/" + r.Prefix
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
