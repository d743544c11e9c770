package mollie_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mollieapi/molliefake"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/mollie"
)

var ctx = context.Background()

func noSleep(context.Context, time.Duration) error { return nil }

func setup(t *testing.T) (*mollie.Provider, *molliefake.Server, *domain.Provider, map[string]string) {
	t.Helper()
	f := molliefake.New(t)
	f.HoldWebhooks(true)
	p := mollie.New(nil, mollie.Config{APIURL: f.URL(), HooksURL: "https://hooks.example", Sleep: noSleep})
	prov := &domain.Provider{ID: "prov_1", OrganizationID: "org_1", Type: mollie.Type, Mode: domain.ModeTest}
	return p, f, prov, map[string]string{"apiKey": f.TestKey()}
}

func startReq(prov *domain.Provider, creds map[string]string, amount int64, currency string) providers.StartRequest {
	ref := "order-1"
	return providers.StartRequest{Provider: prov, Credentials: creds,
		Checkout:    &domain.Checkout{ID: "chk_1", ExternalReference: ref, Language: "de", ReturnURL: "https://shop.example/thanks"},
		Site:        &domain.Site{Name: "Shop"},
		Transaction: &domain.Transaction{ID: "txn_1", GrossAmount: amount, Currency: currency, Status: domain.TxnInitiated},
		PageURL:     "https://pay.example/checkout/abc"}
}

func TestCredentialsMatchTheMode(t *testing.T) {
	p := mollie.New(nil, mollie.Config{})
	require.NoError(t, p.ValidateCredentials(domain.ModeTest, map[string]string{"apiKey": "test_abcdefghijklmnopqrstuvwxyz0123"}))
	require.NoError(t, p.ValidateCredentials(domain.ModeLive, map[string]string{"apiKey": "live_abcdefghijklmnopqrstuvwxyz0123"}))
	for mode, key := range map[domain.Mode]string{domain.ModeTest: "live_abc", domain.ModeLive: "test_abc"} {
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(p.ValidateCredentials(mode, map[string]string{"apiKey": key})), "%s %s", mode, key)
	}
	for _, k := range []string{"sk_test_abc", "test_ab c", "test_"} {
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(p.ValidateCredentials(domain.ModeTest, map[string]string{"apiKey": k})), k)
	}
	require.NoError(t, p.ValidateSettings(&domain.Provider{Settings: map[string]string{"methods": "ideal, creditcard"}}))
	require.Error(t, p.ValidateSettings(&domain.Provider{Settings: map[string]string{"methods": "iDEAL;drop"}}))
	require.Equal(t, []string{"apiKey"}, p.Fields().RequiredSecrets)
}

func TestStartIsIdempotentPerTransactionAndExact(t *testing.T) {
	p, f, prov, creds := setup(t)
	res, err := p.Start(ctx, startReq(prov, creds, 1050, "EUR"))
	require.NoError(t, err)
	again, err := p.Start(ctx, startReq(prov, creds, 1050, "EUR"))
	require.NoError(t, err)
	require.Equal(t, res.ProviderReference, again.ProviderReference, "a retried start returns the same payment")
	require.Len(t, f.PaymentsOf("txn_1"), 1)
	pm, _ := f.Payment(res.ProviderReference)
	require.Equal(t, "10.50", pm.ValueText())
	require.Equal(t, "https://pay.example/checkout/abc?transaction=txn_1&mollie=return", pm.RedirectURL)
	require.Equal(t, "https://hooks.example/hooks/mollie/prov_1", pm.WebhookURL)
	require.Equal(t, "de_DE", pm.Locale)
	require.Equal(t, "Shop — order-1", pm.Description)
	require.Equal(t, "redirect", res.Next.Type)
	require.Equal(t, f.URL()+"/checkout/"+pm.ID, res.Next.RedirectURL)

	// Without the short code the buyer is not sent back to the page (it would name it).
	req := startReq(prov, creds, 300, "JPY")
	req.Transaction.ID, req.PageURL = "txn_2", ""
	res2, err := p.Start(ctx, req)
	require.NoError(t, err)
	pm2, _ := f.Payment(res2.ProviderReference)
	require.Equal(t, "https://shop.example/thanks", pm2.RedirectURL)
	require.Equal(t, "300", pm2.ValueText())
	req.Transaction.ProviderReference, req.Transaction.ProviderData = &res2.ProviderReference, res2.ProviderData
	_, err = p.Resume(ctx, req)
	require.NoError(t, err)
}

