//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
)

// TestWriterSessionsConfinedToTheirAccount: on the local stack, with
// infra/vault.yaml's writer trust and permissions as AWS applies them
// (trusting the local Organization: Accounts B and C, not the vault's own
// Account A), a writer session is bound to the account that assumed it
// (the session tag logvault-source-account) and may deposit and read only
// in that account's part of the vault. An account outside the Organization
// cannot assume the writer at all; no account can tag its session as
// another.
func TestWriterSessionsConfinedToTheirAccount(t *testing.T) {
	ctx := context.Background()
	assume := func(c *sts.Client, tagValue string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(stack.env["VAULT_ROLE_ARN"]), RoleSessionName: aws.String("e2e-accounts"),
			ExternalId: aws.String(stack.env["VAULT_EXTERNAL_ID"])}
		if tagValue != "" {
			in.Tags = []ststypes.Tag{{Key: aws.String(schema.SourceAccountTag), Value: aws.String(tagValue)}}
		}
		return c.AssumeRole(ctx, in)
	}
	refused := func(what string, err error) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied", what, err)
		}
	}
	bSTS := stsClient(t)
	cSTS := stsClientFor(t, stack.env["ACCOUNT_C_ACCESS_KEY_ID"], stack.env["ACCOUNT_C_SECRET_ACCESS_KEY"])
	outsideSTS := stsClientFor(t, stack.env["ACCOUNT_OUTSIDE_ACCESS_KEY_ID"], stack.env["ACCOUNT_OUTSIDE_SECRET_ACCESS_KEY"])

	// An account outside the Organization: never, whatever it tags.
	for _, tag := range []string{local.AccountOutside, local.AccountB, local.AccountC, ""} {
		_, err := assume(outsideSTS, tag)
		refused("the account outside the Organization assuming the writer (tag "+tag+")", err)
	}
	// No account may pretend to be another, or carry no tag.
	for _, c := range []struct {
		name   string
		client *sts.Client
		tags   []string
	}{
		{"Account B", bSTS, []string{local.AccountC, local.AccountA, ""}},
		{"Account C", cSTS, []string{local.AccountB, local.AccountA, ""}},
	} {
		for _, tag := range c.tags {
			_, err := assume(c.client, tag)
			refused(c.name+" assuming the writer tagged "+tag, err)
		}
	}

	session := func(c *sts.Client, acct string) *s3.Client {
		t.Helper()
		out, err := assume(c, acct)
		if err != nil {
			t.Fatalf("Account %s assuming the writer with its own tag: %v", acct, err)
		}
		w, err := local.ClientFor(stack.env, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	vb := stack.env["VAULT_BUCKET"]
	run := strings.ReplaceAll(t.Name(), "/", "-")
	partOf := func(acct, name string) string { return "cloudtrail/account=" + acct + "/" + run + "/" + name }
	earlier := "cloudtrail/" + run + "/earlier-layout.json"
	// Account A's root (not bound by the policy) plants an object under the
	// earlier layout, for the reads below.
	if _, err := admin(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vb), Key: aws.String(earlier), Body: bytes.NewReader([]byte("{}"))}); err != nil {
		t.Fatal(err)
	}
	put := func(w *s3.Client, key string) error {
		_, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vb), Key: aws.String(key), Body: bytes.NewReader([]byte(`{"Records":[]}`)),
			ChecksumAlgorithm: "SHA256", ExpectedBucketOwner: aws.String(local.AccountA)})
		return err
	}
	get := func(w *s3.Client, key string) error {
		_, err := w.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(vb), Key: aws.String(key), ExpectedBucketOwner: aws.String(local.AccountA)})
		return err
	}
	sessions := map[string]*s3.Client{local.AccountB: session(bSTS, local.AccountB), local.AccountC: session(cSTS, local.AccountC)}
	// Each deposits in its own part first, so the other's reads below are
	// of objects that exist.
	for _, acct := range []string{local.AccountB, local.AccountC} {
		if err := put(sessions[acct], partOf(acct, "own.json")); err != nil {
			t.Errorf("Account %s's writer session depositing in its own part: %v", acct, err)
		}
		if err := get(sessions[acct], partOf(acct, "own.json")); err != nil {
			t.Errorf("Account %s's writer session reading its own part: %v", acct, err)
		}
	}
	// Listing, too, only in its own part (s3:prefix); S3 gives unfinished
	// uploads' listings no prefix key, so those are not confined.
	listVersions := func(w *s3.Client, prefix string) ([]string, error) {
		in := &s3.ListObjectVersionsInput{Bucket: aws.String(vb), ExpectedBucketOwner: aws.String(local.AccountA)}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		out, err := w.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, err
		}
		var keys []string
		for _, v := range out.Versions {
			keys = append(keys, aws.ToString(v.Key))
		}
		return keys, nil
	}
	listObjects := func(w *s3.Client, prefix string) error {
		_, err := w.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(vb), Prefix: aws.String(prefix), ExpectedBucketOwner: aws.String(local.AccountA)})
		return err
	}
	for _, c := range []struct{ self, other string }{{local.AccountB, local.AccountC}, {local.AccountC, local.AccountB}} {
		w, who := sessions[c.self], "Account "+c.self+"'s writer session"
		keys, err := listVersions(w, "cloudtrail/account="+c.self+"/")
		if err != nil || !slices.Contains(keys, partOf(c.self, "own.json")) {
			t.Errorf("%s listing its own part: %v, %v", who, keys, err)
		}
		if err := listObjects(w, partOf(c.self, "")); err != nil {
			t.Errorf("%s listing (ListObjectsV2) its own part: %v", who, err)
		}
		if _, err := w.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(vb), Prefix: aws.String(partOf(c.self, "own.json")),
			ExpectedBucketOwner: aws.String(local.AccountA)}); err != nil {
			t.Errorf("%s listing the unfinished uploads of its key: %v", who, err)
		}
		_, err = listVersions(w, "cloudtrail/account="+c.other+"/")
		refused(who+" listing Account "+c.other+"'s part", err)
		_, err = listVersions(w, "")
		refused(who+" listing the whole vault", err)
		_, err = listVersions(w, "cloudtrail/")
		refused(who+" listing every account's cloudtrail/", err)
		refused(who+" listing (ListObjectsV2) Account "+c.other+"'s part", listObjects(w, partOf(c.other, "")))
	}
	for _, c := range []struct{ self, other string }{{local.AccountB, local.AccountC}, {local.AccountC, local.AccountB}} {
		w, who := sessions[c.self], "Account "+c.self+"'s writer session"
		refused(who+" depositing in Account "+c.other+"'s part", put(w, partOf(c.other, "theirs.json")))
		refused(who+" overwriting Account "+c.other+"'s object", put(w, partOf(c.other, "own.json")))
		refused(who+" reading Account "+c.other+"'s object", get(w, partOf(c.other, "own.json")))
		refused(who+" depositing under the earlier layout", put(w, earlier))
		refused(who+" reading the earlier layout", get(w, earlier))
		refused(who+" depositing in "+c.other+"'s part with its own id deeper", put(w, "cloudtrail/account="+c.other+"/account="+c.self+"/x.json"))
	}
}

