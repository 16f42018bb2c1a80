// Package drill reruns the compromise drill (docs/design.md) against a
// live vault: with the credentials of whoever might be compromised (the
// writer role, Account B itself, or an Account A administrator who is not
// break-glass), it attempts every destructive action and records what the
// server answered. Probes are harmless if the vault turns out to be
// vulnerable: object-level probes only touch canary objects under
// logvault-drill/, bucket-level probes send no-op payloads (the current
// policy or lifecycle again), and what cannot be probed safely is listed as
// such (the static proof is `logvault audit`). A refusal by Object Lock
// rather than by the policy counts as allowed: the policy let it through.
// It ends with the drill's recovery: overwrite, restore by version id.
package drill

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/schema"
)

// API is the part of the S3 API the drill uses.
type API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	DeleteObjectTagging(ctx context.Context, in *s3.DeleteObjectTaggingInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectTaggingOutput, error)
	PutObjectAcl(ctx context.Context, in *s3.PutObjectAclInput, optFns ...func(*s3.Options)) (*s3.PutObjectAclOutput, error)
	PutObjectLegalHold(ctx context.Context, in *s3.PutObjectLegalHoldInput, optFns ...func(*s3.Options)) (*s3.PutObjectLegalHoldOutput, error)
	PutObjectRetention(ctx context.Context, in *s3.PutObjectRetentionInput, optFns ...func(*s3.Options)) (*s3.PutObjectRetentionOutput, error)
	PutObjectTagging(ctx context.Context, in *s3.PutObjectTaggingInput, optFns ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error)
	PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
	GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error)
	GetBucketLifecycleConfiguration(ctx context.Context, in *s3.GetBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	PutBucketLifecycleConfiguration(ctx context.Context, in *s3.PutBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error)
	DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketOutput, error)
}

// Verdict is how a probe's result reads against what was expected.
type Verdict string

// The verdicts.
const (
	Refused   Verdict = "ok: refused"
	Allowed   Verdict = "ALLOWED"
	NotProbed Verdict = "not probed"
)

// Row is one line of the drill's table.
type Row struct {
	Action   string  `json:"action"`
	Target   string  `json:"target"`
	Expected string  `json:"expected"`
	Result   string  `json:"result"`
	Verdict  Verdict `json:"verdict"`
}

// Report is the drill's outcome.
type Report struct {
	Identity string `json:"identity"`
	Bucket   string `json:"bucket"`
	Canary   string `json:"canary"`
	Rows     []Row  `json:"rows"`
	// Recovered tells whether the drill's recovery worked: the canary's
	// original bytes are current again after an overwrite.
	Recovered bool   `json:"recovered"`
	Recovery  string `json:"recovery"`
}

// Failed reports whether any destructive action was allowed or recovery failed.
func (r Report) Failed() bool {
	for _, row := range r.Rows {
		if row.Verdict == Allowed {
			return true
		}
	}
	return !r.Recovered
}

// Restorer makes a version current again (logvault restore).
type Restorer func(ctx context.Context, key, versionID string) error

// Drill runs the probes against one vault bucket.
type Drill struct {
	// S3 acts as the identity under test: every probe is sent with it.
	S3 API
	// Writer writes the canaries and does the recovery (the writer role);
	// nil means S3 does. Account B itself may not write to the vault.
	Writer        API
	Bucket        string
	ExpectedOwner string
	// Account is the writer session's source account: the canaries live in
	// its part of the vault (logvault-drill/account=<id>/), the only part
	// its session may write.
	Account  string
	Identity string // who the credentials are, for the report
	// Intruder is set when the identity under test is not the writer: its
	// own PutObject (a canary of its own) must be refused too.
	Intruder bool
	Restore  Restorer
	Now      func() time.Time
}

// Prefix is where the drill's canary objects live.
const Prefix = "logvault-drill/"

