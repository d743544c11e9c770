package app

import (
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/wire"
)

// providerRegistry lists the payment adapters every service uses.
func providerRegistry() providers.Registry {
	return providers.Registry{domain.ProviderWireTransfer: wire.Adapter{}}
}