// TestSecondAccountShipsItsOwnCloudTrail: Account C, with its own keys and
// nothing told (its account comes from sts:GetCallerIdentity), ships
// CloudTrail files of its own bucket through the cloudtrail function into
// its part of the vault, with the SHA-256 S3 checked: a file of its own
// trail, and, as the log archive account of an organization trail, a file
// the trail delivered for member Account B (it lands in C's part, the
// shipping account's, under its own AWSLogs/<org>/<member>/ key).
func TestSecondAccountShipsItsOwnCloudTrail(t *testing.T) {
	ctx := context.Background()
	c, err := local.ClientFor(stack.env, stack.env["ACCOUNT_C_ACCESS_KEY_ID"], stack.env["ACCOUNT_C_SECRET_ACCESS_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	bucket := stack.env["SOURCE_C_CLOUDTRAIL_BUCKET"]
	for _, tc := range []struct{ name, key string }{
		{"its own trail", "AWSLogs/" + local.AccountC + "/CloudTrail/us-east-1/2026/12/07/" + local.AccountC + "_CloudTrail_us-east-1_20261207T0405Z_c.json.gz"},
		{"an organization trail's file of member Account B", "AWSLogs/" + local.Organization + "/" + local.AccountB + "/CloudTrail/eu-west-1/2026/12/07/" + local.AccountB + "_CloudTrail_eu-west-1_20261207T0410Z_org.json.gz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			body := []byte(`{"Records":[{"eventName":"CreateUser","key":"` + key + `"}]}`)
			out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatalf("Account C writing its trail bucket: %v", err)
			}
			src := eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: int64(len(body))}
			r := invoke(t, "cloudtrail", event(t, eventgen.Shapes[0], src), map[string]string{
				"AWS_ACCESS_KEY_ID": stack.env["ACCOUNT_C_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": stack.env["ACCOUNT_C_SECRET_ACCESS_KEY"],
				"VAULT_SOURCE_ACCOUNT": "",
			})
			if r.code != 0 {
				t.Fatalf("invoke cloudtrail as Account C: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			// docs/design.md's key layout: <kind-prefix>/account=<id>/<bucket>/<key>.
			vaultKey := "cloudtrail/account=" + local.AccountC + "/" + bucket + "/" + key
			got, err := admin(t).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(vaultKey), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatalf("Account C's file is not in its part of the vault (%s): %v\nreceipt: %s", vaultKey, err, r.stdout)
			}
			data, err := io.ReadAll(got.Body)
			got.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(body)
			if !bytes.Equal(data, body) || got.Metadata[schema.MetaSHA256] != hex.EncodeToString(sum[:]) || got.Metadata[schema.MetaKind] != "cloudtrail" ||
				aws.ToString(got.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) || got.Metadata[schema.MetaSourceVersionID] != src.VersionID {
				t.Errorf("Account C's vault object: bytes equal %v, metadata %v, checksum %s", bytes.Equal(data, body), got.Metadata, aws.ToString(got.ChecksumSHA256))
			}
			// Nothing of it landed in Account B's part.
			if _, err := admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]),
				Key: aws.String("cloudtrail/account=" + local.AccountB + "/" + bucket + "/" + key)}); err == nil {
				t.Errorf("Account C's file is in Account B's part too")
			}
		})
	}
}