// Run performs the drill.
func (d *Drill) Run(ctx context.Context) (Report, error) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	run := now().UTC().Format("20060102T150405.000000000Z")
	part, err := schema.AccountPrefix(schema.KindDrill, d.Account)
	if err != nil {
		return Report{Identity: d.Identity, Bucket: d.Bucket}, fmt.Errorf("drill: %w", err)
	}
	base := part + run
	victim := base + "/victim.txt"
	original := base + "/original.txt"
	rep := Report{Identity: d.Identity, Bucket: d.Bucket, Canary: victim}

	victimV, err := d.put(ctx, victim, []byte("logvault drill canary: "+run+"\n"))
	if err != nil {
		return rep, fmt.Errorf("drill: cannot write the canary %s as the writer: %w", victim, err)
	}
	owner := d.owner()
	obj := func(key string, v *string) string {
		if v != nil {
			return "canary version " + *v
		}
		return "canary"
	}
	probes := []struct {
		action, target string
		try            func() error
	}{
		{"s3:DeleteObject", obj(victim, nil), func() error {
			_, err := d.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.Bucket, Key: &victim, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:DeleteObjectVersion", obj(victim, victimV), func() error {
			_, err := d.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.Bucket, Key: &victim, VersionId: victimV, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:DeleteObjectVersion + s3:BypassGovernanceRetention", obj(victim, victimV), func() error {
			_, err := d.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.Bucket, Key: &victim, VersionId: victimV, BypassGovernanceRetention: aws.Bool(true), ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:DeleteObjects (current and version)", obj(victim, victimV), func() error {
			out, err := d.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &d.Bucket, ExpectedBucketOwner: owner, Delete: &types.Delete{
				Objects: []types.ObjectIdentifier{{Key: &victim}, {Key: &victim, VersionId: victimV}}}})
			if err != nil {
				return err
			}
			return batchResult(out)
		}},
		{"s3:DeleteObjectTagging", obj(victim, nil), func() error {
			_, err := d.S3.DeleteObjectTagging(ctx, &s3.DeleteObjectTaggingInput{Bucket: &d.Bucket, Key: &victim, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:PutObjectAcl (private: no-op)", obj(victim, nil), func() error {
			_, err := d.S3.PutObjectAcl(ctx, &s3.PutObjectAclInput{Bucket: &d.Bucket, Key: &victim, ACL: types.ObjectCannedACLPrivate, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:PutObjectLegalHold (OFF: no-op)", obj(victim, nil), func() error {
			_, err := d.S3.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: &d.Bucket, Key: &victim, LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:PutObjectRetention (GOVERNANCE, 1 day, canary only)", obj(victim, nil), func() error {
			_, err := d.S3.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: &d.Bucket, Key: &victim, ExpectedBucketOwner: owner, Retention: &types.ObjectLockRetention{
				Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(now().Add(24 * time.Hour))}})
			return err
		}},
		{"s3:PutObjectTagging (no tags, canary)", obj(victim, nil), func() error {
			_, err := d.S3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &d.Bucket, Key: &victim, Tagging: &types.Tagging{TagSet: []types.Tag{}}, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:PutObjectVersionTagging (no tags, canary)", obj(victim, victimV), func() error {
			_, err := d.S3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &d.Bucket, Key: &victim, VersionId: victimV, Tagging: &types.Tagging{TagSet: []types.Tag{}}, ExpectedBucketOwner: owner})
			return err
		}},
		{"s3:PutBucketVersioning (Enabled: no-op)", "bucket", func() error {
			_, err := d.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: &d.Bucket, ExpectedBucketOwner: owner,
				VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
			return err
		}},
		{"s3:DeleteBucket (the vault is not empty)", "bucket", func() error {
			_, err := d.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &d.Bucket, ExpectedBucketOwner: owner})
			return err
		}},
	}
	if d.Intruder {
		own := base + "/intruder.txt"
		probes = append(probes, struct {
			action, target string
			try            func() error
		}{"s3:PutObject (a canary of its own)", own, func() error {
			_, err := d.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &d.Bucket, Key: &own, Body: bytes.NewReader([]byte("not the writer\n")), ExpectedBucketOwner: owner})
			return err
		}})
	}
	for _, p := range probes {
		result, verdict := classify(p.try())
		rep.Rows = append(rep.Rows, Row{Action: p.action, Target: p.target, Expected: "AccessDenied", Result: result, Verdict: verdict})
	}
	rep.Rows = append(rep.Rows, d.sameAgain(ctx)...)
	for _, a := range []string{"s3:DeleteBucketPolicy",
		"s3:PutBucketObjectLockConfiguration", "s3:PutBucketAcl", "s3:PutBucketOwnershipControls",
		"s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration", "s3:PutReplicationConfiguration",
		"s3:PutInventoryConfiguration", "s3:UpdateObjectEncryption"} {
		target := "bucket"
		if a == "s3:UpdateObjectEncryption" {
			target = "canary"
		}
		rep.Rows = append(rep.Rows, Row{Action: a, Target: target, Expected: "AccessDenied",
			Result: "no harmless payload: see `logvault audit`", Verdict: NotProbed})
	}
	rep.Recovered, rep.Recovery = d.recover(ctx, original, run)
	return rep, nil
}

// sameAgain probes PutBucketPolicy and PutLifecycleConfiguration with the
// bucket's current policy and rules: were they allowed, nothing would
// change. Whoever can read them (the identity under test, else the writer)
// supplies the payload; without one the action is not probed.
func (d *Drill) sameAgain(ctx context.Context) []Row {
	owner := d.owner()
	var rows []Row
	var doc *string
	for _, c := range []API{d.S3, d.writer()} {
		if out, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: &d.Bucket, ExpectedBucketOwner: owner}); err == nil {
			doc = out.Policy
			break
		}
	}
	row := Row{Action: "s3:PutBucketPolicy (the current policy again: no-op)", Target: "bucket", Expected: "AccessDenied"}
	if doc == nil {
		row.Result, row.Verdict = "the current policy cannot be read to send it back: see `logvault audit`", NotProbed
	} else {
		_, err := d.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: &d.Bucket, Policy: doc, ExpectedBucketOwner: owner})
		row.Result, row.Verdict = classify(err)
	}
	rows = append(rows, row)

	var rules []types.LifecycleRule
	for _, c := range []API{d.S3, d.writer()} {
		if out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &d.Bucket, ExpectedBucketOwner: owner}); err == nil {
			rules = out.Rules
			break
		}
	}
	row = Row{Action: "s3:PutLifecycleConfiguration (the current rules again: no-op)", Target: "bucket", Expected: "AccessDenied"}
	if len(rules) == 0 {
		row.Result, row.Verdict = "the current rules cannot be read to send them back: see `logvault audit`", NotProbed
	} else {
		_, err := d.S3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: &d.Bucket,
			LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: rules}, ExpectedBucketOwner: owner})
		row.Result, row.Verdict = classify(err)
	}
	return append(rows, row)
}

