package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/runtimesrv"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error {
	b.Runtime = runtimesrv.New(b.Service, b.Log, b.Config.CORSOrigins, b.Config.RateLimit)
	b.Runtime.TrustInternal(b.Config.InternalToken)
	b.Runtime.Register(e)
	startWorkers(b)
	return nil
}
