package local

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/s3api/middlewares"
	"github.com/versity/versitygw/s3api/utils"
	"github.com/versity/versitygw/s3err"

	"github.com/logvault/logvault/internal/policy"
)

// gate is a middleware in front of versitygw's S3 routes doing the parts
// of AWS's authorization versitygw cannot:
//
//   - bucket policies (GET/PUT/DELETE ?policy) are served from the
//     authorizer, in AWS's policy language (NotAction, every condition key);
//     versitygw itself holds none, so its routes defer to the authorizer
//     through iamService.EvaluatePolicy;
//   - an object write (PutObject, CopyObject, CreateMultipartUpload,
//     UploadPart, UploadPartCopy) is decided as s3:PutObject with the
//     condition keys of its headers (s3:x-amz-storage-class,
//     s3:x-amz-server-side-encryption-customer-algorithm,
//     s3:object-lock-mode, ...), which versitygw does not pass to the hook;
//   - a bucket configuration request (?lifecycle, ?replication,
//     ?inventory, ...) is decided before versitygw answers it, so one it
//     does not implement is refused as on AWS (AccessDenied) rather than
//     with NotImplemented; the GETs versitygw does not implement are
//     answered with what the stack applies (defaults.go), as are SSE-C
//     writes and public bucket policies refused.
//
// Otherwise the gate only refuses: what it lets through is still authenticated and
// authorized by versitygw, which asks EvaluatePolicy.
type gate struct {
	iam    *iamService
	root   string // Account A's root access key
	verify fiber.Handler
}

func newGate(iam *iamService, rootAccess, rootSecret, region string) *gate {
	return &gate{
		iam:  iam,
		root: rootAccess,
		// versitygw's own SigV4 check, for the requests the gate answers itself.
		verify: middlewares.VerifyV4Signature(middlewares.RootUserConfig{Access: rootAccess, Secret: rootSecret}, iam, region, false, false, false),
	}
}

// handle is the fiber middleware.
func (g *gate) handle(ctx fiber.Ctx) error {
	// fiber's strings point into buffers it reuses for the next request:
	// what is kept (a bucket name as a map key) must be a copy.
	bucket, key := splitPath(strings.Clone(ctx.Path()))
	if bucket == "" {
		return ctx.Next()
	}
	q := ctx.Request().URI().QueryArgs()
	if key == "" && q.Has("policy") {
		return g.bucketPolicy(ctx, bucket)
	}
	if ctx.Method() == http.MethodPut && q.Has("acl") {
		if err := g.publicACLBlocked(ctx, bucket, key); err != nil {
			return g.fail(ctx, err)
		}
	}
	if key == "" && ctx.Method() == http.MethodGet {
		for _, sub := range defaultAnswered {
			if q.Has(sub) {
				return g.bucketDefault(ctx, bucket, sub, bucketSubresources[sub][0])
			}
		}
	}
	resource := "arn:aws:s3:::" + bucket
	if key != "" {
		resource += "/" + key
	}
	action, headers := gatedAction(ctx.Method(), key != "", q.Has)
	if action == "s3:PutObject" && key == "" {
		// A browser-form upload (POST Object) names its key in the form: it
		// is decided as a PutObject of some object of the bucket.
		resource += "/*"
	}
	if action == "" {
		return ctx.Next()
	}
	reqCtx := map[string][]string{}
	if headers {
		reqCtx = headerKeys(ctx)
	}
	if action == "s3:PutObject" {
		for _, check := range []func(fiber.Ctx, string, string) error{g.sseCBlocked, g.publicACLBlocked, g.copyOntoItself} {
			if err := check(ctx, bucket, key); err != nil {
				return g.fail(ctx, err)
			}
		}
	}
	if err := g.precheck(ctx, action, resource, reqCtx); err != nil {
		return g.fail(ctx, err)
	}
	if cs := string(ctx.Request().Header.Peek("x-amz-copy-source")); action == "s3:PutObject" && cs != "" {
		// CopyObject and UploadPartCopy also read their source: as on S3,
		// s3:GetObject (s3:GetObjectVersion for a version) on it, which
		// versitygw asks as GetObject alone.
		srcBucket, srcKey, versionID, ok := parseCopySource(cs)
		if !ok {
			return ctx.Next() // versitygw answers a malformed source
		}
		read := "s3:GetObject"
		if versionID != "" {
			read = "s3:GetObjectVersion"
		}
		if err := g.precheck(ctx, read, "arn:aws:s3:::"+srcBucket+"/"+srcKey, map[string][]string{}); err != nil {
			return g.fail(ctx, err)
		}
	}
	return ctx.Next()
}

