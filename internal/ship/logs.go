package ship

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/logvault/logvault/internal/cwlogs"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

// Logs ships CloudWatch Logs DATA_MESSAGEs as gzip NDJSON vault objects.
type Logs struct {
	// Account is the source account: only its own log groups' payloads
	// are shipped, under its part of the vault.
	Account string
	Vault   *vault.Writer
}

// Ship renders d and writes it under its deterministic key; a retried
// payload renders the same bytes and so is a duplicate.
func (l *Logs) Ship(ctx context.Context, d *cwlogs.Batch) (vault.Receipt, error) {
	if d.Owner != l.Account {
		return vault.Receipt{}, fmt.Errorf("ship: DATA_MESSAGE of account %.64q, not of %s, the account shipping it: a subscription delivers its own account's log groups", d.Owner, l.Account)
	}
	id, timestamp := d.First()
	key, err := schema.AppLogsKey(d.Owner, d.LogGroup, d.LogStream, id, timestamp)
	if err != nil {
		return vault.Receipt{}, err
	}
	body, err := d.NDJSON()
	if err != nil {
		return vault.Receipt{Key: key}, err
	}
	return l.Vault.Put(ctx, vault.Object{
		Key:             key,
		Kind:            schema.KindAppLogs,
		Source:          schema.AppLogsSource(d.Owner, d.LogGroup, d.LogStream),
		ContentType:     "application/x-ndjson",
		ContentEncoding: "gzip",
		SHA256:          sha256.Sum256(body),
		Size:            int64(len(body)),
	}, bytes.NewReader(body))
}

// LogsShipper is what the applogs handler needs of Logs.
type LogsShipper interface {
	Ship(ctx context.Context, d *cwlogs.Batch) (vault.Receipt, error)
}

var _ LogsShipper = (*Logs)(nil)
