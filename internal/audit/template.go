package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
)

// canonicalParams are the parameter values of the symbolic deployment; a
// parameter not named here takes its Default, or a placeholder.
func canonicalParams() map[string]string {
	return map[string]string{
		"OrganizationId":    Organization, // every account of the Organization: Principal "*"
		"TrustedAccountIds": "",
		"FunctionRoleNames": strings.Join(functionRoleNames, ","),
		// Source buckets named, so the writer's reads outside the vault are
		// proven in every trust deployment (the Default, none, is a variant).
		"SourceBucketNames":  "logvault-source-bucket",
		"TrustedAccountId":   AccountB, // templates of before OrganizationId
		"ExternalId":         ExternalID,
		"BreakGlassRoleName": BreakGlassRoleName,
		"BreakGlassRoleArn":  BreakGlassRoleARN,                                         // templates of before BreakGlassRoleName
		"FunctionRoleArns":   strings.Join(functionRoles[:len(functionRoleNames)], ","), // Account B's, for templates of before FunctionRoleNames
		"VaultAccountId":     AccountA,
		"VaultBucketName":    BucketName,
	}
}

// breakGlassParams name the exempt principal: what they admit is the
// exemption.
var breakGlassParams = map[string]bool{"BreakGlassRoleName": true, "BreakGlassRoleArn": true}

// templateParam is a parameter as the template declares it.
type templateParam struct {
	Type           string
	Default        any
	AllowedPattern string
	AllowedValues  []any
	MinLength      *int
	MaxLength      *int
	MinValue       *float64
	MaxValue       *float64
}

// resource is a resource as the template declares it.
type resource struct {
	Type       string
	Condition  string
	Properties map[string]any
}

// rawTemplate is what the loader reads before resolving.
type rawTemplate struct {
	Parameters map[string]templateParam
	Conditions map[string]any
	Resources  map[string]resource
	Outputs    map[string]any
	// getAtts are the attributes each resource is asked for (Fn::GetAtt).
	getAtts map[string][]string
}

// relevant reports whether a parameter can change what the proof reads:
// it is referred to, directly or through a condition, by an S3 or IAM
// resource.
func (t rawTemplate) relevant(param string) bool {
	mentions := func(x any, name string) bool {
		js, _ := json.Marshal(x)
		s := string(js)
		return strings.Contains(s, `"Ref":"`+name+`"`) || strings.Contains(s, "${"+name+"}") || strings.Contains(s, `"`+name+`"`)
	}
	for id, r := range t.Resources {
		if !strings.HasPrefix(r.Type, "AWS::IAM::") && !strings.HasPrefix(r.Type, "AWS::S3::") {
			continue
		}
		_ = id
		if mentions(r.Properties, param) {
			return true
		}
		for c, def := range t.Conditions {
			if mentions(def, param) && (mentions(r.Properties, c) || r.Condition == c) {
				return true
			}
		}
	}
	return false
}

func parseRaw(data []byte) (rawTemplate, error) {
	var t rawTemplate
	js, err := cfn.JSON(data)
	if err != nil {
		return t, fmt.Errorf("audit: parse template: %w", err)
	}
	if err := json.Unmarshal(js, &t); err != nil {
		return t, fmt.Errorf("audit: parse template: %w", err)
	}
	t.getAtts = map[string][]string{}
	compact, _ := json.Marshal(t)
	for _, m := range getAttRE.FindAllStringSubmatch(string(compact), -1) {
		t.getAtts[m[1]] = append(t.getAtts[m[1]], m[2])
	}
	return t, nil
}

// getAttRE finds the Fn::GetAtt a template makes (["Id","Attribute"]).
var getAttRE = regexp.MustCompile(`"Fn::GetAtt":\["([^"]+)","([^"]+)"\]`)