func TestResumeFollowsThePayment(t *testing.T) {
	p, f, prov, creds := setup(t)
	req := startReq(prov, creds, 1000, "EUR")
	res, err := p.Start(ctx, req)
	require.NoError(t, err)
	req.Transaction.ProviderReference, req.Transaction.ProviderData = &res.ProviderReference, res.ProviderData
	again, err := p.Resume(ctx, req)
	require.NoError(t, err)
	require.Equal(t, res.Next.RedirectURL, again.Next.RedirectURL)

	noPage := req
	noPage.PageURL = ""
	_, err = p.Resume(ctx, noPage)
	require.Equal(t, domain.KindConflict, domain.ErrorKind(err), "a caller without the short code is not given a way back to it")

	require.NoError(t, f.SetStatus(ctx, res.ProviderReference, "paid"))
	done, err := p.Resume(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "none", done.Next.Type)
	require.Equal(t, domain.TxnPendingProvider, done.Status)
}

func TestRefundUsesTheRefundsKey(t *testing.T) {
	p, f, prov, creds := setup(t)
	req := startReq(prov, creds, 1000, "EUR")
	res, err := p.Start(ctx, req)
	require.NoError(t, err)
	require.NoError(t, f.SetStatus(ctx, res.ProviderReference, "paid"))
	req.Transaction.ProviderReference = &res.ProviderReference
	rr := providers.RefundRequest{Provider: prov, Credentials: creds, Transaction: req.Transaction,
		Refund: &domain.Refund{ID: "ref_1", Amount: 250, Currency: "EUR"}, TotalRefunded: 250, IdempotencyKey: "ref_1"}
	a, err := p.Refund(ctx, rr)
	require.NoError(t, err)
	b, err := p.Refund(ctx, rr)
	require.NoError(t, err)
	require.Equal(t, a.ProviderReference, b.ProviderReference)
	require.Equal(t, domain.RefundPending, a.Status)
	pm, _ := f.Payment(res.ProviderReference)
	require.Len(t, pm.Refunds, 1)
	rr.Refund, rr.IdempotencyKey = &domain.Refund{ID: "ref_2", Amount: 751, Currency: "EUR"}, "ref_2"
	_, err = p.Refund(ctx, rr)
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err), "more than remains: %v", err)
}

func TestWebhookBodyIsOnlyAHint(t *testing.T) {
	p, f, prov, creds := setup(t)
	res, err := p.Start(ctx, startReq(prov, creds, 1000, "EUR"))
	require.NoError(t, err)
	id := res.ProviderReference
	hook := func(body string) ([]providers.IncomingEvent, error) {
		return p.VerifyWebhook(ctx, prov, creds, []byte(body), http.Header{})
	}
	for _, body := range []string{"", "id=", "id=re_1", "{}"} {
		_, err := hook(body)
		require.ErrorIs(t, err, providers.ErrMalformed, body)
	}
	evs, err := hook("id=tr_unknown1")
	require.NoError(t, err)
	require.Empty(t, evs, "an id Mollie does not know yields nothing")

	first, err := hook("id=" + id)
	require.NoError(t, err)
	require.Len(t, first, 1)
	dup, err := hook("id=" + id)
	require.NoError(t, err)
	require.Equal(t, first[0].ExternalID, dup[0].ExternalID, "nothing new: the same event")
	require.NoError(t, f.SetStatus(ctx, id, "paid"))
	paid, err := hook("id=" + id)
	require.NoError(t, err)
	require.NotEqual(t, first[0].ExternalID, paid[0].ExternalID, "a new state: a new event")

	// Mollie unavailable: an error (5xx), so Mollie calls again.
	f.FailNext(500, 500, 500, 500)
	_, err = hook("id=" + id)
	require.Equal(t, domain.KindUnavailable, domain.ErrorKind(err), "%v", err)

	// A live payment is not a test provider's.
	live, err := f.CreateWith(ctx, f.LiveKey(), 100, "EUR")
	require.NoError(t, err)
	evs, err = hook("id=" + live)
	require.NoError(t, err)
	require.Empty(t, evs)
}

func TestConnectionTest(t *testing.T) {
	p, f, prov, creds := setup(t)
	require.NoError(t, p.TestConnection(ctx, prov, creds))
	require.Equal(t, 1, f.Requests("GET /v2/methods"))
	err := p.TestConnection(ctx, prov, map[string]string{"apiKey": "test_notTheFakesKey000000000000"})
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err))
	require.Contains(t, err.Error(), "rejected the API key")
	live := *prov
	live.Mode = domain.ModeLive
	err = p.TestConnection(ctx, &live, creds)
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err), "a test key for a live provider")
}
