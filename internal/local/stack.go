// Package local is the local stack: it runs the whole of logvault's AWS side on one machine:
// a real S3 server (versitygw) over TLS with versioning and Object Lock, a
// loopback STS AssumeRole endpoint that checks the writer role's trust
// policy and ExternalId, the accounts and identities (Account A's root, an
// Account A operator who is not break-glass, the break-glass role, Account
// B, the writer) and the buckets. Requests are authorized as AWS would
// (authorizer, gate): the vault's bucket policy, the writer's trust and
// identity policies and the vault's Object Lock default are read from
// infra/vault.yaml; what differs from AWS is listed in docs/threat-model.md
// ("The local stack against AWS").
package local

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"

	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
	"github.com/logvault/logvault/internal/schema"
)

// The fixed shape of the local stack.
const (
	Region   = "us-east-1"
	AccountA = "111111111111" // the vault account
	AccountB = "222222222222" // the application account
	AccountC = "333333333333" // a second source account of the same organization
	// AccountOutside is an account of no organization the stack knows: one
	// the vault must never trust.
	AccountOutside = "444444444444"
	// Organization is the AWS Organization of Accounts A, B and C
	// (aws:PrincipalOrgID of their principals).
	Organization     = "o-logvaultlocal1"
	VaultBucket      = "logvault-local-vault"
	CloudTrailBucket = "logvault-local-cloudtrail"
	// CloudTrailBucketC is Account C's trail bucket (SOURCE_C_CLOUDTRAIL_BUCKET).
	CloudTrailBucketC = "logvault-local-c-cloudtrail"
	BillingBucket     = "logvault-local-billing"
	// UnversionedBucket is owned by Account A, never versioned, and grants
	// the writer role what it has on the vault: a vault misconfigured
	// without versioning, for the tests (LOCAL_UNVERSIONED_BUCKET).
	UnversionedBucket = "logvault-local-unversioned"
	// ForeignBucket is owned by Account B and grants the writer role what it
	// has on the vault: a look-alike vault in the wrong account, which only
	// ExpectedBucketOwner refuses (LOCAL_FOREIGN_BUCKET).
	ForeignBucket  = "logvault-local-foreign"
	WriterRoleName = "logvault-vault-writer"
	BreakGlassRole = "logvault-break-glass"
)

// OrganizationOf is the organization of a local account, "" for none.
func OrganizationOf(account string) string {
	switch account {
	case AccountA, AccountB, AccountC:
		return Organization
	}
	return ""
}

// OperatorARN is the local Account A administrator who is not break-glass:
// an IAM user whose identity policy allows s3:* on everything.
const OperatorARN = "arn:aws:iam::" + AccountA + ":user/logvault-operator"

// breakGlassSessionARN is who the break-glass keys act as: a session of the
// break-glass role (aws:PrincipalArn is the role's ARN).
const breakGlassSessionARN = "arn:aws:sts::" + AccountA + ":assumed-role/" + BreakGlassRole + "/local"

// WriterRoleARN is the local writer role.
const WriterRoleARN = "arn:aws:iam::" + AccountA + ":role/" + WriterRoleName

// BreakGlassRoleARN is the local break-glass role (exempt from the Denies).
const BreakGlassRoleARN = "arn:aws:iam::" + AccountA + ":role/" + BreakGlassRole

// localRoleName is the role the source accounts' keys are sessions of:
// each account's administrator, which locally also plays the functions'
// execution roles (so infra/vault.yaml's FunctionRoleNames lists it).
const localRoleName = "logvault-local"

// sourceRoleARN is a source account's local role, and sourceSessionARN who
// its keys act as.
func sourceRoleARN(account string) string {
	return "arn:aws:iam::" + account + ":role/" + localRoleName
}
func sourceSessionARN(account string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + localRoleName + "/local"
}

// functionRoleNames are infra/vault.yaml's FunctionRoleNames locally: the
// local role, and the execution roles template.yaml creates by default.
var functionRoleNames = []string{localRoleName, "logvault-cloudtrail", "logvault-billing", "logvault-applogs", "logvault-reconcile"}

