package handler

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/trigger"
)

// S3 Batch Operations result codes.
const (
	BatchSucceeded        = "Succeeded"
	BatchTemporaryFailure = "TemporaryFailure"
	BatchPermanentFailure = "PermanentFailure"
)

// maxResultString bounds a task's result string (it goes into the job's
// completion report).
const maxResultString = 1000

// batchJobResponse answers a Batch Operations invocation with one result per
// task: Succeeded once its object is confirmed in the vault, TemporaryFailure
// when trying again may help (Batch Operations retries those), else
// PermanentFailure. The error names each failed task, for `logvault invoke`.
func batchJobResponse(job trigger.BatchJob, msgs []trigger.Message, results []messageResult) (events.S3BatchJobResponse, error) {
	resp := events.S3BatchJobResponse{
		InvocationSchemaVersion: job.SchemaVersion,
		TreatMissingKeysAs:      BatchPermanentFailure,
		InvocationID:            job.InvocationID,
		Results:                 make([]events.S3BatchJobResult, len(msgs)),
	}
	var errs []error
	for i, m := range msgs {
		r := events.S3BatchJobResult{TaskID: m.ID}
		switch err := results[i].err; {
		case err == nil && len(results[i].receipts) == 1:
			rec := results[i].receipts[0]
			r.ResultCode = BatchSucceeded
			r.ResultString = fmt.Sprintf("%s %s version %s sha256 %s", rec.Outcome, rec.Key, rec.VersionID, rec.SHA256)
		case err == nil:
			err = fmt.Errorf("task %s shipped %d objects, want 1", m.ID, len(results[i].receipts))
			fallthrough
		default:
			r.ResultCode = BatchPermanentFailure
			if s3err.Temporary(err) {
				r.ResultCode = BatchTemporaryFailure
			}
			r.ResultString = cut(err.Error(), maxResultString)
			errs = append(errs, fmt.Errorf("task %s: %s: %w", m.ID, r.ResultCode, err))
		}
		resp.Results[i] = r
	}
	return resp, errors.Join(errs...)
}

// cut shortens s to at most n bytes, on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