// TestVerifyAsTheWriter: `logvault verify` with the writer's rights
// (VAULT_ROLE_ARN, the stack's environment) and no --prefix verifies
// the session's own parts of the vault, which are all it may list; a
// --prefix outside them is refused with what to do instead.
func TestVerifyAsTheWriter(t *testing.T) {
	// Something in Account B's part, whatever ran before.
	o := putSource(t, "AWSLogs/"+local.AccountB+"/CloudTrail/us-east-1/2026/12/07/"+local.AccountB+"_CloudTrail_us-east-1_20261207T0500Z_verify.json.gz", []byte(`{"Records":[]}`))
	if r := invoke(t, "cloudtrail", event(t, eventgen.Shapes[0], o), nil); r.code != 0 {
		t.Fatalf("ship: exit %d\n%s", r.code, r.stderr)
	}
	r := cli(t, nil, "verify", "--json")
	var rep struct {
		Prefixes []string `json:"prefixes"`
		Versions []struct {
			Key string `json:"key"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --json as the writer printed no JSON document (%v, exit %d): %s\nstderr: %s", err, r.code, r.stdout, r.stderr)
	}
	parts, err := schema.AccountParts(local.AccountB)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Prefixes, parts) {
		t.Errorf("verified prefixes %q, want Account B's parts %q", rep.Prefixes, parts)
	}
	if len(rep.Versions) == 0 {
		t.Errorf("no version verified")
	}
	for _, v := range rep.Versions {
		if !slices.ContainsFunc(parts, func(p string) bool { return strings.HasPrefix(v.Key, p) }) {
			t.Errorf("verified %s, outside Account B's parts", v.Key)
		}
	}
	r = cli(t, nil, "verify", "--prefix", "cloudtrail/")
	if r.code != 1 || !strings.Contains(r.lastLine(), "a writer session may list only its own account's parts, <kind-prefix>/account="+local.AccountB+"/") {
		t.Errorf("verify --prefix cloudtrail/ as the writer: exit %d, last line %q", r.code, r.lastLine())
	}
}