// secrets are the stack's long-term keys, kept across restarts because
// versitygw records bucket owners by access key.
type secrets struct {
	AdminAccess, AdminSecret           string
	BAccess, BSecret                   string
	CAccess, CSecret                   string
	OutsideAccess, OutsideSecret       string
	OperatorAccess, OperatorSecret     string
	BreakGlassAccess, BreakGlassSecret string
	ExternalID                         string
}

// Options configure Serve.
type Options struct {
	// Dir holds the state: TLS material, data, keys, the env file, the log.
	Dir string
	// Template is the Account A template (infra/vault.yaml) to apply.
	Template []byte
}

// envFile is written once the stack is ready; its lines are the exports.
func envFile(dir string) string { return filepath.Join(dir, "env") }

// Serve runs the local stack until ctx is done.
func Serve(ctx context.Context, o Options) error {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	os.Remove(envFile(dir))
	for _, d := range []string{"data", "versions", "tls"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("local stack: %w", err)
		}
	}
	caFile, certFile, keyFile, err := writeTLS(filepath.Join(dir, "tls"))
	if err != nil {
		return fmt.Errorf("local stack: tls: %w", err)
	}
	sec, err := loadSecrets(filepath.Join(dir, "keys.json"))
	if err != nil {
		return err
	}

	vault, err := loadVault(o.Template, sec.ExternalID)
	if err != nil {
		return err
	}
	authz := newAuthorizer(log.New(os.Stdout, "", log.LstdFlags))
	iam := newIAMService(authz)
	for _, src := range []struct{ access, secret, account string }{
		{sec.BAccess, sec.BSecret, AccountB}, {sec.CAccess, sec.CSecret, AccountC}, {sec.OutsideAccess, sec.OutsideSecret, AccountOutside},
	} {
		iam.addRoleKey(src.access, src.secret, sourceSessionARN(src.account), sourceRoleARN(src.account), auth.RoleUserPlus)
		authz.attach(sourceRoleARN(src.account), adminPolicy)
	}
	iam.addUser(sec.OperatorAccess, sec.OperatorSecret, OperatorARN, auth.RoleUser)
	iam.addRoleKey(sec.BreakGlassAccess, sec.BreakGlassSecret, breakGlassSessionARN, BreakGlassRoleARN, auth.RoleUser)
	iam.allowPrincipal(WriterRoleARN)
	for _, admin := range []string{OperatorARN, BreakGlassRoleARN} {
		authz.attach(admin, administratorPolicy)
	}
	for _, d := range vault.writerPolicies {
		authz.attach(WriterRoleARN, d)
	}

	s3Port, err := freePort()
	if err != nil {
		return err
	}
	stsPort, err := freePort()
	if err != nil {
		return err
	}

	be, err := posixBackend(filepath.Join(dir, "data"), filepath.Join(dir, "versions"))
	if err != nil {
		return err
	}
	authz.tagsOf = func(access string) map[string]string { tags, _ := iam.sessionTags(access); return tags }
	authz.ownerOf = func(bucket string) string {
		acl, err := be.GetBucketAcl(ctx, &s3.GetBucketAclInput{Bucket: aws.String(bucket)})
		if err != nil {
			return ""
		}
		return iam.accountOfKey(aclOwner(acl))
	}
	g := newGate(iam, sec.AdminAccess, sec.AdminSecret, Region)
	gwErr := make(chan error, 1)
	go func() {
		gwErr <- embedgw.RunVersityGW(ctx, lockedBackend{Posix: be, now: time.Now}, &embedgw.Config{
			RootUserAccess:    sec.AdminAccess,
			RootUserSecret:    sec.AdminSecret,
			Region:            Region,
			Ports:             []string{fmt.Sprintf("127.0.0.1:%d", s3Port)},
			MaxConnections:    1000,
			MaxRequests:       1000,
			MultipartMaxParts: 10000,
			CertFile:          certFile,
			KeyFile:           keyFile,
			IAMService:        iam,
			Quiet:             true,
			KeepAlive:         true,
			S3Options:         []s3api.Option{s3api.WithMiddleware("/", g.handle)},
		})
	}()

	sts := &stsServer{iam: iam, region: Region, now: time.Now, rootAccess: sec.AdminAccess, rootSecret: sec.AdminSecret, roles: localRoles(vault)}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	stsLn, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", stsPort), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return fmt.Errorf("local stack: sts listener: %w", err)
	}
	stsSrv := &http.Server{Handler: sts, ReadHeaderTimeout: 10 * time.Second}
	go stsSrv.Serve(stsLn)
	defer stsSrv.Close()

	env := Env{
		"AWS_ENDPOINT_URL_S3":                 fmt.Sprintf("https://127.0.0.1:%d", s3Port),
		"AWS_ENDPOINT_URL_STS":                fmt.Sprintf("https://127.0.0.1:%d", stsPort),
		"AWS_ENDPOINT_URL_IAM":                fmt.Sprintf("https://127.0.0.1:%d", stsPort), // the roles' reads (audit --live)
		"AWS_CA_BUNDLE":                       caFile,
		"AWS_REGION":                          Region,
		"AWS_DEFAULT_REGION":                  Region, // the AWS CLI v1 reads only this one
		"AWS_EC2_METADATA_DISABLED":           "true",
		"LOGVAULT_S3_PATH_STYLE":              "true",
		"AWS_ACCESS_KEY_ID":                   sec.BAccess,
		"AWS_SECRET_ACCESS_KEY":               sec.BSecret,
		"VAULT_BUCKET":                        VaultBucket,
		"VAULT_ROLE_ARN":                      WriterRoleARN,
		"VAULT_EXTERNAL_ID":                   sec.ExternalID,
		"VAULT_EXPECTED_OWNER":                AccountA,
		"VAULT_ADMIN_ACCESS_KEY_ID":           sec.AdminAccess,
		"VAULT_ADMIN_SECRET_ACCESS_KEY":       sec.AdminSecret,
		"VAULT_OPERATOR_ACCESS_KEY_ID":        sec.OperatorAccess,
		"VAULT_OPERATOR_SECRET_ACCESS_KEY":    sec.OperatorSecret,
		"VAULT_BREAK_GLASS_ACCESS_KEY_ID":     sec.BreakGlassAccess,
		"VAULT_BREAK_GLASS_SECRET_ACCESS_KEY": sec.BreakGlassSecret,
		"SOURCE_CLOUDTRAIL_BUCKET":            CloudTrailBucket,
		"ACCOUNT_C_ACCESS_KEY_ID":             sec.CAccess,
		"ACCOUNT_C_SECRET_ACCESS_KEY":         sec.CSecret,
		"SOURCE_C_CLOUDTRAIL_BUCKET":          CloudTrailBucketC,
		"ACCOUNT_OUTSIDE_ACCESS_KEY_ID":       sec.OutsideAccess,
		"ACCOUNT_OUTSIDE_SECRET_ACCESS_KEY":   sec.OutsideSecret,
		"SOURCE_BILLING_BUCKET":               BillingBucket,
		"LOCAL_UNVERSIONED_BUCKET":            UnversionedBucket,
		"LOCAL_FOREIGN_BUCKET":                ForeignBucket,
		"LOGVAULT_LOCAL_DIR":                  dir,
	}
	setupCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := setup(setupCtx, env, sec, vault, gwErr); err != nil {
		return err
	}
	if err := os.WriteFile(envFile(dir), []byte(env.Exports()), 0o600); err != nil {
		return fmt.Errorf("local stack: %w", err)
	}
	select {
	case <-ctx.Done():
		be.Shutdown()
		return nil
	case err := <-gwErr:
		return fmt.Errorf("local stack: versitygw stopped: %w", err)
	}
}

