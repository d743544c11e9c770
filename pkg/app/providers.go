package app

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hooks"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/providers/mollie"
	"paygate.dev/pkg/providers/paypal"
	"paygate.dev/pkg/providers/stripe"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/queue"
)

// providerRegistry lists the payment providers every service uses: one line per provider.
// Everything else a provider brings (webhooks, sync, routes, workers, periodic tasks, outbox
// hooks) is taken from the provider itself by mountProviders.
func providerRegistry(c config.Common, log *slog.Logger) providers.Registry {
	return append(providers.Registry{
		wire.Register(),
		stripe.Register(stripe.Config{APIURL: c.StripeAPIURL, Log: log}),
		gocardless.Register(gocardless.Config{APIURL: c.GoCardlessAPIURL, Log: log}),
		mollie.Register(mollie.Config{APIURL: c.MollieAPIURL, HooksURL: c.Hosts.MainBackendURL(), Log: log}),
		paypal.Register(paypal.Config{APIURL: c.PayPalAPIURL, Log: log}),
	}, c.Providers...) // registered in code (a test's fake provider)
}

// mountProviders gives the main backend everything its providers bring: their webhooks
// (hooks), the runtime routes, the outbox hooks, and their workers and periodic tasks.
func mountProviders(e *echo.Echo, b *MainBackend, hk *hooks.Server) {
	set := b.Services.Payment.Providers()
	hk.RegisterAll(e, set)
	b.Runtime.RegisterProviders(e, set)
	if b.eventHooks == nil {
		b.eventHooks = map[string]ipn.Hook{}
	}
	for _, t := range set.Types() {
		x := set[t].Extras()
		for name, h := range x.EventHooks {
			b.eventHooks[name] = func(ctx context.Context, tx ipn.Store, e domain.Event) error { return h(ctx, hookTx{tx}, e) }
		}
		if x.Workers == nil && len(x.Periodic) == 0 {
			continue
		}
		b.registrations = append(b.registrations, func(ws *river.Workers, p *queue.Periodic) {
			if x.Workers != nil {
				x.Workers(ws)
			}
			for _, task := range x.Periodic {
				p.Every(task.Name, queue.Reconcile, task.Every, task.Run)
			}
		})
	}
}

// hookTx is the database transaction of an outbox hook (the dispatcher's ipn.Store) as
// providers see it (providers.HookTx).
type hookTx struct{ ipn.Store }

func (t hookTx) Enqueue(ctx context.Context, args river.JobArgs) error {
	_, err := queue.Insert(ctx, t, args, nil)
	return err
}
