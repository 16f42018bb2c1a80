package audit

import (
	"fmt"
	"sort"
	"strings"
)

// modelledKeys are the condition keys whose values the audit knows for
// each principal and request variant (lower case). Any other key may take
// a value the requester chooses, or one the audit cannot know.
var modelledKeys = map[string]bool{
	"aws:principalarn":     true,
	"aws:principalaccount": true,
	"aws:resourceaccount":  true, // Account A: the vault's
	"aws:securetransport":  true, // both values are tried
	"sts:externalid":       true, // absent, right and wrong are tried
}

// unmodelledMarker turns an operator into one the evaluator does not know,
// so that it treats the condition as unknown: met in an Allow, unmet in a Deny.
const unmodelledMarker = " [key not modelled by the audit]"

// modelNotes are the assumptions every proof makes.
var modelNotes = []string{
	"principals outside Account A (Account B, other accounts, anonymous): their own identity policies are assumed to allow everything; the bucket policy and the trust policy decide",
	"Account A principals other than the writer and break-glass: identity policies unknown, assumed to allow everything; only the bucket policy's Deny statements protect the vault from them",
	"the writer role: only the policies the template attaches to it grant (a permissions boundary, session policy or SCP could only take rights away)",
	"condition keys other than aws:PrincipalArn, aws:PrincipalAccount, aws:ResourceAccount (the vault's account), aws:SecureTransport (true and false tried) and sts:ExternalId (absent, right, wrong tried) are not modelled: such a condition counts as met in an Allow and as unmet in a Deny (so the Denies on request headers, SSE-C, KMS, ACLs, lock headers and storage classes, are not relied on)",
	"representatives stand for each kind of principal; every further principal the policies name is checked too",
	"out of scope: the Account A root user (AWS always lets it replace the bucket policy), the break-glass role and whoever may change its trust policy",
}

// makeUnmodelledUnknown rewrites, in place, every condition on a key the
// audit does not model so the evaluator treats it as unknown, and returns
// one note per rewritten condition.
func makeUnmodelledUnknown(d doc) []string {
	var notes []string
	for i := range d.d.Statements {
		s := &d.d.Statements[i]
		if len(s.Condition) == 0 {
			continue
		}
		id := s.Sid
		if id == "" {
			id = fmt.Sprintf("#%d", i)
		}
		out := make(map[string]map[string][]string, len(s.Condition))
		ops := make([]string, 0, len(s.Condition))
		for op := range s.Condition {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			keys := make([]string, 0, len(s.Condition[op]))
			for k := range s.Condition[op] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				target := op
				if !modelledKeys[strings.ToLower(k)] {
					target = op + unmodelledMarker
					if s.Effect == "Deny" {
						notes = append(notes, fmt.Sprintf("%s: %s: %s %s: condition key not modelled: this Deny is not relied on", d.name, id, op, k))
					} else {
						notes = append(notes, fmt.Sprintf("%s: %s: %s %s: condition key not modelled, this Allow is counted as granting", d.name, id, op, k))
					}
				}
				if out[target] == nil {
					out[target] = map[string][]string{}
				}
				out[target][k] = s.Condition[op][k]
			}
		}
		s.Condition = out
	}
	return notes
}
