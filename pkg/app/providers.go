package app

import (
	"log/slog"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/providers/stripe"
	"paygate.dev/pkg/providers/wire"
)

// providerRegistry lists the payment adapters every service uses.
func providerRegistry(c config.Common, log *slog.Logger) providers.Registry {
	return providers.Registry{
		domain.ProviderWireTransfer: wire.Adapter{},
		domain.ProviderStripe:       &stripe.Adapter{APIURL: c.StripeAPIURL, Log: log},
		domain.ProviderGoCardless:   &gocardless.Adapter{APIURL: c.GoCardlessAPIURL, Log: log},
	}
}
