package local

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/versity/versitygw/auth"
)

// iamRead answers the IAM reads of Account A's local roles that `logvault
// audit --live` makes: GetRole, ListRolePolicies, GetRolePolicy,
// ListAttachedRolePolicies (none are attached locally), GetPolicy and
// GetPolicyVersion (NoSuchEntity). As on AWS, only Account A's principals
// may read its roles: its root, and those whose identity policies allow
// the action. The documents answered are those the stack applies.
func (s *stsServer) iamRead(caller auth.Account, form url.Values) (any, error) {
	action := form.Get("Action")
	switch action {
	case "GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies", "GetPolicy", "GetPolicyVersion":
	default:
		return nil, &stsError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("the IAM action %q is not served by this local endpoint", action)}
	}
	name := form.Get("RoleName")
	resource := "arn:aws:iam::" + AccountA + ":role/" + name
	if strings.HasPrefix(action, "GetPolicy") {
		resource = form.Get("PolicyArn")
	}
	if !s.iamAllowed(caller, "iam:"+action, resource) {
		return nil, &stsError{http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: iam:%s on resource: %s", caller.Arn, action, resource)}
	}
	if strings.HasPrefix(action, "GetPolicy") {
		return nil, &stsError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("Policy %s does not exist or is not attachable.", resource)}
	}
	ro := s.roles[resource]
	if ro == nil {
		return nil, &stsError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name)}
	}
	switch action {
	case "GetRole":
		out := &getRoleResponse{}
		out.Result.Role = iamRole{Path: "/", RoleName: name, RoleID: "AROA" + strings.ToUpper(fmt.Sprintf("%x", sha256Sum(ro.arn)[:8])), Arn: ro.arn,
			CreateDate: "2026-01-01T00:00:00Z", AssumeRolePolicyDocument: iamEscape(ro.trustJSON), MaxSessionDuration: int(ro.maxSessionDuration.Seconds())}
		return out, nil
	case "ListRolePolicies":
		out := &listRolePoliciesResponse{}
		for _, p := range ro.policies {
			out.Result.PolicyNames = append(out.Result.PolicyNames, p.name)
		}
		return out, nil
	case "GetRolePolicy":
		for _, p := range ro.policies {
			if p.name == form.Get("PolicyName") {
				out := &getRolePolicyResponse{}
				out.Result.RoleName, out.Result.PolicyName, out.Result.PolicyDocument = name, p.name, iamEscape(p.json)
				return out, nil
			}
		}
		return nil, &stsError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role policy with name %s cannot be found.", form.Get("PolicyName"))}
	default: // ListAttachedRolePolicies
		return &listAttachedRolePoliciesResponse{}, nil
	}
}

// iamAllowed decides an IAM read: Account A's root, or an Account A
// principal whose identity policies allow it.
func (s *stsServer) iamAllowed(caller auth.Account, action, resource string) bool {
	if accountOf(caller.Arn) != AccountA {
		return false
	}
	if caller.Arn == "arn:aws:iam::"+AccountA+":root" {
		return true
	}
	return s.iam.authz.identityAllows(caller, action, resource)
}

// iamEscape URL-encodes a policy document as IAM returns it.
func iamEscape(doc []byte) string { return awsEscape(string(doc)) }

type iamRole struct {
	Path                     string `xml:"Path"`
	RoleName                 string `xml:"RoleName"`
	RoleID                   string `xml:"RoleId"`
	Arn                      string `xml:"Arn"`
	CreateDate               string `xml:"CreateDate"`
	AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
	MaxSessionDuration       int    `xml:"MaxSessionDuration"`
}

type getRoleResponse struct {
	XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ GetRoleResponse"`
	Result  struct {
		Role iamRole `xml:"Role"`
	} `xml:"GetRoleResult"`
}

type listRolePoliciesResponse struct {
	XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ListRolePoliciesResponse"`
	Result  struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	} `xml:"ListRolePoliciesResult"`
}

type getRolePolicyResponse struct {
	XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ GetRolePolicyResponse"`
	Result  struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	} `xml:"GetRolePolicyResult"`
}

type listAttachedRolePoliciesResponse struct {
	XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ListAttachedRolePoliciesResponse"`
	Result  struct {
		AttachedPolicies struct{} `xml:"AttachedPolicies"`
		IsTruncated      bool     `xml:"IsTruncated"`
	} `xml:"ListAttachedRolePoliciesResult"`
}
