package app

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/runtimesrv"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error {
	b.Runtime = runtimesrv.New(b.Service, b.Log, b.Config.CORSOrigins, b.Config.RateLimit)
	b.Runtime.TrustInternal(b.Config.InternalToken)
	b.Runtime.Register(e)
	b.workers = append(b.workers, b.expirySweep)
	return nil
}

// expirySweep ends open checkouts past their expiry, every 30 seconds. Several replicas may
// run it at once: each checkout ends with compare-and-set, once.
func (b *MainBackend) expirySweep(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		if n, err := b.Service.ExpireDue(ctx, 500); err != nil && ctx.Err() == nil {
			b.Log.Warn("expiry sweep", "error", err)
		} else if n > 0 {
			b.Log.Info("checkouts expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
