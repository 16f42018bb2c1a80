package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/local"
)

func defaultLocalDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "logvault", "local")
	}
	return filepath.Join(os.TempDir(), "logvault-local")
}

func localCmd() *cobra.Command {
	var dir, template string
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run the whole system on this machine (versitygw over TLS, a loopback STS, three accounts, three buckets)",
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", defaultLocalDir(), "folder holding the stack's state")
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the local stack in the background and print its `export NAME=value` lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var extra []string
			if template != "" {
				abs, err := filepath.Abs(template)
				if err != nil {
					return err
				}
				extra = append(extra, "--template", abs)
			}
			env, err := local.Up(dir, extra, 90*time.Second)
			if err != nil {
				return err
			}
			fmt.Print(env)
			return nil
		},
	}
	up.Flags().StringVar(&template, "template", "", "Account A template to take the policies from (default: the built-in infra/vault.yaml)")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the local stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return local.Down(dir)
		},
	}
	serve := &cobra.Command{
		Use:    "serve",
		Short:  "Run the local stack in the foreground (what `up` starts)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tmpl := infra.VaultTemplate
			if template != "" {
				data, err := os.ReadFile(template)
				if err != nil {
					return err
				}
				tmpl = data
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return local.Serve(ctx, local.Options{Dir: dir, Template: tmpl})
		},
	}
	serve.Flags().StringVar(&template, "template", "", "Account A template to take the policies from")
	cmd.AddCommand(up, down, serve)
	return cmd
}
