// Package functions assembles each logvault Lambda from its configuration:
// the same assembly serves the deployed function and `logvault invoke`.
package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/vault"
)

// Version is the build version, set with -ldflags "-X .../functions.Version=…".
var Version = "dev"

// SoftMemoryLimit is the Go heap target of a function process unless
// GOMEMLIMIT says otherwise. The working set is bounded by design (a few
// multipart buffers); the limit makes the garbage collector keep the heap
// near it, so peak memory does not drift with the size of the object.
const SoftMemoryLimit = 48 << 20

// Handler is a Lambda handler taking the raw event.
type Handler interface {
	// Handle is what Lambda calls.
	Handle(ctx context.Context, payload json.RawMessage) (any, error)
	// Invoke is Handle that also reports why SQS messages failed.
	Invoke(ctx context.Context, payload json.RawMessage) (any, error)
}

// builders maps each function name to its assembly.
var builders = map[string]func(base aws.Config, cfg config.Config, log *slog.Logger) Handler{
	schema.FunctionCloudTrail: func(base aws.Config, cfg config.Config, log *slog.Logger) Handler {
		return copying(schema.FunctionCloudTrail, base, cfg, log)
	},
	schema.FunctionBilling: func(base aws.Config, cfg config.Config, log *slog.Logger) Handler {
		return copying(schema.FunctionBilling, base, cfg, log)
	},
	"applogs": func(base aws.Config, cfg config.Config, log *slog.Logger) Handler {
		return &handler.AppLogsHandler{Function: "applogs", Log: log, Ship: &ship.Logs{Account: cfg.SourceAccount, Vault: vaultWriter("applogs", base, cfg, log)}}
	},
	reconcile.Function: func(base aws.Config, cfg config.Config, log *slog.Logger) Handler {
		return &reconcile.Scheduled{Buckets: cfg.ReconcileBuckets, Days: cfg.ReconcileDays, Log: log, Base: reconcile.Options{
			Account:       cfg.SourceAccount,
			SourceAPI:     s3.NewFromConfig(base, cfg.S3Options),
			VaultAPI:      vault.NewS3Client(base, cfg, "logvault-"+reconcile.Function),
			VaultBucket:   cfg.VaultBucket,
			ExpectedOwner: cfg.ExpectedOwner,
		}}
	},
}

// Names lists the functions that can be built.
func Names() []string {
	names := make([]string, 0, len(builders))
	for n := range builders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the named function's handler.
func New(name string, base aws.Config, cfg config.Config, log *slog.Logger) (Handler, error) {
	b, ok := builders[name]
	if !ok {
		return nil, fmt.Errorf("functions: unknown function %q (known: %v)", name, Names())
	}
	return b(base, cfg, log), nil
}

// FromEnv reads the configuration from getenv, loads the AWS SDK
// configuration and builds the named function, logging to logTo: what every
// functions/NAME/main.go and `logvault invoke` do.
func FromEnv(ctx context.Context, name string, getenv func(string) string, logTo io.Writer) (Handler, error) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(SoftMemoryLimit)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	base, err := config.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	if err := cfg.ResolveSourceAccount(ctx, base); err != nil {
		return nil, err
	}
	return New(name, base, cfg, Logger(cfg, logTo))
}

// Copying returns the handler of a function that copies objects from
// source buckets (cloudtrail, billing): what its Lambda runs, and what
// `logvault backfill` ships through (S3Handler.ShipOne).
func Copying(name string, base aws.Config, cfg config.Config, log *slog.Logger) (*handler.S3Handler, error) {
	if schema.FallbackKind(name) == "" {
		return nil, fmt.Errorf("functions: %q copies no objects from source buckets (those that do: %s, %s)", name, schema.FunctionCloudTrail, schema.FunctionBilling)
	}
	return copying(name, base, cfg, log), nil
}

func copying(name string, base aws.Config, cfg config.Config, log *slog.Logger) *handler.S3Handler {
	return &handler.S3Handler{Function: name, Log: log, Ship: &ship.Copier{
		Account:  cfg.SourceAccount,
		Source:   &source.Reader{S3: s3.NewFromConfig(base, cfg.S3Options)},
		Vault:    vaultWriter(name, base, cfg, log),
		Kind:     schema.Classifier(name),
		Strategy: ship.Strategy(cfg.CopyStrategy),
	}}
}

func vaultWriter(name string, base aws.Config, cfg config.Config, log *slog.Logger) *vault.Writer {
	c := vault.NewS3Client(base, cfg, "logvault-"+name)
	return &vault.Writer{
		S3:            c,
		Uploader:      vault.NewUploader(c),
		Bucket:        cfg.VaultBucket,
		ExpectedOwner: cfg.ExpectedOwner,
		Shipper:       "logvault-" + name + "/" + Version,
		Copies:        &vault.CopyState{},
		Log:           log.With("function", name),
	}
}

// Logger returns the JSON logger every function writes its receipts with.
func Logger(cfg config.Config, w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.LogLevel}))
}