// recover is the drill's data recovery: write, overwrite with corrupt data,
// restore the original by version id, and check the bytes.
func (d *Drill) recover(ctx context.Context, key, run string) (bool, string) {
	good := []byte("Hello World (logvault drill " + run + ")\n")
	v0, err := d.put(ctx, key, good)
	if err != nil {
		return false, fmt.Sprintf("write %s: %v", key, err)
	}
	if _, err := d.put(ctx, key, []byte("Hello Dolly (corrupted by the drill)\n")); err != nil {
		return false, fmt.Sprintf("overwrite %s: %v", key, err)
	}
	if d.Restore == nil {
		return false, "no restorer configured"
	}
	if err := d.Restore(ctx, key, aws.ToString(v0)); err != nil {
		return false, fmt.Sprintf("restore %s version %s: %v", key, aws.ToString(v0), err)
	}
	out, err := d.writer().GetObject(ctx, &s3.GetObjectInput{Bucket: &d.Bucket, Key: &key, ExpectedBucketOwner: d.owner()})
	if err != nil {
		return false, fmt.Sprintf("read back %s: %v", key, err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		return false, fmt.Sprintf("read back %s: %v", key, err)
	}
	if !bytes.Equal(got, good) {
		return false, fmt.Sprintf("%s: the current bytes are not the original's after the restore", key)
	}
	return true, fmt.Sprintf("overwrote %s, restored version %s by id: original bytes are current again", key, aws.ToString(v0))
}

// put writes a canary with a verified SHA-256 and the logvault metadata.
func (d *Drill) put(ctx context.Context, key string, body []byte) (*string, error) {
	sum := sha256.Sum256(body)
	out, err := d.writer().PutObject(ctx, &s3.PutObjectInput{
		Bucket: &d.Bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("text/plain"),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		ExpectedBucketOwner: d.owner(),
		Metadata: schema.Stamp(map[string]string{
			schema.MetaSHA256: fmt.Sprintf("%x", sum), schema.MetaKind: string(schema.KindDrill), schema.MetaSource: "logvault-drill",
		}, "logvault drill", time.Now()),
	})
	if err != nil {
		return nil, err
	}
	if out.VersionId == nil || *out.VersionId == "" || *out.VersionId == "null" {
		return nil, errors.New("the vault answered without a VersionId: it is not versioned")
	}
	return out.VersionId, nil
}

func (d *Drill) writer() API {
	if d.Writer != nil {
		return d.Writer
	}
	return d.S3
}

func (d *Drill) owner() *string {
	if d.ExpectedOwner == "" {
		return nil
	}
	return &d.ExpectedOwner
}

// classify reads a probe's answer. Authorization comes before every other
// check in S3, so any answer but AccessDenied means the policy let the
// request through (e.g. BucketNotEmpty: the vault would be gone if empty).
// An AccessDenied that S3 gives for Object Lock ("Access Denied because
// object protected by object lock") also means the policy let it through:
// only the retention stopped it, and a delete marker or an expired
// retention would not.
func classify(err error) (string, Verdict) {
	if err == nil {
		return "succeeded", Allowed
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		if apiErr.ErrorCode() == "AccessDenied" {
			if byObjectLock(apiErr.ErrorMessage()) {
				return "AccessDenied by Object Lock: the policy let it through", Allowed
			}
			return "AccessDenied", Refused
		}
		return apiErr.ErrorCode() + " (authorized, then failed)", Allowed
	}
	return "error: " + err.Error(), Allowed
}

// byObjectLock reports S3's message for a refusal by Object Lock.
func byObjectLock(msg string) bool {
	return strings.Contains(strings.ToLower(msg), "object lock")
}

// batchResult turns DeleteObjects' per-key answers into one error.
func batchResult(out *s3.DeleteObjectsOutput) error {
	if len(out.Deleted) > 0 {
		return nil
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) != "AccessDenied" || byObjectLock(aws.ToString(e.Message)) {
			return &smithy.GenericAPIError{Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
		}
	}
	if len(out.Errors) == 0 {
		return nil
	}
	return &smithy.GenericAPIError{Code: "AccessDenied", Message: "every key refused"}
}