// bucketSubresources are the bucket configuration requests the gate
// decides: sub-resource -> the IAM action of GET, PUT and DELETE ("" none).
var bucketSubresources = map[string][3]string{
	"lifecycle":           {"s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:PutLifecycleConfiguration"},
	"replication":         {"s3:GetReplicationConfiguration", "s3:PutReplicationConfiguration", "s3:PutReplicationConfiguration"},
	"inventory":           {"s3:GetInventoryConfiguration", "s3:PutInventoryConfiguration", "s3:PutInventoryConfiguration"},
	"metrics":             {"s3:GetMetricsConfiguration", "s3:PutMetricsConfiguration", "s3:PutMetricsConfiguration"},
	"analytics":           {"s3:GetAnalyticsConfiguration", "s3:PutAnalyticsConfiguration", "s3:PutAnalyticsConfiguration"},
	"intelligent-tiering": {"s3:GetIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration", "s3:PutIntelligentTieringConfiguration"},
	"notification":        {"s3:GetBucketNotification", "s3:PutBucketNotification", ""},
	"logging":             {"s3:GetBucketLogging", "s3:PutBucketLogging", ""},
	"website":             {"s3:GetBucketWebsite", "s3:PutBucketWebsite", "s3:DeleteBucketWebsite"},
	"cors":                {"s3:GetBucketCORS", "s3:PutBucketCORS", "s3:PutBucketCORS"},
	"encryption":          {"s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:PutEncryptionConfiguration"},
	"accelerate":          {"s3:GetAccelerateConfiguration", "s3:PutAccelerateConfiguration", ""},
	"requestPayment":      {"s3:GetBucketRequestPayment", "s3:PutBucketRequestPayment", ""},
	"tagging":             {"s3:GetBucketTagging", "s3:PutBucketTagging", "s3:PutBucketTagging"},
	"ownershipControls":   {"s3:GetBucketOwnershipControls", "s3:PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"},
	"publicAccessBlock":   {"s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"},
	"object-lock":         {"s3:GetBucketObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", ""},
	"versioning":          {"s3:GetBucketVersioning", "s3:PutBucketVersioning", ""},
	"acl":                 {"s3:GetBucketAcl", "s3:PutBucketAcl", ""},
	"abac":                {"s3:GetBucketAbac", "s3:PutBucketAbac", ""},
}

// gatedAction is the IAM action the gate decides a request as ("" to leave
// it to versitygw), and whether its headers carry condition keys.
func gatedAction(method string, object bool, has func(string) bool) (action string, headers bool) {
	if object {
		switch {
		case method == http.MethodPut && !has("tagging") && !has("acl") && !has("retention") && !has("legal-hold") && !has("renameObject"):
			return "s3:PutObject", true // PutObject, CopyObject, UploadPart, UploadPartCopy
		case method == http.MethodPost && has("uploads"):
			return "s3:PutObject", true // CreateMultipartUpload
		case method == http.MethodPost && has("restore"):
			return "s3:RestoreObject", false
		}
		return "", false
	}
	if method == http.MethodPost && !has("delete") {
		return "s3:PutObject", true // POST Object (a browser-form upload)
	}
	i := map[string]int{http.MethodGet: 0, http.MethodPut: 1, http.MethodDelete: 2}
	n, ok := i[method]
	if !ok {
		return "", false
	}
	for sub, actions := range bucketSubresources {
		if has(sub) {
			return actions[n], false
		}
	}
	if method == http.MethodDelete {
		return "s3:DeleteBucket", false
	}
	return "", false
}

