package audit

import (
	_ "embed"
	"sort"
	"strings"
)

// Class is what an S3 action does to the vault, for the proof: nobody but
// the break-glass role may do anything but Read and Deposit, and only the
// writer may Deposit.
type Class string

// The classes of S3 actions.
const (
	Read    Class = "read"    // reads objects, versions, listings or settings; changes nothing
	Deposit Class = "deposit" // the writer's: a new version, or discarding its own unfinished upload
	Other   Class = "other"   // everything else: deletes, settings, tags, ACLs, retention, replication, ...
)

// Action is one S3 IAM action.
type Action struct {
	Name  string // "s3:PutObject"
	Class Class
	// Bucket and Object say which of the vault's ARNs it applies to (the
	// bucket, its objects); an action with neither (access points, jobs,
	// Storage Lens, account-level) is not about the vault bucket.
	Bucket, Object bool
}

// s3ActionsTSV is S3's IAM action list, one action a line: name, class,
// resource types (comma-separated). It is vendored from the cfn-lint
// package (data/AdditionalSpecs/Policies.json, key "s3"); regenerate it
// with LOGVAULT_UPDATE_S3_ACTIONS=1 go test ./internal/audit -run TestS3ActionList.
//
//go:embed s3actions.tsv
var s3ActionsTSV string

// S3Actions is every S3 action, in the vendored list's order.
func S3Actions() []Action {
	var out []Action
	for _, line := range strings.Split(strings.TrimSpace(s3ActionsTSV), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		a := Action{Name: "s3:" + canonical(f[0]), Class: Class(f[1])}
		for _, r := range strings.Split(f[2], ",") {
			a.Bucket = a.Bucket || r == "bucket"
			a.Object = a.Object || r == "object"
		}
		out = append(out, a)
	}
	return out
}

// classify is the one table of classes: Deposit is the writer's two
// actions; Read every Get, List and Describe action but GetDataAccess
// (which vends credentials for S3 Access Grants, writes included); Other
// the rest. An action the list does not know yet is Other.
func classify(name string) Class {
	n := strings.ToLower(strings.TrimPrefix(name, "s3:"))
	switch {
	case n == "putobject" || n == "abortmultipartupload":
		return Deposit
	case n == "getdataaccess":
		return Other
	case strings.HasPrefix(n, "get"), strings.HasPrefix(n, "list"), strings.HasPrefix(n, "describe"):
		return Read
	}
	return Other
}

// actionWords are the words S3's action names are made of, for writing a
// lower-case name (as the vendored list has it) the way AWS documents it.
var actionWords = func() []string {
	w := strings.Fields(`abort multipart upload uploads associate access grants grant identity center
		bypass governance retention create instance instances location locations point points for
		object objects lambda bucket buckets metadata table configuration configurations job jobs
		multi region regions storage lens group groups delete policy website tagging version
		versions describe operation dissociate get accelerate prefix resource status account public
		block analytics abac acl cors logging notification ownership controls request payment
		versioning data encryption intelligent tiering inventory lifecycle metrics routes legal hold
		attributes torrent replication initiate list all my parts caller tags override to owner
		pause put replicate restore submit tag untag update priority journal dashboard arn lock`)
	sort.Slice(w, func(i, j int) bool { return len(w[i]) > len(w[j]) })
	return w
}()

// acronyms are written in capitals.
var acronyms = map[string]string{"cors": "CORS"}

// canonical writes a lower-case action name in words ("putbucketpolicy" ->
// "PutBucketPolicy"), the fewest words that spell it; a name they cannot
// spell is kept as it is.
func canonical(lower string) string {
	n := len(lower)
	best := make([][]string, n+1)
	best[0] = []string{}
	for i := 0; i < n; i++ {
		if best[i] == nil {
			continue
		}
		for _, w := range actionWords {
			if strings.HasPrefix(lower[i:], w) && (best[i+len(w)] == nil || len(best[i])+1 < len(best[i+len(w)])) {
				best[i+len(w)] = append(append([]string{}, best[i]...), w)
			}
		}
	}
	if best[n] == nil {
		return lower
	}
	var b strings.Builder
	for _, w := range best[n] {
		if a, ok := acronyms[w]; ok {
			b.WriteString(a)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}
