// Package infra carries the CloudFormation templates of the project, so the
// local stack applies the very policies that deploy to AWS.
package infra

import _ "embed"

// VaultTemplate is infra/vault.yaml, the Account A stack.
//
//go:embed vault.yaml
var VaultTemplate []byte

// GuardrailsTemplate is infra/guardrails.yaml, the Organization's stack.
//
//go:embed guardrails.yaml
var GuardrailsTemplate []byte
