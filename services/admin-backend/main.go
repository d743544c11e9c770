// Command admin-backend serves the Admin API (/api/v1 and /v1), API keys, checkout creation
// and the Admin Panel.
//
//	admin-backend                   serve (refuses to start when the schema is behind)
//	admin-backend migrate           apply every migration and exit
//	admin-backend migrate N         migrate up or down to version N
//	admin-backend healthcheck       exit 0 if the admin backend in this container is ready, else 1
//	admin-backend healthcheck live  the same for liveness (GET /health)
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
)

const service = "admin-backend"

func main() {
	os.Exit(app.Exit(service, run(os.Args[1:]), os.Stderr))
}

func run(args []string) error {
	cfg, err := config.LoadAdminBackend(config.FromOS())
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
	if len(args) > 0 {
		switch args[0] {
		case "migrate":
			target := -1
			if len(args) > 1 {
				if target, err = strconv.Atoi(args[1]); err != nil || target < 0 {
					return fmt.Errorf("migrate takes a version number, got %q", args[1])
				}
			}
			return app.Migrate(ctx, cfg.Common, log, target)
		case "serve":
		default:
			return fmt.Errorf("unknown command %q (use serve, migrate [version] or healthcheck [live])", args[0])
		}
	}
	log.Info("starting", cfg.LogAttrs()...)
	a, err := app.NewAdminBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	if cfg.SeedDemo {
		if err := a.SeedDemo(ctx); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}
