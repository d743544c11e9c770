package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/tenancy"
)

const stripeHookSecret = "whsec_test_paygate_e2e_secret"

// stripeWorld is a running platform whose tenant's site offers Stripe (backed by stripe-mock
// through the overlay) and notifies a WooCommerce-like merchant.
type stripeWorld struct {
	env      *apptest.Env
	tn       *apptest.Tenant
	stripe   *stripemock.Overlay
	provider *domain.Provider
	merchant *wooMerchant
}

func newStripeWorld(t *testing.T, s *store.Store) *stripeWorld {
	t.Helper()
	ov := stripemock.StartOverlay(t)
	env := apptest.Start(t, s, apptest.Options{Workers: true, StripeAPIURL: ov.URL, MainBackend: func(c *config.MainBackend) {
		c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
	}})
	tn := env.NewTenant(t)
	name := "Cards"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: &name,
		Settings:    map[string]string{"publishableKey": "pk_test_paygate"},
		Credentials: map[string]string{"secretKey": "sk_test_51PaygateE2Etest0123456789", "webhookSecret": stripeHookSecret}})
	require.NoError(t, err)
	ids := []string{p.ID, tn.Provider.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID})
	require.NoError(t, err)
	return &stripeWorld{env: env, tn: tn, stripe: ov, provider: p, merchant: newWooMerchant(t, tn.SiteHook, 0)}
}

// pay creates a checkout and a Stripe transaction on the hosted page's runtime API; it returns
// the transaction id and its PaymentIntent id.
func (w *stripeWorld) pay(t *testing.T, amount int64) (string, string) {
	t.Helper()
	co := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": amount, "currency": "EUR", "externalReference": "st-" + domain.RandomString(6), "email": "buyer@example.com",
		"ipnUrl": w.merchant.srv.URL + "/ipn"}).JSON(t)
	res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "providerId": w.provider.ID, "billingAddress": map[string]any{"country": "DE", "email": "buyer@example.com"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	b := res.JSON(t)
	require.Equal(t, "initiated", b["status"])
	next := b["next"].(map[string]any)
	require.Equal(t, "stripe", next["type"])
	st := next["stripe"].(map[string]any)
	require.NotEmpty(t, st["clientSecret"])
	require.Equal(t, "pk_test_paygate", st["publishableKey"])
	id := b["transactionId"].(string)
	txn, err := w.env.Store.GetTransaction(ctx, w.tn.Org.ID, id)
	require.NoError(t, err)
	require.NotNil(t, txn.ProviderReference)
	return id, *txn.ProviderReference
}

func (w *stripeWorld) hook(t *testing.T, payload []byte, sig string) *apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/stripe/"+w.provider.ID, "", payload, "Stripe-Signature", sig)
}

