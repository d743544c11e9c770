// Command main-frontend serves the hosted checkout pages /checkout/{shortCode}. It has no
// database access: it talks to the main backend's runtime API.
//
//	main-frontend                   serve
//	main-frontend healthcheck       exit 0 if the main frontend in this container is ready, else 1
//	main-frontend healthcheck live  the same for liveness (GET /health)
package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
)

const service = "main-frontend"

func main() {
	os.Exit(app.Exit(service, run(os.Args[1:]), os.Stderr))
}

func run(args []string) error {
	if len(args) > 0 && args[0] != "serve" && args[0] != "healthcheck" {
		return fmt.Errorf("unknown command %q (use serve or healthcheck [live])", args[0])
	}
	cfg, err := config.LoadMainFrontend(config.FromOS())
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
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := app.Logger(service, level)
	log.Info("starting", cfg.LogAttrs()...)
	f, err := app.NewMainFrontend(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	return f.Serve(ctx, ln)
}
