package handler

import (
	"time"

	"github.com/logvault/logvault/internal/vault"
)

// Namespace is the CloudWatch namespace of logvault's metrics.
const Namespace = "logvault"

// emf returns the attributes that make an outcome's log line a CloudWatch
// Embedded Metric Format document: CloudWatch turns the line into metrics
// (shipped, bytes, duplicates, overwrites, failures, duration) per function,
// with no API call from the function. The "function" attribute of the same
// line is the dimension.
func emf(outcome string, bytes int64, d time.Duration) []any {
	one := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	failed := outcome == "failed"
	return []any{
		"_aws", map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  Namespace,
				"Dimensions": [][]string{{"function"}},
				"Metrics": []map[string]string{
					{"Name": "Shipped", "Unit": "Count"},
					{"Name": "Bytes", "Unit": "Bytes"},
					{"Name": "Duplicates", "Unit": "Count"},
					{"Name": "Overwrites", "Unit": "Count"},
					{"Name": "Failures", "Unit": "Count"},
					{"Name": "Duration", "Unit": "Milliseconds"},
				},
			}},
		},
		"Shipped", one(!failed),
		"Bytes", bytes,
		"Duplicates", one(outcome == string(vault.Duplicate)),
		"Overwrites", one(outcome == string(vault.Overwrote)),
		"Failures", one(failed),
		"Duration", d.Milliseconds(),
	}
}
