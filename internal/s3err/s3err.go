// Package s3err is the one reading of S3's error answers: the code, the
// HTTP status, and what they mean to logvault (a missing key or version, a
// refusal, expired credentials, a failure worth retrying). The shipping
// path, verify, restore, reconcile and the digest check ask here, so they
// cannot disagree (the drill and the audit judge refusals by their own
// verdicts, on top of the code).
package s3err

import (
	"context"
	"errors"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Code is S3's error code ("NoSuchKey", "AccessDenied", …), or "" when err
// carries none.
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Status is the HTTP status of S3's answer, or 0 when err is not an answer.
// A "NotFound" code without a response (a HEAD's 404 as some paths report
// it) counts as 404.
func Status(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	if Code(err) == "NotFound" {
		return 404
	}
	return 0
}

// Is reports whether S3 answered err with one of statuses.
func Is(err error, statuses ...int) bool {
	s := Status(err)
	return s != 0 && slices.Contains(statuses, s)
}

// NotFound reports that the key, or the version asked for, does not exist
// (NoSuchKey, NoSuchVersion, NotFound, or a bare 404), as opposed to a
// missing bucket (NoSuchBucket), which is a configuration error.
func NotFound(err error) bool {
	switch Code(err) {
	case "NoSuchKey", "NoSuchVersion", "NotFound":
		return true
	case "NoSuchBucket":
		return false
	}
	return Status(err) == 404
}

// NoSuchBucket reports that the bucket does not exist.
func NoSuchBucket(err error) bool { return Code(err) == "NoSuchBucket" }

// Refused reports a refusal: AccessDenied, or any 403.
func Refused(err error) bool { return Code(err) == "AccessDenied" || Status(err) == 403 }

// expiredCodes are the error codes with which S3 refuses a session that has
// expired or been revoked before the expiry the credential cache knows of.
var expiredCodes = []string{"ExpiredToken", "ExpiredTokenException", "InvalidToken", "TokenRefreshRequired"}

// ExpiredCredentials reports that S3 refused the request's credentials as
// expired or invalid. S3 answers a HEAD signed with an expired session with
// a bare 400 (no body, so no code): for op "HeadObject" that counts too.
func ExpiredCredentials(err error, op string) bool {
	code := Code(err)
	if slices.Contains(expiredCodes, code) {
		return true
	}
	return op == "HeadObject" && code == "BadRequest" && Status(err) == 400
}

// Temporary reports whether a failed call may succeed when tried again as
// it is: throttling, a 5xx, expired credentials, a dropped connection or a
// timeout. A missing object, a refusal, a key too long or a vault that is
// not versioned are permanent: trying again changes nothing.
func Temporary(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || slices.Contains(expiredCodes, Code(err)) {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}
