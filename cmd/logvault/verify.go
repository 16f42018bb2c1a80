package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// verifyCmd is not built yet.
func verifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "verify",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("verify: not built yet") },
	}
}