// Env is the environment a shell needs to use the stack.
type Env map[string]string

// unset are the variables that would make the AWS CLI or an SDK in the
// shell use something else than the exported keys (a profile, a session
// token, a web identity or container role); Exports unsets them.
var unset = []string{
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
}

// Exports renders env as an `unset` line for what must not leak in, then
// `export NAME=value` lines, sorted, shell-quoted.
func (e Env) Exports() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("unset " + strings.Join(unset, " ") + "\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(e[k]))
	}
	return b.String()
}

// ParseExports reads `export NAME=value` lines (as Exports writes them) the
// way a shell would.
func ParseExports(s string) Env {
	env := Env{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
		}
		env[k] = v
	}
	return env
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=+,@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// vaultConfig is what the stack takes from infra/vault.yaml.
type vaultConfig struct {
	bucketPolicy   []byte
	trust          *policy.Document
	writerPolicies []*policy.Document
	// trustJSON and writerPolicyJSON are the same documents as IAM
	// answers them (GetRole, GetRolePolicy).
	trustJSON        []byte
	writerPolicyJSON []namedPolicy
	lock             *types.ObjectLockConfiguration // the bucket's Object Lock default, nil for none
}

// deployment is infra/vault.yaml deployed for the local accounts.
func deployment(externalID string) cfn.VaultDeployment {
	return cfn.VaultDeployment{
		VaultAccount: AccountA, Region: Region,
		// Every account of the local Organization (A, B, C) but the
		// vault's own; the source accounts' keys play the function roles.
		OrganizationID:     Organization,
		FunctionRoleNames:  functionRoleNames,
		ExternalID:         externalID,
		BreakGlassRoleName: BreakGlassRole,
		BucketName:         VaultBucket,
		WriterRoleName:     WriterRoleName,
		// The writer reads the source buckets for server-side copies; each
		// also grants it in its own policy (setup).
		SourceBuckets: []string{CloudTrailBucket, BillingBucket},
	}
}

