package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers/paypal"
	"paygate.dev/pkg/providers/paypal/paypalfake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// ppWorld is a running platform whose tenant's site offers PayPal (backed by paypalfake).
type ppWorld struct {
	env      *apptest.Env
	tn       *apptest.Tenant
	pp       *paypalfake.Fake
	s        *store.Store
	provider *domain.Provider
}

func newPPWorld(t *testing.T, s *store.Store) *ppWorld {
	t.Helper()
	f := paypalfake.New(t)
	env := apptest.Start(t, s, apptest.Options{Workers: true, PayPalAPIURL: f.URL, MainBackend: func(c *config.MainBackend) {
		c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
	}})
	env.Logs.Forbid(f.ClientSecret)
	tn := env.NewTenant(t)
	name := "PayPal"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: string(paypal.Type), Mode: "test", Name: &name,
		Credentials: map[string]string{"clientId": f.ClientID, "clientSecret": f.ClientSecret, "webhookId": f.WebhookID}})
	require.NoError(t, err)
	ids := []string{p.ID, tn.Provider.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID})
	require.NoError(t, err)
	return &ppWorld{env: env, tn: tn, pp: f, s: s, provider: p}
}

// start creates a checkout through the Admin API and starts paying it with PayPal through the
// runtime API as the hosted page does (with the short code); it returns the transaction, the
// PayPal order, the approve link and the merchant notified about the checkout.
func (w *ppWorld) start(t *testing.T, amount int64) (string, string, string, *wooMerchant) {
	t.Helper()
	m := newWooMerchant(t, w.tn.SiteHook, 0)
	co := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": amount, "currency": "EUR", "externalReference": "pp-" + domain.RandomString(6), "email": "buyer@example.com",
		"ipnUrl": m.srv.URL + "/ipn"}).JSON(t)
	res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "providerId": w.provider.ID, "shortCode": co["shortCode"],
		"billingAddress": map[string]any{"country": "DE"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	b := res.JSON(t)
	require.Equal(t, "initiated", b["status"])
	next := b["next"].(map[string]any)
	require.Equal(t, "redirect", next["type"])
	id := b["transactionId"].(string)
	txn, err := w.s.GetTransaction(ctx, w.tn.Org.ID, id)
	require.NoError(t, err)
	return id, *txn.ProviderReference, next["redirectUrl"].(string), m
}

// approve walks the buyer through PayPal's approve page and returns where PayPal sent them.
func (w *ppWorld) approve(t *testing.T, approveURL string) *url.URL {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Get(approveURL + "&approve=1") // "Pay Now" on PayPal's page
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusFound, res.StatusCode)
	u, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return u
}

func (w *ppWorld) hook(t *testing.T, d paypalfake.Delivery) *apptest.Response {
	t.Helper()
	args := []string{}
	for k := range d.Header {
		args = append(args, k, d.Header.Get(k))
	}
	return apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/paypal/"+w.provider.ID, "", d.Body, args...)
}

func (w *ppWorld) waitStatus(t *testing.T, id string, want domain.TransactionStatus) *domain.Transaction {
	t.Helper()
	var txn *domain.Transaction
	require.Eventually(t, func() bool {
		var err error
		txn, err = w.s.GetTransaction(ctx, w.tn.Org.ID, id)
		return err == nil && txn.Status == want
	}, 15*time.Second, 20*time.Millisecond, "transaction %s never became %s", id, want)
	return txn
}

func ipnsOf(t *testing.T, m *wooMerchant, want ...float64) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Equal(m.statuses(), want) }, 15*time.Second, 20*time.Millisecond,
		"IPNs %v, want %v", m.statuses(), want)
}

// TestPayPalThroughTheAdminAPIRuntimeAndWebhooks drives PayPal payments through the Admin API,
// the runtime API (as the hosted page calls it) and PayPal's webhooks, on both databases: paid
// on the buyer's return (captured once, a later CHECKOUT.ORDER.APPROVED and a duplicate
// PAYMENT.CAPTURE.COMPLETED change nothing), paid by webhook before the return, declined,
// refunded in part then in full, disputed and lost; a webhook with a bad signature is refused;
// each paid checkout's merchant gets exactly one "succeeded" IPN.
func TestPayPalThroughTheAdminAPIRuntimeAndWebhooks(t *testing.T) {
	storetest.EachOwn(t, payPalThroughTheAdminAPIRuntimeAndWebhooks)
}