func piObject(piID, txnID, status string, amount int64) map[string]any {
	o := map[string]any{"id": piID, "object": "payment_intent", "status": status, "amount": amount, "currency": "eur",
		"latest_charge": "ch_" + piID[3:], "metadata": map[string]string{"transaction_id": txnID}}
	if status == "requires_payment_method" {
		o["last_payment_error"] = map[string]any{"code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
	}
	return o
}

func (w *stripeWorld) status(t *testing.T, id string) domain.TransactionStatus {
	t.Helper()
	txn, err := w.env.Store.GetTransaction(ctx, w.tn.Org.ID, id)
	require.NoError(t, err)
	return txn.Status
}

func (w *stripeWorld) waitStatus(t *testing.T, id string, want domain.TransactionStatus) {
	t.Helper()
	require.Eventually(t, func() bool { return w.status(t, id) == want }, 15*time.Second, 20*time.Millisecond, "waiting for %s (now %s)", want, w.status(t, id))
}

func countEvents(t *testing.T, s *store.Store, orgID, txnID, typ string) int {
	t.Helper()
	evs, err := s.ListTransactionEvents(ctx, orgID, txnID)
	require.NoError(t, err)
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestStripeSignedWebhooks(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		id, pi := w.pay(t, 2499)
		succeeded := stripemock.Event("evt_succ_"+domain.RandomString(8), "payment_intent.succeeded", piObject(pi, id, "succeeded", 2499))

		t.Run("BadSignatureIs400", func(t *testing.T) {
			res := w.hook(t, succeeded, stripemock.Sign(succeeded, "whsec_wrong", 0))
			require.Equal(t, http.StatusBadRequest, res.Status)
			tampered := bytes.Replace(succeeded, []byte(`2499`), []byte(`1`), 1)
			require.Equal(t, http.StatusBadRequest, w.hook(t, tampered, stripemock.Sign(succeeded, stripeHookSecret, 0)).Status)
			require.Equal(t, http.StatusBadRequest, w.hook(t, succeeded, "").Status)
			old := time.Now().Add(-10 * time.Minute).Unix()
			require.Equal(t, http.StatusBadRequest, w.hook(t, succeeded, stripemock.Sign(succeeded, stripeHookSecret, old)).Status, "outside the 300 s tolerance")
			require.Equal(t, domain.TxnInitiated, w.status(t, id), "nothing applied")
			m, err := w.env.Main.Metrics.Gather()
			require.NoError(t, err)
			require.GreaterOrEqual(t, m["paygate_webhook_verification_failures_total{provider=stripe}"], float64(4))
		})
		t.Run("UnknownProviderIs404", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/stripe/prov_nope", "", succeeded, "Stripe-Signature", stripemock.Sign(succeeded, stripeHookSecret, 0))
			require.Equal(t, http.StatusNotFound, res.Status)
		})
		t.Run("SameDeliveryThreeTimesConcurrentlyAppliesOnce", func(t *testing.T) {
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					require.Equal(t, http.StatusOK, w.hook(t, succeeded, stripemock.Sign(succeeded, stripeHookSecret, 0)).Status)
				}()
			}
			wg.Wait()
			w.waitStatus(t, id, domain.TxnSucceeded)
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
			co, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			require.Equal(t, "ch_"+pi[3:], *co.ProviderPaymentID)
		})
		t.Run("ReplayedLaterIsAcknowledgedNotApplied", func(t *testing.T) {
			res := w.hook(t, succeeded, stripemock.Sign(succeeded, stripeHookSecret, 0))
			require.Equal(t, http.StatusOK, res.Status)
			require.EqualValues(t, 0, res.JSON(t)["new"])
		})
		t.Run("OutOfOrderFailureAfterSuccessIsIgnored", func(t *testing.T) {
			failed := stripemock.Event("evt_fail_"+domain.RandomString(8), "payment_intent.payment_failed", piObject(pi, id, "requires_payment_method", 2499))
			require.Equal(t, http.StatusOK, w.hook(t, failed, stripemock.Sign(failed, stripeHookSecret, 0)).Status)
			time.Sleep(300 * time.Millisecond)
			require.Equal(t, domain.TxnSucceeded, w.status(t, id))
		})
		t.Run("UnknownTypeIs200AndIgnored", func(t *testing.T) {
			other := stripemock.Event("evt_other_"+domain.RandomString(8), "customer.created", map[string]any{"id": "cus_1", "object": "customer"})
			require.Equal(t, http.StatusOK, w.hook(t, other, stripemock.Sign(other, stripeHookSecret, 0)).Status)
		})
		require.Eventually(t, func() bool { return len(w.merchant.statuses()) == 2 }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, []float64{-1, 1}, w.merchant.statuses(), "one IPN per status")

		t.Run("FailedPaymentKeepsTheCheckoutOpen", func(t *testing.T) {
			id2, pi2 := w.pay(t, 1500)
			failed := stripemock.Event("evt_f2_"+domain.RandomString(8), "payment_intent.payment_failed", piObject(pi2, id2, "requires_payment_method", 1500))
			require.Equal(t, http.StatusOK, w.hook(t, failed, stripemock.Sign(failed, stripeHookSecret, 0)).Status)
			w.waitStatus(t, id2, domain.TxnFailed)
			txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id2)
			require.NoError(t, err)
			require.Equal(t, "insufficient_funds", txn.FailureCode)
			c, err := s.GetCheckout(ctx, w.tn.Org.ID, txn.CheckoutID)
			require.NoError(t, err)
			require.Equal(t, domain.CheckoutOpen, c.Status, "another attempt is possible")
		})
	})
}

func TestStripeReturnAndWebhookRace(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		id, pi := w.pay(t, 4200)
		// The buyer paid at Stripe: the PaymentIntent now reads succeeded.
		w.stripe.SetPaymentIntent(pi, "succeeded", "ch_race", 4200, "EUR")
		ev := stripemock.Event("evt_race_"+domain.RandomString(8), "payment_intent.succeeded", piObject(pi, id, "succeeded", 4200))
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
			}()
			go func() {
				defer wg.Done()
				w.hook(t, ev, stripemock.Sign(ev, stripeHookSecret, 0))
			}()
		}
		wg.Wait()
		w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"), "exactly one succeeded transition")
		require.Eventually(t, func() bool { return len(w.merchant.statuses()) == 2 }, 10*time.Second, 20*time.Millisecond)
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, []float64{-1, 1}, w.merchant.statuses(), "one IPN per status")
	})
}

func TestStripeReconciliationFindsALostWebhook(t *testing.T) {
	s := storetest.Own(t, store.Postgres)
	w := newStripeWorld(t, s)
	id, pi := w.pay(t, 990)
	w.stripe.SetPaymentIntent(pi, "succeeded", "ch_lost", 990, "EUR")
	// No webhook ever arrives; the attempt is old enough to reconcile.
	require.NoError(t, s.ExecAdmin(ctx, "UPDATE transactions SET updated_at = '2020-01-01 00:00:00' WHERE id = '"+id+"'"))
	sp := stripeProcessor(t, w)
	n, err := sp.Reconcile(ctx, time.Minute)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	require.Equal(t, domain.TxnSucceeded, w.status(t, id))
}

