package gocardless_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/gocardless"
)

var ctx = context.Background()

func noSleep(context.Context, time.Duration) error { return nil }

// world is an adapter talking to a fresh fake, and a start request for one transaction.
type world struct {
	gc  *gcfake.Server
	a   *gocardless.Provider
	req providers.StartRequest
}

func newWorld(t *testing.T, currency string) *world {
	t.Helper()
	gc := gcfake.New(t)
	p := &domain.Provider{ID: "prov_gc", Type: domain.ProviderGoCardless, Mode: domain.ModeTest, Settings: map[string]string{"environment": "sandbox"}}
	c := &domain.Checkout{ID: "chk_" + domain.RandomString(8), OrganizationID: "org_1", SiteID: "site_1", ExternalReference: "order-77",
		Email: "checkout@example.com", Currency: currency, Language: "de"}
	txn := &domain.Transaction{ID: "txn_" + domain.RandomString(10), CheckoutID: c.ID, GrossAmount: 2499, Currency: currency, Status: domain.TxnInitiated}
	return &world{gc: gc, a: &gocardless.Provider{Config: gocardless.Config{APIURL: gc.URL(), Sleep: noSleep}}, req: providers.StartRequest{
		Provider: p, Credentials: map[string]string{"accessToken": gc.AccessToken(), "webhookSecret": "whs"}, Checkout: c, Transaction: txn,
		Site: &domain.Site{Name: "Shop", DefaultLanguage: "en"}, PageURL: "https://secure.example.com/checkout/abc", Language: c.Language,
		Billing: domain.BillingDetails{Name: "Ada  Lovelace King", Email: "ada@example.com", Line1: "1 High St", City: "London", PostalCode: "N1 9GU", Country: "gb"},
	}}
}

// started runs Start and stores its result on the transaction as the platform would.
func (w *world) start(t *testing.T) *providers.StartResult {
	t.Helper()
	res, err := w.a.Start(ctx, w.req)
	require.NoError(t, err)
	ref := res.ProviderReference
	w.req.Transaction.ProviderReference = &ref
	w.req.Transaction.ProviderData = roundTrip(t, res.ProviderData)
	return res
}

// roundTrip stores data as the database would (JSON).
func roundTrip(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func body(t *testing.T, r gcfake.Request) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m))
	return m
}

func TestStartCreatesTheBillingRequestAndItsFlow(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	res := w.start(t)
	txn := w.req.Transaction

	require.Equal(t, domain.TxnInitiated, res.Status)
	require.Equal(t, "redirect", res.Next.Type)
	require.Regexp(t, `^BRQ`, res.ProviderReference)
	br, ok := w.gc.BillingRequest(res.ProviderReference)
	require.True(t, ok)
	require.Equal(t, int64(2499), br.PaymentRequest.Amount, "the transaction's gross amount")
	require.Equal(t, "GBP", br.PaymentRequest.Currency)
	require.Equal(t, "faster_payments", br.PaymentRequest.Scheme, "GoCardless picks the instant scheme")
	require.Equal(t, "Shop — order-77", br.PaymentRequest.Description)
	require.Nil(t, br.MandateRequest, "an instant bank payment needs no mandate")
	want := map[string]string{"transaction_id": txn.ID, "checkout_id": txn.CheckoutID}
	require.Equal(t, want, br.Metadata)
	require.Equal(t, want, br.PaymentRequest.Metadata, "copied onto the payment, so payment events name the transaction")
	reqs := w.gc.RequestsTo(http.MethodPost, "/billing_requests")
	require.Len(t, reqs, 1)
	require.Equal(t, txn.ID+":billing_request", reqs[0].IdempotencyKey)

	flowID := res.ProviderData[gocardless.DataFlow].(string)
	flow, ok := w.gc.BillingRequestFlow(flowID)
	require.True(t, ok)
	require.Equal(t, flow.AuthorisationURL, res.Next.RedirectURL)
	require.Equal(t, flow.AuthorisationURL, res.ProviderData[gocardless.DataAuthorisationURL])
	require.Equal(t, res.ProviderReference, res.ProviderData[gocardless.DataBillingRequest])
	require.NotEmpty(t, res.ProviderData[gocardless.DataFlowExpiresAt])
	require.Equal(t, "https://secure.example.com/checkout/abc?transaction="+txn.ID+"&gocardless=return", flow.RedirectURI)
	require.Equal(t, "https://secure.example.com/checkout/abc?transaction="+txn.ID+"&gocardless=exit", flow.ExitURI)
	require.Equal(t, "de", flow.Language, "the checkout's language")
	require.True(t, flow.LockCurrency)
	require.Equal(t, &gcfake.PrefilledCustomer{GivenName: "Ada Lovelace", FamilyName: "King", Email: "ada@example.com",
		AddressLine1: "1 High St", City: "London", PostalCode: "N1 9GU", CountryCode: "GB"}, flow.PrefilledCustomer)
}

