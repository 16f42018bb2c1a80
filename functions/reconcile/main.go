// Command reconcile is the Lambda that, once a day, compares the previous
// days of every source bucket with the vault and emits the missing and
// differing objects as metrics. It only wires:
// configuration, clients, lambda.Start.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/logvault/logvault/internal/functions"
)

func main() {
	h, err := functions.FromEnv(context.Background(), "reconcile", os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err) // one line naming the setting; Lambda reports the failed init
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