// headerKeys are the condition keys an object write's headers give:
// s3:x-amz-<header> for each x-amz- header, s3:object-lock-<...> for the
// Object Lock ones.
func headerKeys(ctx fiber.Ctx) map[string][]string {
	keys := map[string][]string{}
	for k, v := range ctx.Request().Header.All() {
		name := strings.ToLower(string(k))
		if !strings.HasPrefix(name, "x-amz-") {
			continue
		}
		switch name {
		case "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold":
			name = strings.TrimPrefix(name, "x-amz-")
		}
		keys["s3:"+name] = append(keys["s3:"+name], string(v))
	}
	return keys
}

// precheck refuses the request when the caller may not perform action on
// resource. Root is not asked (see authorizer); an unknown key or a bad
// token is left to versitygw to answer.
func (g *gate) precheck(ctx fiber.Ctx, action, resource string, reqCtx map[string][]string) error {
	access, token := credentialOf(ctx)
	if access == "" || access == g.root {
		return nil
	}
	id, err := g.iam.lookup(access, token)
	if err != nil {
		return nil
	}
	if ok, why := g.iam.authz.allowed(id.account, action, resource, reqCtx); !ok {
		g.iam.authz.log.Printf("authz: denied %s %s on %s (before versitygw): %s", principalARN(id.account), action, resource, why)
		return s3err.GetExplicitDenyAccessErr(id.account.Arn, action, resource, "a resource-based policy")
	}
	return nil
}

// bucketPolicy answers GetBucketPolicy, PutBucketPolicy and
// DeleteBucketPolicy. As on AWS, only the bucket owner's account may, its
// root always (whatever the policy says), anyone else as the policies allow.
func (g *gate) bucketPolicy(ctx fiber.Ctx, bucket string) error {
	action := map[string]string{http.MethodGet: "s3:GetBucketPolicy", http.MethodPut: "s3:PutBucketPolicy", http.MethodDelete: "s3:DeleteBucketPolicy"}[ctx.Method()]
	if err := g.authorizeBucket(ctx, bucket, action, true); err != nil {
		return g.fail(ctx, err)
	}
	switch ctx.Method() {
	case http.MethodGet:
		raw, ok := g.iam.authz.getPolicy(bucket)
		if !ok {
			return g.fail(ctx, s3err.GetAPIError(s3err.ErrNoSuchBucketPolicy))
		}
		ctx.Set("Content-Type", "application/json")
		return ctx.Status(http.StatusOK).Send(raw)
	case http.MethodPut:
		body := ctx.Body()
		if err := g.knownPrincipals(body); err != nil {
			return g.fail(ctx, err)
		}
		if d, err := policy.Parse(body); err == nil && publicPolicy(d) {
			return g.fail(ctx, s3err.APIError{Code: "AccessDenied", HTTPStatusCode: http.StatusForbidden,
				Description: "Access Denied: the policy is public, and the bucket's public access block (BlockPublicPolicy) refuses public policies"})
		}
		if err := g.iam.authz.putPolicy(bucket, body); err != nil {
			return g.fail(ctx, s3err.APIError{Code: "MalformedPolicy", Description: err.Error(), HTTPStatusCode: http.StatusBadRequest})
		}
		return ctx.SendStatus(http.StatusNoContent)
	default:
		g.iam.authz.deletePolicy(bucket)
		return ctx.SendStatus(http.StatusNoContent)
	}
}

