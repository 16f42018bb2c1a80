package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// restoreCmd is not built yet.
func restoreCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "restore",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("restore: not built yet") },
	}
}
