package trigger_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logvault/logvault/internal/trigger"
)

// The billing samples announce objects of a Data Exports (CUR 2.0) export and of a legacy CUR
// report in the local stack's billing source bucket. S3 notifications carry the keys URL-encoded
// ("=" arrives as "%3D"); EventBridge carries them as they are. Both must decode to the real key.
const billingBucket = "logvault-local-billing"

var (
	billingCUR2Data = trigger.ObjectRef{
		Bucket:    billingBucket,
		Key:       "cur2/logvault-export/data/BILLING_PERIOD=2026-11/logvault-export-00001.snappy.parquet",
		VersionID: "p5Hq2ZcT9vLkW0rXy3NbF8aUj1eDm6Gs",
		ETag:      "a3f0c8e1b7d24f6a9c5e0b3d8f1a2c47-6", // multipart upload: 6 parts
		Size:      48213557,
		EventName: "ObjectCreated:CompleteMultipartUpload",
		EventTime: time.Date(2026, 11, 26, 6, 14, 9, 338_000_000, time.UTC),
	}
	billingCUR2Manifest = trigger.ObjectRef{
		Bucket:    billingBucket,
		Key:       "cur2/logvault-export/metadata/BILLING_PERIOD=2026-11/logvault-export-Manifest.json",
		VersionID: "Yb3Tn7Qw1Rk5Ls9Xv2Mc6Hp0Gd4Jf8Ue",
		ETag:      "7c9d1e3f5a2b4c6d8e0f1a3b5c7d9e2f",
		Size:      2186,
		EventName: "ObjectCreated:Put",
		EventTime: time.Date(2026, 11, 26, 6, 14, 11, 902_000_000, time.UTC),
	}
	billingLegacyData = trigger.ObjectRef{
		Bucket:    billingBucket,
		Key:       "legacy/logvault-cur/20261101-20261201/3f2a1b4c-5d6e-7f80-9a0b-1c2d3e4f5a6b/logvault-cur-1.csv.gz",
		VersionID: "Kd8Wm2Xp6Tq0Zr4Vn9Bs3Hy7Lc1Fj5Ga",
		ETag:      "e41b7a9c3d5f2e8b6a0c4d1f9e3b7a25-777",
		Size:      6512384017, // beyond 4 GiB: sizes must not pass through 32-bit integers
		EventName: "ObjectCreated:CompleteMultipartUpload",
		EventTime: time.Date(2026, 11, 26, 7, 42, 55, 117_000_000, time.UTC),
	}
	billingLegacyManifest = trigger.ObjectRef{
		Bucket:    billingBucket,
		Key:       "legacy/logvault-cur/20261101-20261201/logvault-cur-Manifest.json",
		VersionID: "Rt5Jx9Nc3Vb7Qm1Kz6Dp0Wh4Ys8Lg2Fe",
		ETag:      "0b6e2c8a4f1d3e5b7c9a2d4f6e8b0c13",
		Size:      3927,
		EventName: "ObjectCreated:Put",
		EventTime: time.Date(2026, 11, 26, 7, 42, 58, 604_000_000, time.UTC),
	}
)

// asEventBridge is ref as an EventBridge "Object Created" event announces it: whole-second time.
func asEventBridge(ref trigger.ObjectRef) trigger.ObjectRef {
	ref.EventName = "Object Created"
	ref.EventTime = ref.EventTime.Truncate(time.Second)
	return ref
}

// TestBillingSampleEvents decodes every sample in events/billing, the payloads a user passes to
// logvault invoke billing or sam local invoke, and checks exactly which objects they announce.
func TestBillingSampleEvents(t *testing.T) {
	dir := filepath.Join("..", "..", "events", "billing")
	one := func(id string, refs ...trigger.ObjectRef) trigger.Message {
		return trigger.Message{ID: id, Objects: refs}
	}
	want := map[string]trigger.Batch{
		"s3-put.json":      {Messages: []trigger.Message{one("", billingCUR2Data)}},
		"sns.json":         {Messages: []trigger.Message{one("", billingCUR2Manifest)}},
		"eventbridge.json": {Messages: []trigger.Message{one("", asEventBridge(billingCUR2Data))}},
		"sqs-s3.json": {FromSQS: true, Messages: []trigger.Message{
			one("4c7e1a9d-2b5f-4e38-a6d0-9f3b8c1e5a72", billingLegacyData),
			one("b2d8f4a6-0e3c-4b71-95f8-6a1d3c7e9b04", billingLegacyManifest),
		}},
		"sqs-sns.json":         {FromSQS: true, Messages: []trigger.Message{one("7a1f5c3e-9d2b-4e86-b0a4-2c8e6f1d3b95", billingCUR2Data)}},
		"sqs-eventbridge.json": {FromSQS: true, Messages: []trigger.Message{one("d3e9b7c1-5f4a-4d20-8b6e-0a7c2f9d1e38", asEventBridge(billingCUR2Manifest))}},
		"batch-operations-2.0.json": {BatchJob: &trigger.BatchJob{SchemaVersion: "2.0", InvocationID: batchInvocation, JobID: batchJob},
			Messages: []trigger.Message{one("dGFza2lk0000", batchRef("logvault-billing-222222222222", "cur/daily/data/BILLING_PERIOD=2026-11/daily-00001.snappy.parquet", ""))}},
	}
	checkSamples(t, dir, want, func(t *testing.T, got trigger.Batch) {
		for _, m := range got.Messages {
			for _, ref := range m.Objects {
				if strings.Contains(ref.Key, "%") || strings.Contains(ref.Key, "+") {
					t.Errorf("key %q still looks URL-encoded", ref.Key)
				}
			}
		}
	})
}

// TestBillingSamplesEncodeKeysAsS3Does pins the samples' raw shape: S3 notifications (also inside
// SNS and SQS, JSON-escaped once or twice) carry "=" as "%3D", EventBridge events carry it as is.
// A sample that spelled the key plainly everywhere would not exercise the decoding at all.
func TestBillingSamplesEncodeKeysAsS3Does(t *testing.T) {
	for name, wantEncoded := range map[string]bool{
		"s3-put.json": true, "sns.json": true, "sqs-sns.json": true,
		"eventbridge.json": false, "sqs-eventbridge.json": false,
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "events", "billing", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if got := strings.Contains(s, "BILLING_PERIOD%3D2026-11"); got != wantEncoded {
			t.Errorf("%s: contains BILLING_PERIOD%%3D2026-11 = %v, want %v", name, got, wantEncoded)
		}
		if got := strings.Contains(s, "BILLING_PERIOD=2026-11"); got == wantEncoded {
			t.Errorf("%s: contains BILLING_PERIOD=2026-11 = %v, want %v", name, got, !wantEncoded)
		}
	}
}