// values builds what CloudFormation would know for one deployment: the
// parameters (over the canonical ones), and the physical names and
// attributes of every resource.
func values(raw rawTemplate, params map[string]string, names map[string]string) cfn.Values {
	v := cfn.Values{Parameters: map[string]string{}, Refs: map[string]string{}, Attrs: map[string]string{},
		Pseudo: map[string]string{
			"AWS::AccountId": AccountA, "AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::URLSuffix": "amazonaws.com",
			"AWS::StackName": "logvault-vault", "AWS::StackId": "arn:aws:cloudformation:us-east-1:" + AccountA + ":stack/logvault-vault/audit",
			"AWS::NotificationARNs": "",
		}}
	for name, p := range raw.Parameters {
		if p.Default == nil {
			// A required parameter the symbolic deployment has no value for.
			if p.Type == "Number" {
				v.Parameters[name] = "1"
			} else {
				v.Parameters[name] = "audit-placeholder"
			}
		}
	}
	for k, val := range params {
		if _, declared := raw.Parameters[k]; declared || breakGlassParams[k] {
			v.Parameters[k] = val
		}
	}
	for id, r := range raw.Resources {
		name := names["resource:"+id]
		if name == "" {
			name = generated(id, r.Type)
		}
		svc := "unknown"
		if parts := strings.Split(r.Type, "::"); len(parts) > 1 {
			svc = strings.ToLower(parts[1])
		}
		arn := "arn:aws:" + svc + ":us-east-1:" + AccountA + ":" + name
		ref := name
		switch r.Type {
		case "AWS::S3::Bucket":
			arn = "arn:aws:s3:::" + name
		case "AWS::IAM::Role":
			arn = "arn:aws:iam::" + AccountA + ":role" + pathOr(names["path:"+id]) + name
			v.Attrs[id+".RoleId"] = uniqueID("AROA", arn)
		case "AWS::IAM::User":
			arn = "arn:aws:iam::" + AccountA + ":user" + pathOr(names["path:"+id]) + name
		case "AWS::IAM::Group":
			arn = "arn:aws:iam::" + AccountA + ":group/" + name
		case "AWS::IAM::ManagedPolicy":
			arn = "arn:aws:iam::" + AccountA + ":policy/" + name
			ref = arn
		case "AWS::SNS::Topic", "AWS::SQS::Queue":
			ref = arn
		}
		v.Refs[id] = ref
		// Any other attribute the template reads (an id the proof does not
		// need) gets a placeholder, rather than refusing the template.
		for _, attr := range raw.getAtts[id] {
			v.Attrs[id+"."+attr] = name + "-" + strings.ToLower(attr)
		}
		v.Attrs[id+".Arn"] = arn
		for _, attr := range []string{"Name", "TopicName", "QueueName", "Id", "DomainName", "RegionalDomainName"} {
			v.Attrs[id+"."+attr] = name
		}
	}
	return v
}

// generated is the name CloudFormation gives a resource that names none.
func generated(id, typ string) string {
	if typ == "AWS::S3::Bucket" {
		return "logvault-vault-" + strings.ToLower(id) + "-generated"
	}
	return "logvault-vault-" + id + "-GENERATED"
}

