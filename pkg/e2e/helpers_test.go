package e2e

import (
	"testing"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers/stripe"
)

// stripeProcessor is a copy of the main backend's Stripe provider (a test may tune its copy).
func stripeProcessor(t *testing.T, w *stripeWorld) *stripe.Provider {
	t.Helper()
	p, err := w.env.Main.Services.Payment.Provider(domain.ProviderStripe)
	if err != nil {
		t.Fatal(err)
	}
	cp := *p.(*stripe.Provider)
	return &cp
}
