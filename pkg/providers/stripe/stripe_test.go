package stripe_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/stripe"
	"paygate.dev/pkg/stripemock"
)

func fixture() providers.StartRequest {
	p := &domain.Provider{ID: "prov_1", Type: domain.ProviderStripe, Mode: domain.ModeTest, Settings: map[string]string{"publishableKey": "pk_test_123"}}
	c := &domain.Checkout{ID: "chk_1", OrganizationID: "org_1", SiteID: "site_1", ExternalReference: "order-9", Email: "a@example.com"}
	t := &domain.Transaction{ID: "txn_1", GrossAmount: 2499, Currency: "EUR"}
	return providers.StartRequest{Provider: p, Credentials: map[string]string{"secretKey": "sk_test_123"}, Checkout: c, Transaction: t,
		Site: &domain.Site{Name: "Shop"}, PageURL: "https://secure.example.com/checkout/abc"}
}

func TestAdapterAgainstStripeMock(t *testing.T) {
	t.Parallel()
	a := &stripe.Provider{Config: stripe.Config{APIURL: stripemock.Start(t)}}
	ctx := context.Background()
	req := fixture()
	res, err := a.Start(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "stripe", res.Next.Type)
	require.NotEmpty(t, res.Next.Stripe.ClientSecret)
	require.Equal(t, "pk_test_123", res.Next.Stripe.PublishableKey)
	require.Equal(t, "https://secure.example.com/checkout/abc?transaction=txn_1", res.Next.Stripe.ReturnURL)
	require.Regexp(t, `^pi_`, res.ProviderReference)
	require.Equal(t, domain.TxnInitiated, res.Status)

	ref := res.ProviderReference
	req.Transaction.ProviderReference = &ref
	again, err := a.Resume(ctx, req)
	require.NoError(t, err)
	require.NotEmpty(t, again.Next.Stripe.ClientSecret)

	rf, err := a.Refund(ctx, providers.RefundRequest{Provider: req.Provider, Credentials: req.Credentials, Transaction: req.Transaction,
		Refund: &domain.Refund{ID: "ref_1", Amount: 500}, IdempotencyKey: "refund:ref_1"})
	require.NoError(t, err)
	require.Regexp(t, `^re_`, rf.ProviderReference)

	require.NoError(t, a.TestConnection(ctx, req.Provider, req.Credentials))
}

// Without a page URL (the caller did not send the checkout's short code) there is no return
// URL: it would name the short code.
func TestNoReturnURLWithoutThePage(t *testing.T) {
	t.Parallel()
	a := &stripe.Provider{Config: stripe.Config{APIURL: stripemock.Start(t)}}
	req := fixture()
	req.PageURL = ""
	res, err := a.Start(context.Background(), req)
	require.NoError(t, err)
	require.NotEmpty(t, res.Next.Stripe.ClientSecret)
	require.Empty(t, res.Next.Stripe.ReturnURL)
	ref := res.ProviderReference
	req.Transaction.ProviderReference = &ref
	req.Transaction.ProviderData = res.ProviderData
	again, err := a.Resume(context.Background(), req)
	require.NoError(t, err)
	require.Empty(t, again.Next.Stripe.ReturnURL)

	// An intent the page started (its receipt e-mail may be the buyer's) is not handed to a
	// caller without the short code.
	page := fixture()
	byPage, err := a.Start(context.Background(), page)
	require.NoError(t, err)
	ref = byPage.ProviderReference
	page.Transaction.ProviderReference, page.Transaction.ProviderData, page.PageURL = &ref, byPage.ProviderData, ""
	_, err = a.Resume(context.Background(), page)
	require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(err), "%v", err)
	delete(page.Transaction.ProviderData, "startedByPage") // stored before the flag was kept
	_, err = a.Resume(context.Background(), page)
	require.Error(t, err)
}
