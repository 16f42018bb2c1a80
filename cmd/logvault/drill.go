package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// drillCmd is not built yet.
func drillCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "drill",
		Hidden: true,
		RunE:   func(*cobra.Command, []string) error { return errors.New("drill: not built yet") },
	}
}
