package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/functions"
)

// runFunction builds the named function from the environment, exactly as its
// Lambda main does, and invokes it once on payload.
func runFunction(ctx context.Context, name string, payload []byte, logTo io.Writer) (any, error) {
	h, err := functions.FromEnv(ctx, name, os.Getenv, logTo)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 16)
	rand.Read(id)
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: hex.EncodeToString(id)})
	return h.Invoke(ctx, payload)
}

func invokeCmd() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "invoke FUNCTION EVENT.json",
		Short: "Run a function's handler in-process on an event, with the environment's configuration",
		Long: "Run a function's handler in-process on an event, with the environment's configuration.\n" +
			"Prints the handler's JSON response; exits 1 when the handler fails, an SQS message is reported as failed,\n" +
			"or an S3 Batch Operations task is answered TemporaryFailure or PermanentFailure (the response still lists every task).\n" +
			"Functions: " + strings.Join(functions.Names(), ", "),
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			payload, err := os.ReadFile(args[1])
			if err != nil {
				return fmt.Errorf("invoke: %w", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			resp, herr := runFunction(ctx, args[0], payload, os.Stderr)
			if resp != nil {
				out, err := json.Marshal(resp)
				if err != nil {
					return fmt.Errorf("invoke: encode response: %w", err)
				}
				fmt.Println(string(out))
			}
			if herr != nil {
				return fmt.Errorf("%s: %s", args[0], strings.ReplaceAll(herr.Error(), "\n", "; "))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Minute, "the function timeout to emulate")
	return cmd
}