func TestPrefilledFromTheCheckoutAndLanguageFallback(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "EUR")
	w.req.Billing = domain.BillingDetails{}
	w.req.Language, w.req.Checkout.Language = "ja", "ja" // GoCardless has no Japanese pages: the site's language
	w.req.Checkout.BillingAddress = &domain.Address{FirstName: "Grace", LastName: "Hopper", Address1: "Rue 1", City: "Paris", Postcode: "75001", Country: "FR"}
	res := w.start(t)
	flow, _ := w.gc.BillingRequestFlow(res.ProviderData[gocardless.DataFlow].(string))
	require.Equal(t, "en", flow.Language)
	require.Equal(t, &gcfake.PrefilledCustomer{GivenName: "Grace", FamilyName: "Hopper", Email: "checkout@example.com",
		AddressLine1: "Rue 1", City: "Paris", PostalCode: "75001", CountryCode: "FR"}, flow.PrefilledCustomer)
	br, _ := w.gc.BillingRequest(res.ProviderReference)
	require.Equal(t, "sepa_credit_transfer", br.PaymentRequest.Scheme)
}

func TestStartIsIdempotentPerTransaction(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	// The first create is applied but its answer is lost: the retry meets the idempotency
	// conflict and carries on with the request it created.
	w.gc.FailNext(1, gcfake.FailLostResponse)
	first, err := w.a.Start(ctx, w.req)
	require.NoError(t, err)
	again, err := w.a.Start(ctx, w.req) // the whole operation retried
	require.NoError(t, err)
	require.Equal(t, first.ProviderReference, again.ProviderReference, "one billing request per transaction")
	require.NotEqual(t, first.Next.RedirectURL, again.Next.RedirectURL, "flows cannot be fetched: a new one under a fresh key")
	created := 0
	for _, r := range w.gc.RequestsTo(http.MethodPost, "/billing_requests") {
		if r.Status == http.StatusCreated {
			created++
		}
	}
	require.Equal(t, 1, created)
}

func TestResume(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	first := w.start(t)
	before := len(w.gc.Requests())

	t.Run("ReusesAValidFlow", func(t *testing.T) {
		res, err := w.a.Resume(ctx, w.req)
		require.NoError(t, err)
		require.Equal(t, first.Next.RedirectURL, res.Next.RedirectURL)
		require.Len(t, w.gc.Requests(), before, "no call to GoCardless")
	})
	t.Run("ExpiredFlowGetsANewOneForTheSameRequest", func(t *testing.T) {
		a := *w.a
		a.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
		res, err := a.Resume(ctx, w.req)
		require.NoError(t, err)
		require.NotEqual(t, first.Next.RedirectURL, res.Next.RedirectURL)
		require.Equal(t, first.ProviderReference, res.ProviderReference)
		require.Equal(t, first.ProviderReference, res.ProviderData[gocardless.DataBillingRequest])
		require.Len(t, w.gc.RequestsTo(http.MethodPost, "/billing_requests"), 1)
	})
	t.Run("FulfilledHasNothingLeftToDo", func(t *testing.T) {
		_, err := w.gc.Pay(ctx, first.ProviderData[gocardless.DataFlow].(string))
		require.NoError(t, err)
		a := *w.a
		a.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
		res, err := a.Resume(ctx, w.req)
		require.NoError(t, err)
		require.Equal(t, "none", res.Next.Type)
		require.Equal(t, domain.TxnPendingProvider, res.Status)
	})
}

