package app

import (
	"context"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/hooks"
	"paygate.dev/pkg/runtimesrv"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error {
	b.Runtime = runtimesrv.New(b.Services.Payment, b.Log, b.Config.CORSOrigins, b.Config.RateLimit, b.Limits)
	b.Runtime.TrustInternal(b.Config.InternalToken)
	b.Runtime.Register(e)
	// Payment providers: everything each brings, from the registry (providerRegistry).
	mountProviders(e, b, hooks.New(b.Services.Payment, b.Log, b.Metrics))

	// Duda stores: the gateway app's endpoints, confirmations back to Duda, its return URLs.
	registerDuda(e, b)

	// Invoices of checkout payments, payment links' settlements: an outbox consumer.
	registerInvoices(b)

	// Buyers' receipts: the outbox consumer and the job kind.
	if err := registerReceipts(b); err != nil {
		return err
	}

	return startWorkers(ctx, b)
}