// loadVault resolves infra/vault.yaml for the local accounts.
func loadVault(template []byte, externalID string) (vaultConfig, error) {
	var v vaultConfig
	tmpl, err := cfn.Load(template, deployment(externalID).Values())
	if err != nil {
		return v, fmt.Errorf("local stack: vault template: %w", err)
	}
	bp, err := tmpl.GetS3BucketPolicyWithName(cfn.VaultBucketPolicyID)
	if err != nil {
		return v, fmt.Errorf("local stack: vault template: %w", err)
	}
	if v.bucketPolicy, err = cfn.PolicyJSON(bp.PolicyDocument); err != nil {
		return v, fmt.Errorf("local stack: %s: %w", cfn.VaultBucketPolicyID, err)
	}
	r, err := tmpl.GetIAMRoleWithName(cfn.WriterRoleID)
	if err != nil {
		return v, fmt.Errorf("local stack: vault template: %w", err)
	}
	if v.trustJSON, v.trust, err = parseTemplatePolicy(r.AssumeRolePolicyDocument); err != nil {
		return v, fmt.Errorf("local stack: WriterRole trust policy: %w", err)
	}
	for _, p := range r.Policies {
		js, d, err := parseTemplatePolicy(p.PolicyDocument)
		if err != nil {
			return v, fmt.Errorf("local stack: WriterRole policy %s: %w", p.PolicyName, err)
		}
		v.writerPolicies = append(v.writerPolicies, d)
		v.writerPolicyJSON = append(v.writerPolicyJSON, namedPolicy{name: p.PolicyName, json: js})
	}
	b, err := tmpl.GetS3BucketWithName(cfn.VaultBucketID)
	if err != nil {
		return v, fmt.Errorf("local stack: vault template: %w", err)
	}
	if c := b.ObjectLockConfiguration; c != nil && c.Rule != nil && c.Rule.DefaultRetention != nil && c.Rule.DefaultRetention.Mode != nil {
		d := c.Rule.DefaultRetention
		v.lock = &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled, Rule: &types.ObjectLockRule{
			DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionMode(*d.Mode)},
		}}
		if d.Days != nil {
			v.lock.Rule.DefaultRetention.Days = aws.Int32(int32(*d.Days))
		}
		if d.Years != nil {
			v.lock.Rule.DefaultRetention.Years = aws.Int32(int32(*d.Years))
		}
	}
	return v, nil
}

// localRoles are Account A's roles as the stack serves them: the writer
// (assumable, its trust and policies from the template) and break-glass.
func localRoles(vault vaultConfig) map[string]*role {
	return map[string]*role{
		WriterRoleARN: {arn: WriterRoleARN, trust: vault.trust, maxSessionDuration: time.Hour, assumable: true,
			trustJSON: vault.trustJSON, policies: vault.writerPolicyJSON},
		BreakGlassRoleARN: {arn: BreakGlassRoleARN, trust: breakGlassTrust, maxSessionDuration: time.Hour,
			trustJSON: []byte(breakGlassTrustJSON), policies: []namedPolicy{{name: "Administrator", json: []byte(administratorJSON)}}},
	}
}