func pathOr(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// loaded is a template resolved for one deployment, with the model.
type loaded struct {
	vault       *Vault
	fingerprint string          // what the proof reads, as resolved
	conditions  map[string]bool // the conditions' values
}

// load resolves the vault template (and the guardrails, when given) for
// one set of parameter values. The bucket's and the roles' names come from
// the template itself (a second pass when they differ from the generated
// ones), so ARNs agree with what CloudFormation would create.
func load(raw rawTemplate, data, guardrails []byte, params map[string]string, conds map[string]bool) (*loaded, error) {
	names := map[string]string{}
	var r *cfn.Resolved
	for pass := 0; pass < 3; pass++ {
		p := canonicalParams()
		for k, val := range params {
			p[k] = val
		}
		var err error
		vals := values(raw, p, names)
		vals.Conditions = conds
		if r, err = cfn.Resolve(data, vals); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		next := map[string]string{}
		res, _ := r.Raw["Resources"].(map[string]any)
		for id, x := range res {
			props, _ := x.(map[string]any)["Properties"].(map[string]any)
			for _, key := range []string{"BucketName", "RoleName", "UserName", "GroupName", "ManagedPolicyName", "TopicName"} {
				if s, ok := props[key].(string); ok && s != "" {
					next["resource:"+id] = s
				}
			}
			if s, ok := props["Path"].(string); ok && s != "" {
				next["path:"+id] = s
			} else {
				next["path:"+id] = "/"
			}
		}
		if b := next["resource:VaultBucket"]; b != "" {
			next["bucket"] = b
		}
		if w := next["resource:WriterRole"]; w != "" {
			next["writer"] = w
		}
		if fmt.Sprint(next) == fmt.Sprint(names) {
			break
		}
		if pass == 2 {
			return nil, fmt.Errorf("audit: the names of the template's resources do not settle")
		}
		names = next
	}
	v, err := model(r, raw)
	if err != nil {
		return nil, err
	}
	bg := canonicalParams()
	for k, val := range params {
		bg[k] = val
	}
	// The function roles are the names this deployment gives, in every
	// source account.
	if raw.Parameters["FunctionRoleNames"].Type != "" {
		v.FunctionRoles = functionRoleARNs(strings.Split(paramValue(raw, bg, "FunctionRoleNames"), ","), nil)
	}
	switch {
	case raw.Parameters["BreakGlassRoleName"].Type != "":
		v.BreakGlassARN = "arn:aws:iam::" + AccountA + ":role/" + paramValue(raw, bg, "BreakGlassRoleName")
	case raw.Parameters["BreakGlassRoleArn"].Type != "":
		v.BreakGlassARN = paramValue(raw, bg, "BreakGlassRoleArn")
	default:
		v.BreakGlassARN = BreakGlassRoleARN
	}
	if guardrails != nil {
		if err := v.loadGuardrails(guardrails); err != nil {
			return nil, err
		}
	}
	fp, _ := json.Marshal(proofInputs(r.Raw))
	return &loaded{vault: v, fingerprint: string(fp) + "|" + v.BreakGlassARN, conditions: r.Conditions}, nil
}

// trustDeployments are the vault's ways of trusting source accounts
// besides the symbolic deployment's (the whole Organization).
var trustDeployments = []map[string]string{
	{"OrganizationId": "", "TrustedAccountIds": AccountB + "," + AccountC},
	{"OrganizationId": "", "TrustedAccountIds": AccountB + "," + AccountC, "SourceBucketNames": ""},
	{"OrganizationId": Organization, "TrustedAccountIds": AccountB + "," + AccountC},
}

// paramValue is the value a parameter takes: given, else its Default.
func paramValue(raw rawTemplate, given map[string]string, name string) string {
	if s, ok := given[name]; ok {
		return s
	}
	if d := raw.Parameters[name].Default; d != nil {
		return fmt.Sprint(d)
	}
	return ""
}

// proofInputs are the resources the proof reads.
func proofInputs(raw map[string]any) map[string]any {
	out := map[string]any{}
	res, _ := raw["Resources"].(map[string]any)
	for id, x := range res {
		t, _ := x.(map[string]any)["Type"].(string)
		if strings.HasPrefix(t, "AWS::IAM::") || strings.HasPrefix(t, "AWS::S3::") {
			out[id] = x
		}
	}
	return out
}

// model reads the resolved template: the vault bucket and its settings,
// its policy, the writer, and every IAM role, user and group.
func model(r *cfn.Resolved, raw rawTemplate) (*Vault, error) {
	res, _ := r.Raw["Resources"].(map[string]any)
	props := func(id string) map[string]any {
		p, _ := res[id].(map[string]any)["Properties"].(map[string]any)
		return p
	}
	typ := func(id string) string { t, _ := res[id].(map[string]any)["Type"].(string); return t }
	if typ("VaultBucket") != "AWS::S3::Bucket" {
		return nil, errors.New("audit: the template has no VaultBucket (AWS::S3::Bucket), so nothing can be proven")
	}
	if typ("WriterRole") != "AWS::IAM::Role" {
		return nil, errors.New("audit: the template has no WriterRole (AWS::IAM::Role), so nothing can be proven")
	}
	v := &Vault{AccountA: AccountA, TrustedAccount: AccountB, FunctionRoles: functionRoles, ExternalID: ExternalID, Organization: Organization}
	v.BucketName = nameOf(props("VaultBucket"), "BucketName", "VaultBucket", "AWS::S3::Bucket")
	v.Bucket = bucketProperties(props("VaultBucket"))
	var policies []string
	for _, id := range sortedKeys(res) {
		if typ(id) == "AWS::S3::BucketPolicy" && props(id)["Bucket"] == v.BucketName {
			policies = append(policies, id)
		}
	}
	switch len(policies) {
	case 0:
	case 1:
		d, err := parseDoc(policies[0], props(policies[0])["PolicyDocument"])
		if err != nil {
			return nil, err
		}
		v.BucketPolicy = &d
	default:
		return nil, fmt.Errorf("audit: %s are all bucket policies of the vault; which one S3 keeps is undefined", strings.Join(policies, ", "))
	}
	v.Placed, v.CopyPolicies = map[string]bool{}, map[string]*Doc{}
	for _, id := range sortedKeys(res) {
		switch typ(id) {
		case "AWS::S3::Bucket":
			v.Placed["arn:aws:s3:::"+nameOf(props(id), "BucketName", id, typ(id))] = true
		case "AWS::S3::AccessGrant":
			if v.AccessGrants == nil {
				v.AccessGrants = map[string][2]string{}
			}
			g, _ := props(id)["Grantee"].(map[string]any)
			v.AccessGrants[id] = [2]string{fmt.Sprint(g["GranteeType"]), fmt.Sprint(g["GranteeIdentifier"])}
		case "AWS::S3::BucketPolicy":
			if b := fmt.Sprint(props(id)["Bucket"]); b != v.BucketName {
				d, err := parseDoc(id, props(id)["PolicyDocument"])
				if err != nil {
					return nil, err
				}
				v.CopyPolicies["arn:aws:s3:::"+b] = &d
			}
		}
	}
	if outs, ok := r.Raw["Outputs"].(map[string]any); ok {
		v.Outputs = map[string]string{}
		for name, o := range outs {
			if m, ok := o.(map[string]any); ok {
				v.Outputs[name] = fmt.Sprint(m["Value"])
			}
		}
	}
	managed := map[string]Doc{} // a template's managed policies by ARN
	for _, id := range sortedKeys(res) {
		if typ(id) == "AWS::IAM::ManagedPolicy" {
			d, err := parseDoc(id, props(id)["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			managed["arn:aws:iam::"+AccountA+":policy/"+nameOf(props(id), "ManagedPolicyName", id, typ(id))] = d
		}
	}
	groups := map[string][]Doc{}
	for _, id := range sortedKeys(res) {
		if typ(id) == "AWS::IAM::Group" {
			docs, notes, err := identityDocs(id, props(id), managed)
			if err != nil {
				return nil, err
			}
			v.Notes = append(v.Notes, notes...)
			groups[nameOf(props(id), "GroupName", id, typ(id))] = docs
		}
	}
	// A user's groups: its Groups, and every UserToGroupAddition naming it.
	added := map[string][]string{}
	for _, id := range sortedKeys(res) {
		if typ(id) == "AWS::IAM::UserToGroupAddition" {
			for _, u := range asStrings(props(id)["Users"]) {
				added[u] = append(added[u], fmt.Sprint(props(id)["GroupName"]))
			}
		}
	}
	memberOf := map[*Role][]string{}
	for _, id := range sortedKeys(res) {
		p := props(id)
		switch typ(id) {
		case "AWS::IAM::Role", "AWS::IAM::User":
			kindName, nameKey := "role", "RoleName"
			if typ(id) == "AWS::IAM::User" {
				kindName, nameKey = "user", "UserName"
			}
			path, _ := p["Path"].(string)
			if path == "" {
				path = "/"
			}
			name := nameOf(p, nameKey, id, typ(id))
			role := &Role{Name: id, ARN: "arn:aws:iam::" + AccountA + ":" + kindName + path + name}
			if kindName == "role" {
				trust, err := parseDoc(id+" trust policy", p["AssumeRolePolicyDocument"])
				if err != nil {
					return nil, err
				}
				role.Trust = &trust
			}
			docs, notes, err := identityDocs(id, p, managed)
			if err != nil {
				return nil, err
			}
			v.Notes = append(v.Notes, notes...)
			role.Policies = docs
			for _, arn := range asStrings(p["ManagedPolicyArns"]) {
				if !strings.Contains(arn, ":iam::aws:policy/") {
					role.Managed = append(role.Managed, arn)
				}
			}
			if kindName == "user" {
				memberOf[role] = append(asStrings(p["Groups"]), added[name]...)
				for _, g := range memberOf[role] {
					role.Policies = append(role.Policies, groups[g]...)
				}
			}
			v.Roles = append(v.Roles, role)
			if id == "WriterRole" {
				v.WriterName, v.WriterARN = name, role.ARN
			}
		}
	}
	// Policies attached to roles, users and groups as resources of their own.
	for _, id := range sortedKeys(res) {
		p := props(id)
		switch typ(id) {
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy", "AWS::IAM::UserPolicy", "AWS::IAM::GroupPolicy":
		default:
			continue
		}
		d, err := parseDoc(id, p["PolicyDocument"])
		if err != nil {
			return nil, err
		}
		for _, role := range v.Roles {
			name := role.ARN[strings.LastIndexByte(role.ARN, '/')+1:]
			attached := slices.Contains(asStrings(p["Roles"]), name) || slices.Contains(asStrings(p["Users"]), name) ||
				p["RoleName"] == name || p["UserName"] == name
			for _, g := range asStrings(p["Groups"]) {
				attached = attached || slices.Contains(memberOf[role], g)
			}
			if g, ok := p["GroupName"].(string); ok {
				attached = attached || slices.Contains(memberOf[role], g)
			}
			if attached {
				role.Policies = append(role.Policies, d)
				if typ(id) == "AWS::IAM::ManagedPolicy" {
					role.Managed = append(role.Managed, "arn:aws:iam::"+AccountA+":policy/"+nameOf(p, "ManagedPolicyName", id, typ(id)))
				}
			}
		}
	}
	return v, nil
}

// identityDocs are a role's, user's or group's inline and managed policies;
// a managed policy the template does not define has unknown content and
// is counted as allowing everything.
func identityDocs(id string, p map[string]any, managed map[string]Doc) ([]Doc, []string, error) {
	var docs []Doc
	var notes []string
	pols, _ := p["Policies"].([]any)
	for _, x := range pols {
		m, _ := x.(map[string]any)
		d, err := parseDoc(fmt.Sprintf("%s policy %v", id, m["PolicyName"]), m["PolicyDocument"])
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, d)
	}
	for _, arn := range asStrings(p["ManagedPolicyArns"]) {
		if d, ok := managed[arn]; ok {
			docs = append(docs, d)
			continue
		}
		name := id + " managed policy " + arn
		docs = append(docs, Doc{Name: name, D: &policy.Document{Version: "2012-10-17", Statements: []policy.Statement{{
			Sid: "ManagedPolicy(" + arn + ")", Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"},
		}}}})
		notes = append(notes, name+": defined outside the template, assumed to allow every action")
	}
	return docs, notes, nil
}

func nameOf(p map[string]any, key, id, typ string) string {
	if s, ok := p[key].(string); ok && s != "" {
		return s
	}
	return generated(id, typ)
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func parseDoc(name string, raw any) (Doc, error) {
	js, err := cfn.PolicyJSON(raw)
	if err != nil {
		return Doc{}, fmt.Errorf("audit: %s: %w", name, err)
	}
	d, err := policy.Parse(js)
	if err != nil {
		return Doc{}, fmt.Errorf("audit: %s: %w", name, err)
	}
	return Doc{Name: name, D: d}, nil
}

// bucketProperties reads the settings of an AWS::S3::Bucket.
func bucketProperties(p map[string]any) Properties {
	get := func(m any, path ...string) any {
		for _, k := range path {
			mm, ok := m.(map[string]any)
			if !ok {
				return nil
			}
			m = mm[k]
		}
		return m
	}
	str := func(x any) string { s, _ := x.(string); return s }
	b := Properties{Lifecycle: map[string][]string{}}
	b.Versioning = str(get(p, "VersioningConfiguration", "Status"))
	truthy := func(x any) bool { return x == true || x == "true" }
	b.ObjectLock = truthy(get(p, "ObjectLockEnabled")) || str(get(p, "ObjectLockConfiguration", "ObjectLockEnabled")) == "Enabled"
	b.LockMode = str(get(p, "ObjectLockConfiguration", "Rule", "DefaultRetention", "Mode"))
	if d, ok := get(p, "ObjectLockConfiguration", "Rule", "DefaultRetention", "Days").(float64); ok {
		b.LockDays = int(d)
	}
	if y, ok := get(p, "ObjectLockConfiguration", "Rule", "DefaultRetention", "Years").(float64); ok {
		b.LockYears = int(y)
	}
	rules, _ := get(p, "LifecycleConfiguration", "Rules").([]any)
	for i, x := range rules {
		r, _ := x.(map[string]any)
		if str(r["Status"]) != "Enabled" {
			continue
		}
		id := str(r["Id"])
		if id == "" {
			id = "#" + strconv.Itoa(i)
		}
		for _, k := range sortedKeys(r) {
			switch k {
			case "Id", "Status", "Prefix", "TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan":
			case "ExpirationDate", "ExpirationInDays", "ExpiredObjectDeleteMarker":
				b.Lifecycle[id] = append(b.Lifecycle[id], "expires current versions ("+k+")")
			case "Transition", "Transitions":
				b.Lifecycle[id] = append(b.Lifecycle[id], "transitions current versions to an archive class ("+k+")")
			case "NoncurrentVersionExpiration", "NoncurrentVersionExpirationInDays":
				b.Lifecycle[id] = append(b.Lifecycle[id], "deletes noncurrent versions ("+k+")")
			case "NoncurrentVersionTransition", "NoncurrentVersionTransitions":
				b.Lifecycle[id] = append(b.Lifecycle[id], "transitions noncurrent versions to an archive class ("+k+")")
			default:
				b.Lifecycle[id] = append(b.Lifecycle[id], k)
			}
		}
	}
	reps, _ := get(p, "ReplicationConfiguration", "Rules").([]any)
	for _, x := range reps {
		b.Replication = append(b.Replication, Destination{Bucket: str(get(x, "Destination", "Bucket")), Account: str(get(x, "Destination", "Account"))})
	}
	invs, _ := get(p, "InventoryConfigurations").([]any)
	for _, x := range invs {
		b.Inventory = append(b.Inventory, Destination{Bucket: str(get(x, "Destination", "BucketArn")), Account: str(get(x, "Destination", "BucketAccountId"))})
	}
	ans, _ := get(p, "AnalyticsConfigurations").([]any)
	for _, x := range ans {
		if d := get(x, "StorageClassAnalysis", "DataExport", "Destination"); d != nil {
			b.Analytics = append(b.Analytics, Destination{Bucket: str(get(d, "BucketArn")), Account: str(get(d, "BucketAccountId"))})
		}
	}
	if get(p, "LoggingConfiguration") != nil {
		b.Logging = str(get(p, "LoggingConfiguration", "DestinationBucketName"))
		if b.Logging == "" {
			b.Logging = "the bucket itself"
		}
	}
	sse, _ := get(p, "BucketEncryption", "ServerSideEncryptionConfiguration").([]any)
	for _, x := range sse {
		if a := str(get(x, "ServerSideEncryptionByDefault", "SSEAlgorithm")); a != "" {
			b.DefaultEncryption = a
		}
		for _, t := range asStrings(get(x, "BlockedEncryptionTypes", "EncryptionType")) {
			b.SSECBlocked = b.SSECBlocked || t == "SSE-C"
		}
	}
	for i, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		b.PublicAccessBlock[i] = truthy(get(p, "PublicAccessBlockConfiguration", k))
	}
	owners, _ := get(p, "OwnershipControls", "Rules").([]any)
	for _, x := range owners {
		b.Ownership = str(get(x, "ObjectOwnership"))
	}
	return b
}

// loadGuardrails reads the SCP and RCP infra/guardrails.yaml attaches to
// Account A, resolved for the same deployment.
func (v *Vault) loadGuardrails(data []byte) error {
	r, err := cfn.Resolve(data, cfn.Values{
		Parameters: map[string]string{"VaultAccountId": v.AccountA, "VaultBucketName": v.BucketName,
			"BreakGlassRoleName": v.BreakGlassARN[strings.LastIndexByte(v.BreakGlassARN, '/')+1:], "WriterRoleName": v.WriterName},
		Pseudo: map[string]string{"AWS::Partition": "aws", "AWS::AccountId": "999999999999", "AWS::Region": "us-east-1"},
		Refs: map[string]string{"AlarmTopic": "arn:aws:sns:us-east-1:999999999999:guardrails",
			"VaultServiceControlPolicy": "p-scp", "VaultResourceControlPolicy": "p-rcp"},
	})
	if err != nil {
		return fmt.Errorf("audit: guardrails: %w", err)
	}
	for id, p := range r.GetAllOrganizationsPolicyResources() {
		if !slices.Contains(p.TargetIds, v.AccountA) {
			continue
		}
		d, err := parseDoc("guardrails "+id, p.Content)
		if err != nil {
			return err
		}
		switch p.Type {
		case "SERVICE_CONTROL_POLICY":
			v.SCP = &d
		case "RESOURCE_CONTROL_POLICY":
			v.RCP = &d
		}
	}
	if v.SCP == nil && v.RCP == nil {
		return errors.New("audit: the guardrails template attaches no SCP or RCP to Account A")
	}
	return nil
}

// samples are values built from a pattern itself: the shortest it
// admits, one that takes every optional part (a digit run becomes another
// account's id, 333...), and one that prefers wildcards where the pattern
// lets them in; so a pattern admitting a foreign role or a wildcard of a
// shape no fixed list foresees is tried with one.
func samples(pattern string) []string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	var out []string
	for _, mode := range []sampleMode{sampleShortest, sampleFull, sampleWild} {
		out = append(out, sample(re, mode))
	}
	return out
}

type sampleMode int

const (
	sampleShortest sampleMode = iota
	sampleFull
	sampleWild
)

func sample(re *syntax.Regexp, mode sampleMode) string {
	sub := func(i int) string { return sample(re.Sub[i], mode) }
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCharClass:
		prefer := "3xaA0"
		if mode == sampleWild {
			prefer = "*?" + prefer
		}
		for _, c := range prefer {
			for i := 0; i+1 < len(re.Rune); i += 2 {
				if re.Rune[i] <= c && c <= re.Rune[i+1] {
					return string(c)
				}
			}
		}
		if len(re.Rune) > 0 {
			return string(re.Rune[0])
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		if mode == sampleWild {
			return "*"
		}
		return "x"
	case syntax.OpCapture:
		return sub(0)
	case syntax.OpStar, syntax.OpQuest:
		if mode == sampleShortest {
			return ""
		}
		return sub(0)
	case syntax.OpPlus:
		return sub(0)
	case syntax.OpRepeat:
		n := re.Min
		if n == 0 && mode != sampleShortest {
			n = 1
		}
		return strings.Repeat(sub(0), min(n, 64))
	case syntax.OpConcat:
		var b strings.Builder
		for i := range re.Sub {
			b.WriteString(sub(i))
		}
		return b.String()
	case syntax.OpAlternate:
		best := sub(0)
		for i := range re.Sub {
			s := sub(i)
			if mode == sampleShortest && len(s) < len(best) || mode != sampleShortest && best == "" {
				best = s
			}
		}
		return best
	}
	return ""
}

// adversarial are values an attacker would want a parameter to take; each
// one the parameter's constraints admit is proven.
var adversarial = []string{
	"*", "?", "x", "arn:aws:iam::*:role/*", "arn:aws:iam::" + AccountA + ":role/*", "arn:aws:iam::" + AccountA + ":root",
	"arn:aws:iam::" + AccountC + ":root", "arn:aws:iam::" + AccountC + ":role/" + BreakGlassRoleName,
	"arn:aws:iam::" + AccountB + ":role/*", "arn:aws:iam::" + AccountA + ":user/*", AccountC, AccountA, "*" + BreakGlassRoleName,
	"logvault-*", "arn:aws:s3:::*",
}

// admitted are the candidate values of a parameter that its constraints
// admit: its Default, its AllowedValues, its Number bounds, and the
// adversarial values its pattern and lengths let through.
func admitted(p templateParam) []string {
	var cands []string
	if p.Default != nil {
		cands = append(cands, fmt.Sprint(p.Default))
	}
	for _, a := range p.AllowedValues {
		cands = append(cands, fmt.Sprint(a))
	}
	if p.Type == "Number" {
		for _, b := range []*float64{p.MinValue, p.MaxValue} {
			if b != nil {
				cands = append(cands, strconv.FormatFloat(*b, 'f', -1, 64))
			}
		}
		return cands
	}
	if len(p.AllowedValues) > 0 {
		return cands
	}
	var re *regexp.Regexp
	candidates := adversarial
	if p.AllowedPattern != "" {
		var err error
		// CloudFormation matches the whole value against the pattern.
		if re, err = regexp.Compile("^(?:" + p.AllowedPattern + ")$"); err != nil {
			return cands
		}
		candidates = append(samples(p.AllowedPattern), adversarial...)
	}
	for _, a := range candidates {
		if re != nil && !re.MatchString(a) {
			continue
		}
		if p.MinLength != nil && len(a) < *p.MinLength || p.MaxLength != nil && len(a) > *p.MaxLength {
			continue
		}
		cands = append(cands, a)
	}
	return cands
}

// Run proves a vault template, and the guardrails template when given:
// for the symbolic deployment, then again for every value each parameter
// admits that changes what the proof reads (a finding then names the
// parameter and its value).
func Run(source string, template, guardrails []byte) (Report, error) {
	return run(source, template, guardrails, true)
}

// run is Run, with the parameters' other values or without.
func run(source string, template, guardrails []byte, variants bool) (Report, error) {
	raw, err := parseRaw(template)
	if err != nil {
		return Report{}, err
	}
	base, err := load(raw, template, guardrails, nil, nil)
	if err != nil {
		return Report{}, err
	}
	base.vault.Source = source
	rep := Prove(base.vault)
	seen := map[string]bool{base.fingerprint: true}
	// A value's findings are the ones it adds to the deployment's own.
	known := map[Finding]bool{}
	for _, f := range rep.Findings {
		known[f] = true
	}
	// variant proves another deployment of the template, once per what the
	// proof reads, and adds the findings it adds, saying which deployment.
	variant := func(l *loaded, context string) {
		if seen[l.fingerprint] {
			return
		}
		seen[l.fingerprint] = true
		l.vault.Source = source
		r := Prove(l.vault)
		rep.Asked += r.Asked
		for _, f := range r.Findings {
			if known[f] {
				continue
			}
			known[f] = true
			f.Context = strings.TrimSpace(f.Context + " " + context)
			rep.Findings = append(rep.Findings, f)
		}
	}
	// The other ways of trusting source accounts, proven as deployments of
	// their own: a list of accounts, alone and within the Organization.
	deployments := trustDeployments
	if p, ok := raw.Parameters["TrustedAccountIds"]; ok {
		// Every value the list admits, in a deployment trusting the list
		// alone (the Organization deployment would bound a wide value).
		for _, val := range admitted(p) {
			deployments = append(deployments, map[string]string{"OrganizationId": "", "TrustedAccountIds": val})
		}
	}
	for _, d := range deployments {
		if _, ok := raw.Parameters["TrustedAccountIds"]; !ok || !variants {
			break
		}
		keys := slices.Sorted(maps.Keys(d))
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s = %q", k, d[k]))
		}
		what := "with parameters " + strings.Join(parts, ", ")
		l, err := load(raw, template, guardrails, d, nil)
		if err != nil {
			rep.Assumptions = append(rep.Assumptions, fmt.Sprintf("%s the template does not resolve (%v): not proven", what, err))
			continue
		}
		variant(l, what)
	}
	for _, name := range sortedKeys(raw.Parameters) {
		if !variants || !raw.relevant(name) && !breakGlassParams[name] {
			continue
		}
		for _, val := range admitted(raw.Parameters[name]) {
			if breakGlassParams[name] && (strings.ContainsAny(val, "*?") || strings.Contains(val, ":") && !strings.Contains(val, ":"+AccountA+":")) {
				rep.Findings = append(rep.Findings, Finding{Principal: "-", Who: "parameter", Action: "parameter " + name, Resource: strconv.Quote(val),
					Cause: "its constraints admit this value: the exemption from the vault's Denies would then cover principals other than one role of Account A"})
			}
			if l, err := load(raw, template, guardrails, map[string]string{name: val}, nil); err == nil {
				variant(l, "with parameter "+name+" = "+strconv.Quote(val))
			}
		}
	}
	// Every value of the template's conditions: each leaf condition (one
	// that names no other) forced true and false, together, so that a
	// statement or resource that only some deployment (a parameter value,
	// a region, two parameters together) keeps or drops is proven both ways.
	leaves := raw.leafConditions()
	forced := assignments(leaves)
	// Fewest conditions changed first, so a finding names the fewest.
	sort.SliceStable(forced, func(i, j int) bool {
		return len(describe(forced[i], base.conditions)) < len(describe(forced[j], base.conditions))
	})
	for _, as := range forced {
		l, err := load(raw, template, guardrails, nil, as)
		if err != nil {
			rep.Assumptions = append(rep.Assumptions, fmt.Sprintf("with %s the template does not resolve (%v): not proven, as CloudFormation would not deploy it", describe(as, base.conditions), err))
			continue
		}
		variant(l, "with "+describe(as, base.conditions))
	}
	return rep, nil
}