func TestStripeRefundsAndDisputes(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		id, pi := w.pay(t, 10000)
		ok := stripemock.Event("evt_ok_"+domain.RandomString(8), "payment_intent.succeeded", piObject(pi, id, "succeeded", 10000))
		require.Equal(t, http.StatusOK, w.hook(t, ok, stripemock.Sign(ok, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id, domain.TxnSucceeded)

		refunds := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"
		part := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 2500, "reason": "requested_by_customer"})
		require.Equal(t, http.StatusCreated, part.Status, string(part.Body))
		pv := part.JSON(t)
		require.Regexp(t, `^re_`, pv["providerReference"])
		require.Equal(t, false, pv["manual"])
		w.waitStatus(t, id, domain.TxnPartiallyRefunded)

		// Stripe then reports the same refund; it is not counted twice.
		ref := pv["providerReference"].(string)
		charge := map[string]any{"id": "ch_" + pi[3:], "object": "charge", "payment_intent": pi, "amount": 10000, "amount_refunded": 2500,
			"refunds": map[string]any{"object": "list", "data": []map[string]any{{"id": ref, "object": "refund", "amount": 2500, "status": "succeeded",
				"payment_intent": pi, "metadata": map[string]string{"refund_id": pv["id"].(string)}}}}}
		ev := stripemock.Event("evt_rf_"+domain.RandomString(8), "charge.refunded", charge)
		require.Equal(t, http.StatusOK, w.hook(t, ev, stripemock.Sign(ev, stripeHookSecret, 0)).Status)
		time.Sleep(300 * time.Millisecond)
		txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, int64(2500), txn.RefundedAmount)

		over := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 7501})
		require.Equal(t, http.StatusUnprocessableEntity, over.Status)
		rest := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
		w.waitStatus(t, id, domain.TxnRefunded)
		require.Eventually(t, func() bool { return len(w.merchant.statuses()) == 3 }, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, []float64{-1, 1, 3}, w.merchant.statuses(), "IPN 3 when fully refunded, none for the partial refund")

		// A refund made in Stripe's dashboard is recorded too.
		id2, pi2 := w.pay(t, 5000)
		ok2 := stripemock.Event("evt_ok2_"+domain.RandomString(8), "payment_intent.succeeded", piObject(pi2, id2, "succeeded", 5000))
		require.Equal(t, http.StatusOK, w.hook(t, ok2, stripemock.Sign(ok2, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id2, domain.TxnSucceeded)
		dash := stripemock.Event("evt_dash_"+domain.RandomString(8), "charge.refunded", map[string]any{"id": "ch_" + pi2[3:], "object": "charge", "payment_intent": pi2,
			"refunds": map[string]any{"object": "list", "data": []map[string]any{{"id": "re_dashboard1", "object": "refund", "amount": 1000, "status": "succeeded", "payment_intent": pi2}}}})
		require.Equal(t, http.StatusOK, w.hook(t, dash, stripemock.Sign(dash, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id2, domain.TxnPartiallyRefunded)

		// Disputes: opened → disputed (IPN 4), won → succeeded again (IPN 1).
		dispute := map[string]any{"id": "dp_1", "object": "dispute", "charge": "ch_" + pi2[3:], "payment_intent": pi2, "amount": 4000, "status": "needs_response", "reason": "fraudulent"}
		dc := stripemock.Event("evt_dc_"+domain.RandomString(8), "charge.dispute.created", dispute)
		require.Equal(t, http.StatusOK, w.hook(t, dc, stripemock.Sign(dc, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id2, domain.TxnDisputed)
		dispute["status"] = "won"
		dw := stripemock.Event("evt_dw_"+domain.RandomString(8), "charge.dispute.closed", dispute)
		require.Equal(t, http.StatusOK, w.hook(t, dw, stripemock.Sign(dw, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id2, domain.TxnSucceeded)
		txn2, err := s.GetTransaction(ctx, w.tn.Org.ID, id2)
		require.NoError(t, err)
		require.Equal(t, "won", txn2.DisputeStatus)
	})
}

func TestStripeConnectionTestAndCSP(t *testing.T) {
	s := storetest.Own(t, store.SQLite)
	w := newStripeWorld(t, s)
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID+"/test", w.tn.TestKey, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON(t)["ok"])

	co := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": 100, "currency": "EUR", "externalReference": "csp"}).JSON(t)
	page := apptest.Do(t, http.MethodGet, co["paymentUrl"].(string), "", nil)
	require.Equal(t, http.StatusOK, page.Status)
	csp := page.Header.Get("Content-Security-Policy")
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		if strings.HasPrefix(d, "script-src") {
			require.Equal(t, "script-src 'self' https://js.stripe.com", d, "scripts only from self and exactly Stripe's origin")
		}
	}
	require.Contains(t, csp, "frame-src https://js.stripe.com")
}