func TestDirectDebitCurrencyAsksForAMandate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "SEK")
	_, err := w.a.Start(ctx, w.req)
	// The fake, like its documentation, knows payment requests only as instant bank payments
	// (GBP, EUR) and refuses SEK: what matters here is the request and a clean 422.
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err), "%v", err)
	require.Equal(t, domain.CodeProviderError, domain.ErrorCode(err))
	require.Contains(t, err.Error(), "currency")
	reqs := w.gc.RequestsTo(http.MethodPost, "/billing_requests")
	require.Len(t, reqs, 1)
	br := body(t, reqs[0])["billing_requests"].(map[string]any)
	require.Equal(t, "SEK", br["mandate_request"].(map[string]any)["currency"])
	require.Equal(t, float64(2499), br["payment_request"].(map[string]any)["amount"])
}

func TestRefundsConfirmTheRunningTotal(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	res := w.start(t)
	refund := func(id string, amount, total int64) (*providers.RefundResult, error) {
		return w.a.Refund(ctx, providers.RefundRequest{Provider: w.req.Provider, Credentials: w.req.Credentials, Transaction: w.req.Transaction,
			Refund: &domain.Refund{ID: id, Amount: amount}, TotalRefunded: total, IdempotencyKey: "refund:" + id})
	}

	_, err := refund("ref_early", 100, 100)
	require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(err), "no payment before the buyer authorised: %v", err)

	_, err = w.gc.Pay(ctx, res.ProviderData[gocardless.DataFlow].(string))
	require.NoError(t, err)
	br, _ := w.gc.BillingRequest(res.ProviderReference)
	pm := br.Links.PaymentRequestPayment
	require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, pm))

	// The payment is not linked on the transaction yet: the adapter finds it on the request.
	part, err := refund("ref_1", 999, 999)
	require.NoError(t, err)
	require.Regexp(t, `^RF`, part.ProviderReference)
	require.Equal(t, domain.RefundPending, part.Status, "pending until GoCardless pays it")
	w.req.Transaction.ProviderPaymentID = &pm

	again, err := refund("ref_1", 999, 999)
	require.NoError(t, err, "the same refund retried")
	require.Equal(t, part.ProviderReference, again.ProviderReference)

	_, err = refund("ref_bad", 500, 500)
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err), "a wrong confirmation total is GoCardless's 422: %v", err)
	require.Contains(t, err.Error(), "total_amount_confirmation")

	rest, err := refund("ref_2", 1500, 2499)
	require.NoError(t, err)
	require.NotEqual(t, part.ProviderReference, rest.ProviderReference)

	var totals []float64
	for _, r := range w.gc.RequestsTo(http.MethodPost, "/refunds") {
		rb := body(t, r)["refunds"].(map[string]any)
		require.Equal(t, pm, rb["links"].(map[string]any)["payment"])
		totals = append(totals, rb["total_amount_confirmation"].(float64))
	}
	require.Equal(t, []float64{999, 999, 500, 2499}, totals)
	p, _ := w.gc.Payment(pm)
	require.Equal(t, int64(2499), p.AmountRefunded)
	rf, _ := w.gc.Refund(rest.ProviderReference)
	require.Equal(t, map[string]string{"refund_id": "ref_2", "transaction_id": w.req.Transaction.ID}, rf.Metadata)
}

func TestRefundStatus(t *testing.T) {
	t.Parallel()
	for s, want := range map[gcapi.RefundStatus]domain.RefundStatus{
		"created": domain.RefundPending, "pending_submission": domain.RefundPending, "submitted": domain.RefundPending, "paid": domain.RefundSucceeded,
		"bounced": domain.RefundFailed, "cancelled": domain.RefundFailed, "funds_returned": domain.RefundFailed, "something_new": domain.RefundPending,
	} {
		require.Equal(t, want, gocardless.RefundStatus(s), string(s))
	}
}

