package audit

import (
	"fmt"
	"sort"
	"strings"
)

// modelledKeys are the condition keys whose values the proof knows for
// each principal and request (lower case). Any other key may take a value
// the requester chooses, or one the proof cannot know.
var modelledKeys = map[string]bool{
	"aws:principalarn":          true,
	"aws:principalaccount":      true,
	"aws:principalorgid":        true, // Accounts A, B and C are members; 444444444444 is in none, 555555555555 in another
	"aws:principalorgpaths":     true, // the members' <org>/r-ab12/ou-ab12-11111111/
	"s3:prefix":                 true, // a listing is asked without one and with every prefix witness
	"aws:userid":                true,
	"aws:resourceaccount":       true, // the vault's account
	"aws:securetransport":       true, // both values are tried
	"aws:principalservicename":  true,
	"aws:principalisawsservice": true,
	"sts:externalid":            true, // absent, right and wrong are tried
	// The writer's session-tag binding: no tag, the caller's own account,
	// another account, and the tag made transitive are tried.
	"aws:requesttag/logvault-source-account":   true,
	"aws:principaltag/logvault-source-account": true, // the writer's sessions carry it
	"aws:tagkeys":           true,
	"sts:transitivetagkeys": true,
}

// unmodelledMarker turns an operator into one the evaluator does not know,
// so that it treats the condition as unknown: met in an Allow, unmet in a Deny.
const unmodelledMarker = " [key not modelled by the audit]"

// modelNotes are the assumptions every proof makes.
var modelNotes = []string{
	"principals of other accounts (Account B's included) and anonymous callers: their own identity policies are assumed to allow everything; only the vault's side can stop them",
	"Account A principals other than the writer, the break-glass role and the template's roles: administrators whose identity policy allows * on *",
	"the roles whose policies are read (the template's, or the writer and break-glass roles live): only those policies grant (a boundary, session policy or SCP could only take rights away)",
	"object actions are asked for a key no policy names and for a key of every object pattern the policies name",
	"condition keys other than aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID and aws:PrincipalOrgPaths (Accounts A, B and C in one Organization, 444444444444 in none, 555555555555 in another), aws:userid, aws:ResourceAccount, aws:SecureTransport (true and false), aws:PrincipalServiceName, aws:PrincipalIsAWSService, sts:ExternalId (absent, right, wrong), s3:prefix (absent, empty, and a value of every pattern the policies name) and, for AssumeRole, the session tag logvault-source-account (absent, the caller's account, another account, transitive) are not modelled: a condition on one counts as met in an Allow and unmet in a Deny, so a Deny resting on the region, a tag or a request header protects nothing here",
	"patterns in Principal, aws:PrincipalArn, aws:PrincipalAccount and aws:userid are instantiated with principals an attacker could create that match them",
}

// unmodelled rewrites, in place, every condition of d on a key the proof
// does not model so the evaluator treats it as unknown, and returns a
// note per rewritten condition.
func unmodelled(d Doc) []string {
	var notes []string
	for i := range d.D.Statements {
		s := &d.D.Statements[i]
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
			for _, k := range sortedKeys(s.Condition[op]) {
				target := op
				if !modelledKeys[strings.ToLower(k)] && !strings.HasSuffix(op, unmodelledMarker) {
					target = op + unmodelledMarker
					if s.Effect == "Deny" {
						notes = append(notes, fmt.Sprintf("%s: %s: %s %s: condition key not modelled: this Deny is not relied on", d.Name, id, op, k))
					} else {
						notes = append(notes, fmt.Sprintf("%s: %s: %s %s: condition key not modelled, this Allow is counted as granting", d.Name, id, op, k))
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