// leafConditions are the template's conditions that name no other one
// (the YAML form !Condition X reaches here as the bare string "X").
func (t rawTemplate) leafConditions() []string {
	var out []string
	for name, def := range t.Conditions {
		js, _ := json.Marshal(def)
		leaf := true
		for other := range t.Conditions {
			leaf = leaf && (other == name || !strings.Contains(string(js), strconv.Quote(other)))
		}
		if leaf {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// maxForcedTogether bounds the conditions forced in every combination
// (2^n deployments); beyond it each is forced alone, true and false.
const maxForcedTogether = 6

// assignments are the values the proof forces the leaf conditions to.
func assignments(leaves []string) []map[string]bool {
	var out []map[string]bool
	if len(leaves) > maxForcedTogether {
		for _, c := range leaves {
			out = append(out, map[string]bool{c: true}, map[string]bool{c: false})
		}
		return out
	}
	for bits := 0; bits < 1<<len(leaves); bits++ {
		as := map[string]bool{}
		for i, c := range leaves {
			as[c] = bits&(1<<i) != 0
		}
		out = append(out, as)
	}
	return out
}

// describe names an assignment of conditions by what differs from the
// symbolic deployment's.
func describe(as, base map[string]bool) string {
	var parts []string
	for _, c := range sortedKeys(as) {
		if b, ok := base[c]; !ok || b != as[c] {
			parts = append(parts, fmt.Sprintf("%s %v", c, as[c]))
		}
	}
	return "condition " + strings.Join(parts, ", ")
}
