// Command main-frontend serves the hosted checkout pages /checkout/{shortCode}. It has no
// database access: it talks to the main backend's runtime API.
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
	if len(args) > 0 && args[0] != "serve" {
		return fmt.Errorf("unknown command %q (use serve)", args[0])
	}
	cfg, err := config.LoadMainFrontend(config.FromOS())
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := app.Logger(service, level)
	ctx, stop := app.SignalContext()
	defer stop()
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
