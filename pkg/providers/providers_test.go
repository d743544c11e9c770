package providers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/fakepay"
	"paygate.dev/pkg/providers/wire"
)

// TestRegistryBuildsEachProviderOnceForItsPlatform: every registration line becomes one
// provider of its type, built with the platform it reports to; a type not registered is
// PROVIDER_NOT_SUPPORTED; the optional capabilities are what each provider genuinely has.
func TestRegistryBuildsEachProviderOnceForItsPlatform(t *testing.T) {
	var pl providers.Platform // a nil port is enough: building calls nothing on it
	set := providers.Registry{wire.Register(), fakepay.Register()}.Build(pl)
	require.Equal(t, []domain.ProviderType{fakepay.Type, domain.ProviderWireTransfer}, set.Types())

	fp, err := set.Get(fakepay.Type)
	require.NoError(t, err)
	require.Equal(t, fakepay.Type, fp.Type())
	_, hooks := fp.(providers.Webhooks)
	_, syncs := fp.(providers.Syncer)
	require.True(t, hooks && syncs)

	w, err := set.Get(domain.ProviderWireTransfer)
	require.NoError(t, err)
	_, hooks = w.(providers.Webhooks)
	_, syncs = w.(providers.Syncer)
	require.False(t, hooks || syncs, "a wire transfer has no webhooks and nobody to ask")
	require.Equal(t, providers.Extras{}, w.Extras())

	_, err = set.Get(domain.ProviderStripe)
	require.Equal(t, "PROVIDER_NOT_SUPPORTED", domain.ErrorCode(err))
}
