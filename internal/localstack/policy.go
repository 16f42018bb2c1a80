package localstack

import (
	"encoding/json"
	"fmt"

	"github.com/versity/versitygw/auth"
)

// forVersitygw adapts a bucket policy to what versitygw implements: actions
// it does not know (and so could never perform, e.g. s3:PutObjectVersionAcl)
// are left out of the statements, since versitygw refuses a policy that
// names them. It returns the policy and what was left out, for the log.
func forVersitygw(policy []byte) ([]byte, []string, error) {
	var doc map[string]any
	if err := json.Unmarshal(policy, &doc); err != nil {
		return nil, nil, fmt.Errorf("localstack: bucket policy: %w", err)
	}
	stmts, ok := doc["Statement"].([]any)
	if !ok {
		return policy, nil, nil
	}
	var dropped []string
	kept := make([]any, 0, len(stmts))
	for _, st := range stmts {
		m, ok := st.(map[string]any)
		if !ok {
			kept = append(kept, st)
			continue
		}
		var actions []any
		switch a := m["Action"].(type) {
		case string:
			actions = []any{a}
		case []any:
			actions = a
		default:
			kept = append(kept, st)
			continue
		}
		var valid []any
		for _, a := range actions {
			s, _ := a.(string)
			if auth.Action(s).IsValid() == nil {
				valid = append(valid, s)
			} else {
				dropped = append(dropped, s)
			}
		}
		if len(valid) == 0 {
			continue
		}
		m["Action"] = valid
		kept = append(kept, m)
	}
	doc["Statement"] = kept
	out, err := json.Marshal(doc)
	return out, dropped, err
}
