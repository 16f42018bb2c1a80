// Package localstack runs the whole of logvault's AWS side on one machine:
// a real S3 server (versitygw) over TLS that enforces the vault's bucket
// policy and versioning, a loopback STS AssumeRole endpoint that checks the
// writer role's trust policy and ExternalId, the three accounts and the
// three buckets. Both policies are read from infra/vault.yaml.
package localstack

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
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

	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
)

// The fixed shape of the local stack.
const (
	Region           = "us-east-1"
	AccountA         = "111111111111" // the vault account
	AccountB         = "222222222222" // the application account
	VaultBucket      = "logvault-local-vault"
	CloudTrailBucket = "logvault-local-cloudtrail"
	BillingBucket    = "logvault-local-billing"
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

// WriterRoleARN is the local writer role.
const WriterRoleARN = "arn:aws:iam::" + AccountA + ":role/" + WriterRoleName

// BreakGlassRoleARN is the local break-glass role (exempt from the Denies).
const BreakGlassRoleARN = "arn:aws:iam::" + AccountA + ":role/" + BreakGlassRole

// accountBUserARN is who Account B's keys belong to.
const accountBUserARN = "arn:aws:iam::" + AccountB + ":user/logvault-local"

// secrets are the stack's long-term keys, kept across restarts because
// versitygw records bucket owners by access key.
type secrets struct {
	AdminAccess, AdminSecret string
	BAccess, BSecret         string
	ExternalID               string
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
			return fmt.Errorf("localstack: %w", err)
		}
	}
	caFile, certFile, keyFile, err := writeTLS(filepath.Join(dir, "tls"))
	if err != nil {
		return fmt.Errorf("localstack: tls: %w", err)
	}
	sec, err := loadSecrets(filepath.Join(dir, "keys.json"))
	if err != nil {
		return err
	}

	iam := newIAMService()
	iam.addUser(sec.BAccess, sec.BSecret, accountBUserARN, auth.RoleUserPlus)
	iam.allowPrincipal(WriterRoleARN)
	iam.allowPrincipal(BreakGlassRoleARN)
	bucketPolicy, trust, err := vaultPolicies(o.Template, sec.ExternalID)
	if err != nil {
		return err
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
	gwErr := make(chan error, 1)
	go func() {
		gwErr <- embedgw.RunVersityGW(ctx, be, &embedgw.Config{
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
		})
	}()

	sts := &stsServer{iam: iam, region: Region, now: time.Now, roles: map[string]*role{
		WriterRoleARN: {arn: WriterRoleARN, trust: trust, maxSessionDuration: time.Hour},
	}}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	stsLn, err := tls.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", stsPort), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return fmt.Errorf("localstack: sts listener: %w", err)
	}
	stsSrv := &http.Server{Handler: sts, ReadHeaderTimeout: 10 * time.Second}
	go stsSrv.Serve(stsLn)
	defer stsSrv.Close()

	env := Env{
		"AWS_ENDPOINT_URL_S3":           fmt.Sprintf("https://127.0.0.1:%d", s3Port),
		"AWS_ENDPOINT_URL_STS":          fmt.Sprintf("https://127.0.0.1:%d", stsPort),
		"AWS_CA_BUNDLE":                 caFile,
		"AWS_REGION":                    Region,
		"AWS_EC2_METADATA_DISABLED":     "true",
		"AWS_SESSION_TOKEN":             "",
		"AWS_PROFILE":                   "",
		"LOGVAULT_S3_PATH_STYLE":        "true",
		"AWS_ACCESS_KEY_ID":             sec.BAccess,
		"AWS_SECRET_ACCESS_KEY":         sec.BSecret,
		"VAULT_BUCKET":                  VaultBucket,
		"VAULT_ROLE_ARN":                WriterRoleARN,
		"VAULT_EXTERNAL_ID":             sec.ExternalID,
		"VAULT_EXPECTED_OWNER":          AccountA,
		"VAULT_ADMIN_ACCESS_KEY_ID":     sec.AdminAccess,
		"VAULT_ADMIN_SECRET_ACCESS_KEY": sec.AdminSecret,
		"SOURCE_CLOUDTRAIL_BUCKET":      CloudTrailBucket,
		"SOURCE_BILLING_BUCKET":         BillingBucket,
		"LOCAL_UNVERSIONED_BUCKET":      UnversionedBucket,
		"LOCAL_FOREIGN_BUCKET":          ForeignBucket,
		"LOGVAULT_LOCAL_DIR":            dir,
	}
	setupCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := setup(setupCtx, env, sec, bucketPolicy, gwErr); err != nil {
		return err
	}
	if err := os.WriteFile(envFile(dir), []byte(env.Exports()), 0o600); err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	select {
	case <-ctx.Done():
		be.Shutdown()
		return nil
	case err := <-gwErr:
		return fmt.Errorf("localstack: versitygw stopped: %w", err)
	}
}

// Env is the environment a shell needs to use the stack.
type Env map[string]string

// Exports renders env as `export NAME=value` lines, sorted, shell-quoted.
func (e Env) Exports() string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
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