func TestTestConnection(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	require.NoError(t, w.a.TestConnection(ctx, w.req.Provider, w.req.Credentials))
	require.Len(t, w.gc.RequestsTo(http.MethodGet, "/creditors"), 1)
	require.Equal(t, "limit=1", w.gc.RequestsTo(http.MethodGet, "/creditors")[0].Query)

	err := w.a.TestConnection(ctx, w.req.Provider, map[string]string{"accessToken": "sandbox_wrong"})
	require.Equal(t, "PROVIDER_AUTHENTICATION", domain.ErrorCode(err), "%v", err)
	require.Contains(t, err.Error(), "access token")

	err = w.a.TestConnection(ctx, w.req.Provider, map[string]string{"accessToken": "live_token_in_sandbox"})
	require.Equal(t, "PROVIDER_MISCONFIGURED", domain.ErrorCode(err), "%v", err)
	require.Contains(t, err.Error(), "sandbox access token")
}

func TestTransientFailuresAreRetriedAndOutagesAreUnavailable(t *testing.T) {
	t.Parallel()
	for _, kind := range []gcfake.FailureKind{gcfake.FailRateLimited, gcfake.FailInternalError, gcfake.FailUnavailable, gcfake.FailBadGatewayHTML, gcfake.FailConnectionReset} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "GBP")
			w.gc.FailNext(2, kind)
			res, err := w.a.Start(ctx, w.req)
			require.NoError(t, err)
			require.Equal(t, "redirect", res.Next.Type)
		})
	}
	t.Run("Exhausted", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, "GBP")
		w.gc.FailNext(4, gcfake.FailBadGatewayHTML)
		_, err := w.a.Start(ctx, w.req)
		require.Equal(t, domain.KindUnavailable, domain.ErrorKind(err), "%v", err)
		require.Equal(t, domain.CodeProviderError, domain.ErrorCode(err))
		require.True(t, strings.Contains(err.Error(), "502"), "%v", err)
	})
}

// Without a page URL (the caller did not send the checkout's short code) the flow has no
// redirect or exit URI, since both would name the short code; the stored flow of one kind is
// never offered to a caller of the other, and older stored flows count as returning to the page.
func TestFlowsWithoutThePageNeverLeadToIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "GBP")
	page := w.req.PageURL
	w.req.PageURL = ""
	res := w.start(t)
	flow, ok := w.gc.BillingRequestFlow(res.ProviderData[gocardless.DataFlow].(string))
	require.True(t, ok)
	require.Empty(t, flow.RedirectURI)
	require.Empty(t, flow.ExitURI)
	require.Equal(t, false, res.ProviderData[gocardless.DataFlowReturnsToPage])

	again, err := w.a.Resume(ctx, w.req)
	require.NoError(t, err)
	require.Equal(t, flow.AuthorisationURL, again.Next.RedirectURL, "the same kind of caller gets the stored flow again")

	w.req.PageURL = page
	toPage, err := w.a.Resume(ctx, w.req)
	require.NoError(t, err)
	require.NotEqual(t, flow.AuthorisationURL, toPage.Next.RedirectURL)
	pf, ok := w.gc.BillingRequestFlow(toPage.ProviderData[gocardless.DataFlow].(string))
	require.True(t, ok)
	require.Equal(t, page+"?transaction="+w.req.Transaction.ID+"&gocardless=return", pf.RedirectURI, "the page's flow returns to it")
	require.Equal(t, true, toPage.ProviderData[gocardless.DataFlowReturnsToPage])

	// A flow stored before flowReturnsToPage was kept returns to the page: only the page gets it.
	w.req.Transaction.ProviderData = roundTrip(t, toPage.ProviderData)
	delete(w.req.Transaction.ProviderData, gocardless.DataFlowReturnsToPage)
	old, err := w.a.Resume(ctx, w.req)
	require.NoError(t, err)
	require.Equal(t, pf.AuthorisationURL, old.Next.RedirectURL)
	w.req.PageURL = ""
	fresh, err := w.a.Resume(ctx, w.req)
	require.NoError(t, err)
	require.NotEqual(t, pf.AuthorisationURL, fresh.Next.RedirectURL)
	ff, ok := w.gc.BillingRequestFlow(fresh.ProviderData[gocardless.DataFlow].(string))
	require.True(t, ok)
	require.Empty(t, ff.RedirectURI)
	require.Empty(t, ff.ExitURI)
}
