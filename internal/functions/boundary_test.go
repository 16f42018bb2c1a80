package functions_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// lambdaTier is what the functions may link of logvault (README, "What
// runs in Lambda"): the operator CLI's packages, the local stack and the
// test tooling stay out of the bootstraps.
var lambdaTier = []string{
	"functions/applogs", "functions/billing", "functions/cloudtrail", "functions/reconcile",
	"internal/functions", "internal/config", "internal/handler", "internal/trigger", "internal/cwlogs",
	"internal/source", "internal/ship", "internal/vault", "internal/s3err", "internal/schema", "internal/reconcile",
}

// foreign are modules only the CLI, the local stack or the tests use.
var foreign = []string{
	"github.com/versity/versitygw", "github.com/gofiber/", "github.com/awslabs/goformation", "github.com/spf13/cobra",
	"github.com/schollz/progressbar", "gopkg.in/yaml.v3", "github.com/aws/aws-sdk-go-v2/service/iam",
}

// TestLambdaBoundary: the bootstraps link the Lambda tier only, as they
// are built (linux/arm64, lambda.norpc): never the local stack, the policy
// evaluator, the template loader, the audit or versitygw.
func TestLambdaBoundary(t *testing.T) {
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to list the functions' dependencies")
		}
	}
	cmd := exec.Command(gobin, "list", "-tags", "lambda.norpc", "-deps", "./functions/...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/logvault/logvault/"
	var ours int
	for _, pkg := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(pkg, module); ok {
			ours++
			if !slices.Contains(lambdaTier, rel) {
				t.Errorf("the functions link %s, which is not in the Lambda tier (README): move what they need into it, or keep it out of them", rel)
			}
			continue
		}
		for _, f := range foreign {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("the functions link %s (%s), which belongs to the CLI, the local stack or the tests", pkg, f)
			}
		}
	}
	if ours < len(lambdaTier)-1 {
		t.Fatalf("go list found %d logvault packages in the functions; is ./functions/... there?", ours)
	}
}
