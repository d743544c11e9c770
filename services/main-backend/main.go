// Command main-backend serves provider webhooks (/hooks/...), the checkout runtime API and the
// background workers (IPN delivery, expiry, provider reconciliation).
package main

import (
	"fmt"
	"net"
	"os"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
)

const service = "main-backend"

func main() {
	os.Exit(app.Exit(service, run(os.Args[1:]), os.Stderr))
}

func run(args []string) error {
	if len(args) > 0 && args[0] != "serve" {
		return fmt.Errorf("unknown command %q (use serve; migrations run with admin-backend migrate)", args[0])
	}
	cfg, err := config.LoadMainBackend(config.FromOS())
	if err != nil {
		return err
	}
	log := app.Logger(service, cfg.LogLevel)
	ctx, stop := app.SignalContext()
	defer stop()
	log.Info("starting", cfg.LogAttrs()...)
	b, err := app.NewMainBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	return b.Serve(ctx, ln)
}
