package localstack

import (
	"net/http"
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
func (g *gate) sseCBlocked(ctx fiber.Ctx, resource string) error {
	if ctx.Get("X-Amz-Server-Side-Encryption-Customer-Algorithm") == "" {
		return nil
	}
	return s3err.APIError{Code: "AccessDenied", Description: "SSE-C is blocked for this bucket (BlockedEncryptionTypes): " + resource, HTTPStatusCode: http.StatusForbidden}
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
			for _, p := range s.Principal.Values["AWS"] {
				open = open || strings.ContainsAny(p, "*?")
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
		if strings.Contains(lop, "not") || strings.Contains(lop, "ifexists") || lop == "null" {
			continue
		}
		for k, vals := range keys {
			if !narrowingKeys[strings.ToLower(k)] {
				continue
			}
			fixed := len(vals) > 0
			for _, v := range vals {
				fixed = fixed && !strings.ContainsAny(v, "*?") && v != "0.0.0.0/0" && v != "::/0"
			}
			if fixed {
				return true
			}
		}
	}
	return false
}