func parseTemplatePolicy(doc any) ([]byte, *policy.Document, error) {
	js, err := cfn.PolicyJSON(doc)
	if err != nil {
		return nil, nil, err
	}
	d, err := policy.Parse(js)
	return js, d, err
}

func posixBackend(dataDir, versionsDir string) (*posix.Posix, error) {
	opts := posix.PosixOpts{
		VersioningDir:       versionsDir,
		Concurrency:         256,
		CopyObjectThreshold: 5 << 30,
	}
	var ms meta.MetadataStorer = meta.XattrMeta{}
	if err := (meta.XattrMeta{}).Test(dataDir); err != nil {
		// No user xattrs on this filesystem: keep metadata in a sidecar tree.
		sidecar := filepath.Join(filepath.Dir(dataDir), "meta")
		if err := os.MkdirAll(sidecar, 0o700); err != nil {
			return nil, err
		}
		sc, err := meta.NewSideCar(sidecar)
		if err != nil {
			return nil, fmt.Errorf("local stack: sidecar metadata: %w", err)
		}
		ms, opts.SideCarDir = sc, sidecar
	}
	be, err := posix.New(dataDir, ms, opts)
	if err != nil {
		return nil, fmt.Errorf("local stack: posix backend: %w", err)
	}
	return be, nil
}

// setup waits for the S3 server, then creates the buckets (idempotently),
// switches versioning on, gives the vault its Object Lock default and
// applies the bucket policies (the vault's from infra/vault.yaml).
func setup(ctx context.Context, env Env, sec secrets, vault vaultConfig, gwErr <-chan error) error {
	admin, err := ClientFor(env, sec.AdminAccess, sec.AdminSecret, "")
	if err != nil {
		return err
	}
	b, err := ClientFor(env, sec.BAccess, sec.BSecret, "")
	if err != nil {
		return err
	}
	c, err := ClientFor(env, sec.CAccess, sec.CSecret, "")
	if err != nil {
		return err
	}
	for {
		if _, err := admin.ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
			break
		}
		select {
		case err := <-gwErr:
			return fmt.Errorf("local stack: versitygw failed to start: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("local stack: S3 server not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, bk := range []struct {
		c    *s3.Client
		name string
		lock bool
	}{{admin, VaultBucket, vault.lock != nil}, {b, CloudTrailBucket, false}, {b, BillingBucket, false}, {b, ForeignBucket, false}, {c, CloudTrailBucketC, false}} {
		if err := createBucket(ctx, bk.c, bk.name, bk.lock); err != nil {
			return err
		}
		if _, err := bk.c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(bk.name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		}); err != nil {
			return fmt.Errorf("local stack: enable versioning on %s: %w", bk.name, err)
		}
	}
	if vault.lock != nil {
		if _, err := admin.PutObjectLockConfiguration(ctx, &s3.PutObjectLockConfigurationInput{
			Bucket: aws.String(VaultBucket), ObjectLockConfiguration: vault.lock,
		}); err != nil {
			return fmt.Errorf("local stack: the Object Lock default of infra/vault.yaml on %s (a vault made by an older stack has none: remove the stack's directory): %w", VaultBucket, err)
		}
	}
	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(VaultBucket), Policy: aws.String(string(vault.bucketPolicy))}); err != nil {
		return fmt.Errorf("local stack: apply the vault bucket policy of infra/vault.yaml: %w", err)
	}
	// Account B lets the writer read its source buckets, as docs/deploy.md tells
	// it to, so that large objects are copied server-side.
	for _, bk := range []struct {
		c             *s3.Client
		name, account string
	}{{b, CloudTrailBucket, AccountB}, {b, BillingBucket, AccountB}, {c, CloudTrailBucketC, AccountC}} {
		if _, err := bk.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bk.name), Policy: aws.String(SourceGrant(bk.name, WriterRoleARN, bk.account))}); err != nil {
			return fmt.Errorf("local stack: bucket policy of %s: %w", bk.name, err)
		}
	}
	// The two misconfigured vaults the tests point the functions at.
	if err := createBucket(ctx, admin, UnversionedBucket, false); err != nil {
		return err
	}
	for _, bk := range []struct {
		c    *s3.Client
		name string
	}{{admin, UnversionedBucket}, {b, ForeignBucket}} {
		if _, err := bk.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bk.name), Policy: aws.String(writerGrant(bk.name))}); err != nil {
			return fmt.Errorf("local stack: bucket policy of %s: %w", bk.name, err)
		}
	}
	return nil
}

