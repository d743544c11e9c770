package payment

import (
	"context"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// providerPort is the service as the providers see it (providers.Platform): the service's own
// methods, with the store behind the providers' narrow read port.
type providerPort struct{ *Service }

var _ providers.Platform = providerPort{}

func (p providerPort) Store() providers.Store { return p.Service.store }

// Providers returns the providers built for this service, by type.
func (s *Service) Providers() providers.Set { return s.providers }

// StartPayment starts (or resumes) a checkout's attempt with one of its providers, which must
// be of type pt, for a provider's own runtime endpoint (GoCardless's billing requests), through
// StartTransaction.
//
// Errors: 404 for an unknown session, or a transactionId of another checkout; 422
// PROVIDER_NOT_AVAILABLE when the checkout does not offer this provider, or it is not of type
// pt; 409 CHECKOUT_ALREADY_PAID when the named transaction is paid; StartTransaction's.
func (s *Service) StartPayment(ctx context.Context, pt domain.ProviderType, in providers.StartPayment) (*domain.Transaction, *providers.StartResult, error) {
	rc, err := s.RuntimeCheckout(ctx, in.SessionPublicID)
	if err != nil {
		return nil, nil, err
	}
	var prov *domain.Provider
	for i := range rc.Providers {
		if rc.Providers[i].ID == in.ProviderID {
			prov = &rc.Providers[i]
		}
	}
	if prov == nil {
		return nil, nil, domain.Unprocessable("PROVIDER_NOT_AVAILABLE", "this payment method is not available for this checkout")
	}
	if prov.Type != pt {
		return nil, nil, domain.Unprocessable("PROVIDER_NOT_AVAILABLE", "this endpoint is for %s; start a %s payment with transactions/create", pt, prov.Type)
	}
	if in.TransactionID != "" {
		rt, err := s.RuntimeTransaction(ctx, in.TransactionID)
		if err != nil {
			return nil, nil, err
		}
		if rt.Transaction.CheckoutID != rc.Checkout.ID {
			return nil, nil, domain.NotFound("transaction")
		}
		if rt.Transaction.Status.Paid() {
			return nil, nil, domain.Conflict(domain.CodeAlreadyPaid, "this checkout has already been paid")
		}
	}
	started, err := s.StartTransaction(ctx, StartInput{SessionPublicID: in.SessionPublicID, ProviderID: prov.ID, Language: in.Language, ShortCode: in.ShortCode,
		Buyer: Buyer{BillingDetails: in.Billing}})
	if err != nil {
		return nil, nil, err
	}
	return started.Transaction, started.Result, nil
}
