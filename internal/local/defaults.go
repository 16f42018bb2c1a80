package local

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/versity/versitygw/s3err"

	"github.com/logvault/logvault/internal/policy"
)

// What every local bucket has, as an S3 bucket created today has it by
// default, and what the gate enforces and answers where versitygw has no
// such configuration (its GETs answer NotImplemented):
//
//   - no lifecycle, replication, inventory, analytics or access logging
//     (the stack runs none, and refuses to configure them: versitygw does
//     not implement their PUTs);
//   - default encryption SSE-S3 with SSE-C blocked, as for every bucket
//     created since April 2026: an object write asking for SSE-C is
//     refused with AccessDenied, whoever asks (root included);
//   - the public access block all on, as for every bucket created since
//     April 2023: a public bucket policy is refused (BlockPublicPolicy);
//     ACLs are off anyway (BucketOwnerEnforced, which versitygw answers).
const (
	s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

	encryptionXML = `<?xml version="1.0" encoding="UTF-8"?>
<ServerSideEncryptionConfiguration xmlns="` + s3NS + `"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled><BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes></Rule></ServerSideEncryptionConfiguration>`
	publicAccessBlockXML = `<?xml version="1.0" encoding="UTF-8"?>
<PublicAccessBlockConfiguration xmlns="` + s3NS + `"><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`
	loggingXML = `<?xml version="1.0" encoding="UTF-8"?>
<BucketLoggingStatus xmlns="` + s3NS + `"></BucketLoggingStatus>`
	inventoryListXML = `<?xml version="1.0" encoding="UTF-8"?>
<ListInventoryConfigurationsResult xmlns="` + s3NS + `"><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>`
	analyticsListXML = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketAnalyticsConfigurationResult xmlns="` + s3NS + `"><IsTruncated>false</IsTruncated></ListBucketAnalyticsConfigurationResult>`
)

// defaultAnswered are the bucket configurations whose GET the gate answers.
var defaultAnswered = []string{"lifecycle", "replication", "inventory", "analytics", "logging", "encryption", "publicAccessBlock"}

// bucketDefault answers a GET of one of defaultAnswered, after
// authenticating and authorizing it as versitygw would.
func (g *gate) bucketDefault(ctx fiber.Ctx, bucket, sub, action string) error {
	if err := g.authorizeBucket(ctx, bucket, action, false); err != nil {
		return g.fail(ctx, err)
	}
	q := ctx.Request().URI().QueryArgs()
	notFound := func(code, msg string) error {
		return g.fail(ctx, s3err.APIError{Code: code, Description: msg, HTTPStatusCode: http.StatusNotFound})
	}
	body := ""
	switch sub {
	case "lifecycle":
		return notFound("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
	case "replication":
		return notFound("ReplicationConfigurationNotFoundError", "The replication configuration was not found")
	case "inventory", "analytics":
		if q.Has("id") {
			return notFound("NoSuchConfiguration", "The specified configuration does not exist.")
		}
		body = inventoryListXML
		if sub == "analytics" {
			body = analyticsListXML
		}
	case "logging":
		body = loggingXML
	case "encryption":
		body = encryptionXML
	case "publicAccessBlock":
		body = publicAccessBlockXML
	}
	ctx.Set("Content-Type", "application/xml")
	return ctx.Status(http.StatusOK).SendString(body)
}

// sseCBlocked refuses an object write asking for SSE-C.
func (g *gate) sseCBlocked(ctx fiber.Ctx, bucket, key string) error {
	if ctx.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") == "" {
		return nil
	}
	return s3err.APIError{Code: "AccessDenied", Description: "SSE-C is blocked for this bucket (BlockedEncryptionTypes): " + bucket + "/" + key, HTTPStatusCode: http.StatusForbidden}
}

// publicGroups are the ACL grantees that make an ACL public.
var publicGroups = []string{"acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers"}

// publicACLBlocked refuses, as BlockPublicAcls does, a request that would
// set a public ACL: a public canned ACL, or a grant (header or body) to
// everyone or to every AWS account.
func (g *gate) publicACLBlocked(ctx fiber.Ctx, bucket, key string) error {
	public := false
	switch ctx.Get("X-Amz-Acl") {
	case "public-read", "public-read-write", "authenticated-read":
		public = true
	}
	for k, v := range ctx.Request().Header.All() {
		if strings.HasPrefix(strings.ToLower(string(k)), "x-amz-grant-") {
			for _, grp := range publicGroups {
				public = public || strings.Contains(string(v), grp)
			}
		}
	}
	if ctx.Method() == http.MethodPut && ctx.Request().URI().QueryArgs().Has("acl") {
		for _, grp := range publicGroups {
			public = public || strings.Contains(string(ctx.Body()), grp)
		}
	}
	if !public {
		return nil
	}
	return s3err.APIError{Code: "AccessDenied", Description: "Access Denied: the ACL is public, and the bucket's public access block (BlockPublicAcls) refuses public ACLs: " + bucket + "/" + key, HTTPStatusCode: http.StatusForbidden}
}

// copyOntoItself refuses a CopyObject of an object onto itself with no
// source version id. S3 writes a new version; versitygw would rewrite the
// current version's metadata in place (a locked version included), which
// S3 never does. Naming the source version (as logvault restore does)
// is copied as S3 copies it.
func (g *gate) copyOntoItself(ctx fiber.Ctx, bucket, key string) error {
	src := ctx.Get("X-Amz-Copy-Source")
	if src == "" || ctx.Request().URI().QueryArgs().Has("partNumber") {
		return nil
	}
	if s, err := url.PathUnescape(src); err == nil {
		src = s
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(src, "/"), "?")
	if path != bucket+"/"+key || strings.Contains(query, "versionId=") {
		return nil
	}
	return s3err.APIError{Code: "NotImplemented", HTTPStatusCode: http.StatusNotImplemented,
		Description: "the local stack does not copy an object onto itself without the source's versionId (S3 would write a new version; the emulator would rewrite the current one): name the version in x-amz-copy-source"}
}

// publicPolicy reports whether a bucket policy is public as S3's
// BlockPublicPolicy judges it: an Allow to "*" (or to no fixed principal)
// that no condition on a fixed value of the caller's or the source's
// identity or network narrows.
func publicPolicy(d *policy.Document) bool {
	for _, s := range d.Statements {
		if s.Effect != "Allow" {
			continue
		}
		open := s.NotPrincipal != nil
		if s.Principal != nil {
			for _, ps := range s.Principal.Values {
				for _, p := range ps {
					open = open || strings.ContainsAny(p, "*?")
				}
			}
			open = open || s.Principal.Any
		}
		if open && !narrowed(s) {
			return true
		}
	}
	return false
}

// narrowingKeys are the condition keys that make a statement to "*" not
// public, when compared with a fixed value.
var narrowingKeys = map[string]bool{
	"aws:principalarn": true, "aws:principalaccount": true, "aws:principalorgid": true, "aws:sourcearn": true,
	"aws:sourceaccount": true, "aws:sourceowner": true, "aws:sourcevpc": true, "aws:sourcevpce": true,
	"aws:userid": true, "s3:dataaccesspointarn": true, "s3:dataaccesspointaccount": true, "aws:sourceip": true,
}

func narrowed(s policy.Statement) bool {
	for op, keys := range s.Condition {
		lop := strings.ToLower(op)
		// A negation or a condition an absent key meets (IfExists, Null,
		// ForAllValues over no values) narrows nothing.
		if strings.Contains(lop, "not") || strings.Contains(lop, "ifexists") || lop == "null" || strings.HasPrefix(lop, "forallvalues") {
			continue
		}
		for k, vals := range keys {
			if !narrowingKeys[strings.ToLower(k)] {
				continue
			}
			fixed := len(vals) > 0
			for _, v := range vals {
				fixed = fixed && !strings.ContainsAny(v, "*?") && !broadCIDR(v)
			}
			if fixed {
				return true
			}
		}
	}
	return false
}

// broadCIDR reports an address range this stack counts as public: wider
// than /8 (IPv4) or /32 (IPv6). S3 does not document its threshold; this
// errs toward refusing.
func broadCIDR(v string) bool {
	_, n, err := net.ParseCIDR(v)
	if err != nil {
		return false
	}
	ones, bits := n.Mask.Size()
	return bits == 32 && ones < 8 || bits == 128 && ones < 32
}
