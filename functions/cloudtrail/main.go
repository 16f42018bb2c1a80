// Command cloudtrail is the Lambda that ships CloudTrail log and digest files
// into the vault. It only wires: configuration, clients, lambda.Start.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/functions"
)

func main() {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	base, err := config.LoadAWS(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	h, err := functions.New("cloudtrail", base, cfg, functions.Logger(cfg, os.Stderr))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
