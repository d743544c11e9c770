// Package providers defines the interface every payment provider adapter implements (Stripe,
// GoCardless, wire transfer): start a payment for a transaction, rebuild its next step, refund,
// and test a configuration. Webhooks and reconciliation live in each adapter's package and
// report outcomes through the platform's transaction functions, so the core state machine never
// depends on a provider's wire format.
package providers

import (
	"context"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/runtimeapi"
)

// Adapter is one payment provider.
type Adapter interface {
	Type() domain.ProviderType
	// Start begins paying a transaction that is initiated. It must be idempotent per
	// transaction (a retry returns the same provider object).
	Start(ctx context.Context, req StartRequest) (*StartResult, error)
	// Resume rebuilds the next step of an attempt that is still open (a page reload).
	Resume(ctx context.Context, req StartRequest) (*StartResult, error)
	// Refund gives money back; it must be idempotent per refund id.
	Refund(ctx context.Context, req RefundRequest) (*RefundResult, error)
	// TestConnection makes one harmless call with the configuration and reports the result.
	TestConnection(ctx context.Context, p *domain.Provider, creds map[string]string) error
}

// StartRequest is what an adapter needs to start or resume a payment.
type StartRequest struct {
	Provider    *domain.Provider
	Credentials map[string]string
	Checkout    *domain.Checkout
	Site        *domain.Site
	Transaction *domain.Transaction
	Billing     domain.BillingDetails
	// PageURL is the hosted page of the checkout: the place to come back to after a redirect.
	// It names the short code, which opens the buyer's personal data, so it is set only when
	// the caller proved it holds the payment link (the hosted page sends the short code). When
	// it is empty the adapter answers, and sends the provider, no URL back to the page: a
	// holder of the sessionPublicId alone (it travels in every IPN) must not learn the short
	// code from a return, redirect or exit URL.
	PageURL  string
	Language string
}

// StartResult is what the page does next and what to store on the transaction.
type StartResult struct {
	Next              runtimeapi.Next
	ProviderReference string // e.g. the PaymentIntent or billing request id
	PaymentReference  string // the wire-transfer reference the buyer quotes
	ProviderData      map[string]any
	// Status is where the transaction goes once started: initiated (the buyer still has to
	// act at the provider) or pending_provider (waiting for the money).
	Status domain.TransactionStatus
}

// RefundRequest gives back (part of) a transaction.
type RefundRequest struct {
	Provider    *domain.Provider
	Credentials map[string]string
	Transaction *domain.Transaction
	Refund      *domain.Refund
	// TotalRefunded is every refund of the transaction including this one (GoCardless's
	// total_amount_confirmation).
	TotalRefunded  int64
	IdempotencyKey string
}

// RefundResult says what the provider did.
type RefundResult struct {
	ProviderReference string
	Status            domain.RefundStatus
	// Manual refunds are done by the operator outside the platform (wire transfer).
	Manual bool
}

// Registry maps provider types to adapters.
type Registry map[domain.ProviderType]Adapter

// Get returns the adapter of a type, or an error saying the type is not available here.
func (r Registry) Get(t domain.ProviderType) (Adapter, error) {
	if a, ok := r[t]; ok {
		return a, nil
	}
	return nil, domain.Unprocessable("PROVIDER_NOT_SUPPORTED", "payments with %s are not available on this server", t)
}