// authorizeBucket authenticates a bucket request the gate answers itself
// and decides action on the bucket: Account A's root always, anyone else as
// the policies allow (with ownerOnly, only from the owner's account); an
// ExpectedBucketOwner that is not the owner is refused, as on AWS.
func (g *gate) authorizeBucket(ctx fiber.Ctx, bucket, action string, ownerOnly bool) error {
	if err := g.verify(ctx); err != nil {
		return err
	}
	acc, _ := utils.ContextKeyAccount.Get(ctx).(auth.Account)
	isRoot, _ := utils.ContextKeyIsRoot.Get(ctx).(bool)
	owner := g.iam.authz.owner(bucket)
	switch {
	case owner == "":
		return s3err.GetAPIError(s3err.ErrNoSuchBucket)
	case action == "":
		return s3err.GetAPIError(s3err.ErrMethodNotAllowed)
	}
	if !isRoot {
		resource := "arn:aws:s3:::" + bucket
		ok, why := g.iam.authz.allowed(acc, action, resource, map[string][]string{})
		if ok && ownerOnly && accountOf(acc.Arn) != owner {
			ok, why = false, "only the bucket owner's account may"
		}
		if !ok {
			g.iam.authz.log.Printf("authz: denied %s %s on %s: %s", principalARN(acc), action, resource, why)
			return s3err.GetExplicitDenyAccessErr(acc.Arn, action, resource, "a resource-based policy")
		}
	}
	if want := ctx.Get("X-Amz-Expected-Bucket-Owner"); want != "" && want != owner {
		return s3err.GetAPIError(s3err.ErrAccessDenied)
	}
	return nil
}

// knownPrincipals refuses, as AWS does, a policy naming an AWS principal
// that does not exist (here: that the stack does not know).
func (g *gate) knownPrincipals(raw []byte) error {
	d, err := policy.Parse(raw)
	if err != nil {
		return nil // putPolicy reports it
	}
	var named []string
	for _, s := range d.Statements {
		for _, p := range []*policy.Principal{s.Principal, s.NotPrincipal} {
			if p != nil {
				named = append(named, p.Values["AWS"]...)
			}
		}
	}
	named = slices.DeleteFunc(named, func(p string) bool { return p == "*" })
	unknown, err := g.iam.ResolvePrincipals(named)
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		return s3err.APIError{Code: "MalformedPolicy", Description: "Invalid principal in policy: " + strings.Join(unknown, ", "), HTTPStatusCode: http.StatusBadRequest}
	}
	return nil
}

// fail writes err as S3's XML error document.
func (g *gate) fail(ctx fiber.Ctx, err error) error {
	var se s3err.S3Error
	if !errors.As(err, &se) {
		se = s3err.GetAPIError(s3err.ErrInternalError)
	}
	reqID, hostID := utils.EnsureRequestIDs(ctx)
	ctx.Set("Content-Type", "application/xml")
	return ctx.Status(se.StatusCode()).Send(se.XMLBody(reqID, hostID))
}

// splitPath reads a path-style request's bucket and (decoded) key.
func splitPath(p string) (bucket, key string) {
	p = strings.TrimPrefix(p, "/")
	bucket, rawKey, _ := strings.Cut(p, "/")
	if k, err := url.PathUnescape(rawKey); err == nil {
		rawKey = k
	}
	return bucket, rawKey
}

// credentialOf reads the access key and session token a request is signed
// with (Authorization header or presigned query); it does not check them.
func credentialOf(ctx fiber.Ctx) (access, token string) {
	if h := ctx.Get("Authorization"); h != "" {
		if _, rest, ok := strings.Cut(h, "Credential="); ok {
			access, _, _ = strings.Cut(rest, "/")
		}
		return access, ctx.Get("X-Amz-Security-Token")
	}
	q := ctx.Request().URI().QueryArgs()
	if c := string(q.Peek("X-Amz-Credential")); c != "" {
		access, _, _ = strings.Cut(c, "/")
		return access, string(q.Peek("X-Amz-Security-Token"))
	}
	return "", ""
}
