package app

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hooks"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/providers/stripe"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/runtimesrv"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error {
	b.Runtime = runtimesrv.New(b.Service, b.Log, b.Config.CORSOrigins, b.Config.RateLimit, b.Limits)
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
	b.registrations = append(b.registrations, func(_ *river.Workers, p *queue.Periodic) {
		// A lost webhook never leaves a paid order unpaid: ask Stripe about attempts still open.
		p.Every("stripe.reconcile", queue.Reconcile, time.Minute, func(ctx context.Context) error {
			_, err := sp.Reconcile(ctx, 3*time.Minute)
			return err
		})
	})

	ga, err := b.Service.Adapter(domain.ProviderGoCardless)
	if err != nil {
		return err
	}
	gp := &gocardless.Processor{Service: b.Service, Adapter: ga.(*gocardless.Adapter)}
	b.Service.RegisterEventProcessor(domain.ProviderGoCardless, gp)
	hk.Register(e, domain.ProviderGoCardless, gp.WebhookVerifier(), gocardless.Answers)
	b.Runtime.SetSync(domain.ProviderGoCardless, gp.Sync)
	b.Runtime.Route(e, http.MethodPost, "/billing-requests/create", gp.CreateBillingRequest)
	if b.eventHooks == nil {
		b.eventHooks = map[string]ipn.Hook{}
	}
	// A buyer leaving the GoCardless flow cancels the attempt; its billing request goes with it.
	b.eventHooks["gocardless.cancel"] = gp.CancelHook
	b.registrations = append(b.registrations, func(ws *river.Workers, p *queue.Periodic) {
		gp.RegisterWorkers(ws)
		// Payments take days: ask GoCardless about attempts still open long after their charge date.
		p.Every("gocardless.reconcile", queue.Reconcile, 10*time.Minute, func(ctx context.Context) error {
			_, err := gp.Reconcile(ctx, 30*time.Minute)
			return err
		})
	})

	// Duda stores: the gateway app's endpoints, confirmations back to Duda, its return URLs.
	registerDuda(e, b)

	return startWorkers(ctx, b)
}