// vaultPolicies resolves infra/vault.yaml for the local accounts and returns
// the vault bucket policy (JSON) and the writer role's trust policy.
func vaultPolicies(template []byte, externalID string) ([]byte, *policy.Document, error) {
	tmpl, err := cfn.Load(template, cfn.Values{
		ListParameters: map[string][]string{
			// The local Account B key plays the functions' execution role.
			"FunctionRoleArns": {accountBUserARN, "arn:aws:iam::" + AccountB + ":role/logvault-*"},
		},
		Parameters: map[string]string{
			"TrustedAccountId":  AccountB,
			"ExternalId":        externalID,
			"BreakGlassRoleArn": BreakGlassRoleARN,
			"VaultBucketName":   VaultBucket,
			"WriterRoleName":    WriterRoleName,
		},
		Pseudo: map[string]string{"AWS::Partition": "aws", "AWS::AccountId": AccountA, "AWS::Region": Region},
		Refs:   map[string]string{"VaultBucket": VaultBucket, "WriterRole": WriterRoleName},
		Attrs: map[string]string{
			"VaultBucket.Arn": "arn:aws:s3:::" + VaultBucket,
			"WriterRole.Arn":  WriterRoleARN,
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: vault template: %w", err)
	}
	bp, err := tmpl.GetS3BucketPolicyWithName("VaultBucketPolicy")
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: vault template: %w", err)
	}
	bucketPolicy, err := cfn.PolicyJSON(bp.PolicyDocument)
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: VaultBucketPolicy: %w", err)
	}
	r, err := tmpl.GetIAMRoleWithName("WriterRole")
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: vault template: %w", err)
	}
	trustJSON, err := cfn.PolicyJSON(r.AssumeRolePolicyDocument)
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: WriterRole trust policy: %w", err)
	}
	trust, err := policy.Parse(trustJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("localstack: WriterRole trust policy: %w", err)
	}
	return bucketPolicy, trust, nil
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
			return nil, fmt.Errorf("localstack: sidecar metadata: %w", err)
		}
		ms, opts.SideCarDir = sc, sidecar
	}
	be, err := posix.New(dataDir, ms, opts)
	if err != nil {
		return nil, fmt.Errorf("localstack: posix backend: %w", err)
	}
	return be, nil
}

// setup waits for the S3 server, then creates the buckets (idempotently),
// switches versioning on and applies the vault's bucket policy.
func setup(ctx context.Context, env Env, sec secrets, bucketPolicy []byte, gwErr <-chan error) error {
	admin, err := ClientFor(env, sec.AdminAccess, sec.AdminSecret, "")
	if err != nil {
		return err
	}
	b, err := ClientFor(env, sec.BAccess, sec.BSecret, "")
	if err != nil {
		return err
	}
	for {
		if _, err := admin.ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
			break
		}
		select {
		case err := <-gwErr:
			return fmt.Errorf("localstack: versitygw failed to start: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("localstack: S3 server not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	for _, bk := range []struct {
		c    *s3.Client
		name string
	}{{admin, VaultBucket}, {b, CloudTrailBucket}, {b, BillingBucket}, {b, ForeignBucket}} {
		if err := createBucket(ctx, bk.c, bk.name); err != nil {
			return err
		}
		if _, err := bk.c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(bk.name),
			VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled},
		}); err != nil {
			return fmt.Errorf("localstack: enable versioning on %s: %w", bk.name, err)
		}
	}
	local, dropped, err := forVersitygw(bucketPolicy)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		fmt.Printf("bucket policy: not enforced locally (versitygw has no such actions): %s\n", strings.Join(dropped, ", "))
	}
	if _, err := admin.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(VaultBucket), Policy: aws.String(string(local))}); err != nil {
		return fmt.Errorf("localstack: apply the vault bucket policy of infra/vault.yaml: %w", err)
	}
	// The two misconfigured vaults the tests point the functions at.
	if err := createBucket(ctx, admin, UnversionedBucket); err != nil {
		return err
	}
	for _, bk := range []struct {
		c    *s3.Client
		name string
	}{{admin, UnversionedBucket}, {b, ForeignBucket}} {
		if _, err := bk.c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bk.name), Policy: aws.String(writerGrant(bk.name))}); err != nil {
			return fmt.Errorf("localstack: bucket policy of %s: %w", bk.name, err)
		}
	}
	return nil
}

// createBucket creates a bucket unless its creator already owns it.
func createBucket(ctx context.Context, c *s3.Client, name string) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("localstack: create bucket %s: %w", name, err)
		}
	}
	return nil
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
		return nil, fmt.Errorf("localstack: CA bundle: %w", err)
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
			return s, fmt.Errorf("localstack: %s: %w", path, err)
		}
		return s, nil
	}
	// The long-term access key ids are the account ids: versitygw records a
	// bucket's owner by access key, so this makes the owner it reports (and
	// checks against ExpectedBucketOwner) the account id, as on AWS.
	s = secrets{
		AdminAccess: AccountA, AdminSecret: randomSecret(40),
		BAccess: AccountB, BSecret: randomSecret(40),
		ExternalID: "logvault-" + strings.ToLower(randomID(16)),
	}
	data, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return s, fmt.Errorf("localstack: %w", err)
	}
	return s, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localstack: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
