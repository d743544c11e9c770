package app

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hooks"
	"paygate.dev/pkg/jobs"
	"paygate.dev/pkg/providers/stripe"
	"paygate.dev/pkg/runtimesrv"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error {
	b.Runtime = runtimesrv.New(b.Service, b.Log, b.Config.CORSOrigins, b.Config.RateLimit)
	b.Runtime.TrustInternal(b.Config.InternalToken)
	b.Runtime.Register(e)
	hk := hooks.New(b.Service, b.Log, b.Metrics)
	sa, err := b.Service.Adapter(domain.ProviderStripe)
	if err != nil {
		return err
	}
	sp := &stripe.Processor{Service: b.Service, Adapter: sa.(*stripe.Adapter)}
	b.Service.RegisterEventProcessor(domain.ProviderStripe, sp)
	hk.Register(e, domain.ProviderStripe, sp.WebhookVerifier(), hooks.Answers{OK: http.StatusOK, BadSignature: http.StatusBadRequest})
	b.Runtime.SetSync(domain.ProviderStripe, sp.Sync)
	b.registrations = append(b.registrations, func(w *jobs.Worker) {
		// A lost webhook never leaves a paid order unpaid: ask Stripe about attempts still open.
		w.Every("stripe.reconcile", time.Minute, func(ctx context.Context) error {
			_, err := sp.Reconcile(ctx, 3*time.Minute)
			return err
		})
	})

	startWorkers(b)
	hk.Wake = b.Worker.Wake
	return nil
}