func payPalThroughTheAdminAPIRuntimeAndWebhooks(t *testing.T, s *store.Store) {
	w := newPPWorld(t, s)
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID+"/test", w.tn.TestKey, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON(t)["ok"], "the connection test obtains an OAuth token: %s", res.Body)
	const capture = "POST /v2/checkout/orders/{id}/capture"

	// Paid on the buyer's return: the page's status?sync=1 captures the approved order.
	id, order, approve, m := w.start(t, 2500)
	back := w.approve(t, approve)
	require.Equal(t, id, back.Query().Get(paypal.ParamTransaction))
	require.Equal(t, paypal.ReturnValue, back.Query().Get(paypal.ParamPayPal))
	res = apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	txn := w.waitStatus(t, id, domain.TxnSucceeded)
	capID := w.pp.Order(order).PurchaseUnits[0].Payments.Captures[0].ID
	require.Equal(t, capID, *txn.ProviderPaymentID)
	require.Equal(t, 1, w.pp.Calls(capture))
	ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded)

	t.Run("BadSignatureIsRefused", func(t *testing.T) {
		d := w.pp.Sign(w.pp.CaptureEvent("COMPLETED", capID))
		d.Header.Set(paypalfake.HeaderTransmissionSig, "AAAA"+d.Header.Get(paypalfake.HeaderTransmissionSig)[4:])
		require.Equal(t, http.StatusBadRequest, w.hook(t, d).Status)
	})
	// The webhooks of the same payment arrive afterwards, one of them twice: nothing changes.
	approved := w.pp.Sign(w.pp.OrderApproved(order))
	require.Equal(t, http.StatusOK, w.hook(t, approved).Status)
	completed := w.pp.Sign(w.pp.CaptureEvent("COMPLETED", capID))
	require.Equal(t, http.StatusOK, w.hook(t, completed).Status)
	dup := w.hook(t, completed)
	require.Equal(t, http.StatusOK, dup.Status)
	require.EqualValues(t, 0, dup.JSON(t)["new"], "a duplicate webhook is stored once")
	waitEventsApplied(t, w, 2)
	require.Equal(t, 1, w.pp.Calls(capture), "captured once")
	require.Equal(t, domain.TxnSucceeded, w.waitStatus(t, id, domain.TxnSucceeded).Status)
	ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded)

	// Refunds through the Admin API: part, then the rest; PayPal's REFUNDED event changes nothing.
	refunds := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"
	part := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 1000, "reason": "damaged"})
	require.Equal(t, http.StatusCreated, part.Status, string(part.Body))
	require.Equal(t, "succeeded", part.JSON(t)["status"])
	w.waitStatus(t, id, domain.TxnPartiallyRefunded)
	rest := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{})
	require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
	rv := rest.JSON(t)
	require.Equal(t, float64(1500), rv["amount"])
	txn = w.waitStatus(t, id, domain.TxnRefunded)
	require.EqualValues(t, 2500, txn.RefundedAmount)
	require.Equal(t, "REFUNDED", w.pp.CaptureEvent("X", capID).Resource.(paypalfake.Capture).Status)
	require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.RefundEvent("PAYMENT.CAPTURE.REFUNDED", rv["providerReference"].(string)))).Status)
	waitEventsApplied(t, w, 3)
	require.EqualValues(t, 2500, w.waitStatus(t, id, domain.TxnRefunded).RefundedAmount, "the refund is not counted twice")
	ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNRefunded)

	// Paid by webhook before the buyer is back: CHECKOUT.ORDER.APPROVED captures; the return
	// then captures nothing more.
	id2, order2, approve2, m2 := w.start(t, 990)
	w.approve(t, approve2)
	require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.OrderApproved(order2))).Status)
	w.waitStatus(t, id2, domain.TxnSucceeded)
	res = apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id2+"/status?sync=1", "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, 2, w.pp.Calls(capture), "one capture per order")
	ipnsOf(t, m2, domain.IPNInitiated, domain.IPNSucceeded)

	// Disputed, then lost.
	cap2 := w.pp.Order(order2).PurchaseUnits[0].Payments.Captures[0].ID
	d := w.pp.Dispute("PP-D-"+domain.RandomString(6), cap2, "OPEN", "")
	require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.DisputeEvent("CREATED", d))).Status)
	txn = w.waitStatus(t, id2, domain.TxnDisputed)
	d.Status, d.DisputeOutcome = "RESOLVED", &paypalfake.DisputeOutcome{OutcomeCode: "RESOLVED_BUYER_FAVOUR"}
	require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.DisputeEvent("RESOLVED", d))).Status)
	require.Eventually(t, func() bool {
		txn, _ = w.s.GetTransaction(ctx, w.tn.Org.ID, id2)
		return txn.DisputeStatus == "lost"
	}, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, domain.TxnDisputed, txn.Status)
	ipnsOf(t, m2, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNDisputed)

	// Declined at capture.
	w.pp.DeclineCaptures(true)
	id3, _, approve3, m3 := w.start(t, 700)
	w.approve(t, approve3)
	res = apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id3+"/status?sync=1", "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	txn = w.waitStatus(t, id3, domain.TxnFailed)
	require.Equal(t, "capture_declined", txn.FailureCode)
	ipnsOf(t, m3, domain.IPNInitiated, domain.IPNFailed)
}

// waitEventsApplied waits until the provider's stored events number at least n and none is
// waiting to be applied.
func waitEventsApplied(t *testing.T, w *ppWorld, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		evs, err := w.s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 100)
		if err != nil || len(evs) < n {
			return false
		}
		for _, e := range evs {
			if e.Status != domain.ProviderEventProcessed && !strings.HasPrefix(e.Status, domain.ProviderEventIgnored) {
				return false
			}
		}
		return true
	}, 15*time.Second, 20*time.Millisecond)
}
