//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/faults"
)

// TestNoSecretsOrContentsInLogs ships every kind at LOG_LEVEL=debug, also
// through failures, with the endpoints behind pass-through proxies that
// note every credential on the wire (the secret keys and session tokens
// AssumeRole mints, the tokens requests carry), and scans every line the
// functions print for those, the long-term secret keys, and the bytes of
// the objects shipped.
func TestNoSecretsOrContentsInLogs(t *testing.T) {
	cert, pool, err := faults.LoadStackTLS(stack.env["LOGVAULT_LOCAL_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	s3p, err := faults.Start(faults.Options{Upstream: stack.env["AWS_ENDPOINT_URL_S3"], Service: faults.S3, ServerCert: cert, UpstreamCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer s3p.Close()
	stsp, err := faults.Start(faults.Options{Upstream: stack.env["AWS_ENDPOINT_URL_STS"], Service: faults.STS, ServerCert: cert, UpstreamCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer stsp.Close()
	env := map[string]string{"LOG_LEVEL": "debug", "AWS_ENDPOINT_URL_S3": s3p.URL, "AWS_ENDPOINT_URL_STS": stsp.URL}

	mark := make([]byte, 12)
	rand.Read(mark)
	marker := "LOGVAULT-BODY-" + hex.EncodeToString(mark)
	run := marker[len(marker)-8:]
	ct, bill := stack.env["SOURCE_CLOUDTRAIL_BUCKET"], stack.env["SOURCE_BILLING_BUCKET"]
	put := func(bucket, key string, body []byte) eventgen.Object {
		out, err := accountB(t).PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))})
		if err != nil {
			t.Fatal(err)
		}
		return eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: int64(len(body))}
	}
	trail := put(ct, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/hygiene-"+run+".json.gz", []byte(`{"Records":[{"secret":"`+marker+`"}]}`))
	report := put(bill, "cur2/hygiene/"+run+"/report.csv.gz", bytes.Repeat([]byte(marker+"\n"), (9<<20)/(len(marker)+1)))
	gone := put(ct, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/hygiene-gone-"+run+".json.gz", []byte(marker))
	if _, err := accountB(t).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(gone.Bucket), Key: aws.String(gone.Key), VersionId: aws.String(gone.VersionID)}); err != nil {
		t.Fatal(err)
	}
	logs := logsData("hygiene-"+run, marker, "second "+marker)

	runs := []struct {
		fn      string
		payload []byte
		env     map[string]string
		code    int
	}{
		{"cloudtrail", event(t, "sqs-eventbridge", trail), nil, 0},
		{"cloudtrail", event(t, "s3-put", trail), nil, 0}, // a duplicate
		{"billing", event(t, "sqs-eventbridge", report), nil, 0},
		{"applogs", eventgen.CloudWatchLogs(logs), nil, 0},
		{"cloudtrail", event(t, "sns", gone), nil, 1},
		{"cloudtrail", event(t, "s3-put", trail), map[string]string{"VAULT_BUCKET": stack.env["LOCAL_UNVERSIONED_BUCKET"]}, 1},
		{"applogs", eventgen.CloudWatchLogs(func() events.CloudwatchLogsData { d := logs; d.LogStream += "-foreign"; return d }()), map[string]string{"VAULT_BUCKET": stack.env["LOCAL_FOREIGN_BUCKET"]}, 1},
		{"cloudtrail", event(t, "s3-put", trail), map[string]string{"VAULT_EXTERNAL_ID": "wrong-external-id"}, 1},
	}
	var all strings.Builder
	for i, r := range runs {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range r.env {
			e[k] = v
		}
		res := invoke(t, r.fn, r.payload, e)
		if res.code != r.code {
			t.Fatalf("run %d (%s): exit %d, want %d:\n%s", i, r.fn, res.code, r.code, res.stderr)
		}
		all.WriteString(res.stdout)
		all.WriteString(res.stderr)
	}
	out := all.String()
	if !strings.Contains(out, `"msg":"shipped"`) || !strings.Contains(out, `"outcome":"failed"`) {
		t.Fatalf("the functions logged no receipts or no failures; nothing was scanned:\n%s", out)
	}
	secrets := map[string]string{
		"Account B's secret key":  stack.env["AWS_SECRET_ACCESS_KEY"],
		"Account A's secret key":  stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"],
		"the external id":         stack.env["VAULT_EXTERNAL_ID"],
		"an object's bytes":       marker,
		"an object's bytes (hex)": hex.EncodeToString([]byte(marker)),
	}
	minted := append(stsp.Secrets(), s3p.Secrets()...)
	if len(minted) < 2 {
		t.Fatalf("the proxies saw %d credentials; want the writer's secret key and session token", len(minted))
	}
	for i, s := range minted {
		secrets[fmt.Sprintf("session credential %d", i)] = s
	}
	for what, s := range secrets {
		for n, line := range strings.Split(out, "\n") {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("output line %d holds %s: %.300s", n+1, what, line)
			}
		}
	}
}

// TestBootstrapSize builds each function as `make build` does (linux/arm64,
// static, stripped) and holds it to 20 MB: a bootstrap that grows past it
// links something that has no business in a Lambda function (see also
// internal/functions' TestLambdaBoundary).
func TestBootstrapSize(t *testing.T) {
	const limit = 20_000_000
	for _, fn := range []string{"cloudtrail", "billing", "applogs", "reconcile"} {
		cmd := exec.Command("make", "-s", "-C", "../..", "build/"+fn+"/bootstrap")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make build/%s/bootstrap: %v\n%s", fn, err, b)
		}
		st, err := os.Stat(filepath.Join("../../build", fn, "bootstrap"))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s bootstrap (linux/arm64): %.1f MB", fn, float64(st.Size())/1e6)
		if st.Size() > limit {
			t.Errorf("the %s bootstrap is %.1f MB, over the 20 MB limit", fn, float64(st.Size())/1e6)
		}
	}
}