// createBucket creates a bucket (with Object Lock enabled when lock) unless
// its creator already owns it.
func createBucket(ctx context.Context, c *s3.Client, name string, lock bool) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if lock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	if _, err := c.CreateBucket(ctx, in); err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("local stack: create bucket %s: %w", name, err)
		}
	}
	return nil
}

// SourceGrant is the bucket policy statement a source bucket of account
// needs so that the vault writer may read it for server-side copies
// (docs/deploy.md): read, never write, of its objects, by writer sessions
// bound to that account only.
func SourceGrant(bucket, writerRoleARN, account string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"LogvaultWriterReadsForServerSideCopy","Effect":"Allow","Principal":{"AWS":"` + writerRoleARN + `"},` +
		`"Action":["s3:GetObject","s3:GetObjectVersion"],"Resource":"arn:aws:s3:::` + bucket + `/*",` +
		`"Condition":{"StringEquals":{"aws:PrincipalTag/` + schema.SourceAccountTag + `":"` + account + `"}}}]}`
}

// writerGrant is a bucket policy giving the writer role the object rights
// it has on the vault (and nothing destructive).
func writerGrant(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"WriterObjects","Effect":"Allow","Principal":{"AWS":"` + WriterRoleARN + `"},` +
		`"Action":["s3:PutObject","s3:GetObject","s3:GetObjectVersion","s3:AbortMultipartUpload"],"Resource":"arn:aws:s3:::` + bucket + `/*"},` +
		`{"Sid":"WriterList","Effect":"Allow","Principal":{"AWS":"` + WriterRoleARN + `"},` +
		`"Action":["s3:ListBucket","s3:ListBucketVersions","s3:ListBucketMultipartUploads"],"Resource":"arn:aws:s3:::` + bucket + `"}]}`
}

// ClientFor returns an S3 client for the stack described by env, acting
// with the given keys.
func ClientFor(env Env, access, secret, token string) (*s3.Client, error) {
	pem, err := os.ReadFile(env["AWS_CA_BUNDLE"])
	if err != nil {
		return nil, fmt.Errorf("local stack: CA bundle: %w", err)
	}
	pool := x509Pool(pem)
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return s3.New(s3.Options{
		Region:       env["AWS_REGION"],
		BaseEndpoint: aws.String(env["AWS_ENDPOINT_URL_S3"]),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, token),
		HTTPClient:   httpClient,
	}), nil
}

func loadSecrets(path string) (secrets, error) {
	var s secrets
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("local stack: %s: %w", path, err)
		}
	}
	before := s
	// The long-term access key ids of Account A's root and Account B are the
	// account ids: versitygw records a bucket's owner by access key, so this
	// makes the owner it reports (and checks against ExpectedBucketOwner)
	// the account id, as on AWS.
	fill := func(access, secret *string, id string) {
		if *access == "" {
			*access, *secret = id, randomSecret(40)
		}
	}
	fill(&s.AdminAccess, &s.AdminSecret, AccountA)
	fill(&s.BAccess, &s.BSecret, AccountB)
	fill(&s.CAccess, &s.CSecret, AccountC)
	fill(&s.OutsideAccess, &s.OutsideSecret, AccountOutside)
	fill(&s.OperatorAccess, &s.OperatorSecret, "AKIA"+randomID(16))
	fill(&s.BreakGlassAccess, &s.BreakGlassSecret, "AKIA"+randomID(16))
	if s.ExternalID == "" {
		s.ExternalID = "logvault-" + strings.ToLower(randomID(16))
	}
	if s == before {
		return s, nil
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return s, fmt.Errorf("local stack: %w", err)
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("local stack: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
