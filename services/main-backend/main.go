// Command main-backend serves provider webhooks (/hooks/...), the checkout runtime API and the
// background workers (IPN delivery, expiry, provider reconciliation).
//
//	main-backend                   serve (refuses to start when the schema is behind)
//	main-backend healthcheck       exit 0 if the main backend in this container is ready, else 1
//	main-backend healthcheck live  the same for liveness (GET /health)
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
	if len(args) > 0 && args[0] != "serve" && args[0] != "healthcheck" {
		return fmt.Errorf("unknown command %q (use serve or healthcheck [live]; migrations run with admin-backend migrate)", args[0])
	}
	cfg, err := config.LoadMainBackend(config.FromOS())
	if err != nil {
		return err
	}
	ctx, stop := app.SignalContext()
	defer stop()
	if len(args) > 0 && args[0] == "healthcheck" {
		live, err := app.HealthcheckArgs(args[1:])
		if err != nil {
			return err
		}
		return app.Healthcheck(ctx, cfg.ListenAddr, cfg.InternalListen, live, os.Stdout)
	}
	log := app.Logger(service, cfg.LogLevel)
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
