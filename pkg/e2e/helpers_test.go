package e2e

import (
	"testing"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers/stripe"
)

func stripeProcessor(t *testing.T, w *stripeWorld) *stripe.Processor {
	t.Helper()
	a, err := w.env.Main.Service.Adapter(domain.ProviderStripe)
	if err != nil {
		t.Fatal(err)
	}
	return &stripe.Processor{Service: w.env.Main.Service, Adapter: a.(*stripe.Adapter)}
}
