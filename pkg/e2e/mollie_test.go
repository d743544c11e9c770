package e2e

import (
	"io"
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
	"paygate.dev/pkg/mollieapi/molliefake"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/mollie"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// mollieWorld is a running platform whose tenant's site offers Mollie (backed by molliefake,
// which calls the main backend's /hooks/mollie/<provider id> as Mollie does).
type mollieWorld struct {
	env       *apptest.Env
	tn        *apptest.Tenant
	fake      *molliefake.Server
	provider  *domain.Provider
	merchants map[string]*wooMerchant
}

func newMollieWorld(t *testing.T, s *store.Store) *mollieWorld {
	t.Helper()
	fake := molliefake.New(t)
	env := apptest.Start(t, s, apptest.Options{Workers: true, MollieAPIURL: fake.URL(), MainBackend: func(c *config.MainBackend) {
		c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
	}})
	env.Logs.Forbid(fake.TestKey())
	env.Logs.Forbid(fake.LiveKey())
	tn := env.NewTenant(t)
	name := "Mollie"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: string(mollie.Type), Mode: "test", Name: &name,
		Credentials: map[string]string{"apiKey": fake.TestKey()}})
	require.NoError(t, err)
	ids := []string{p.ID, tn.Provider.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID})
	require.NoError(t, err)
	return &mollieWorld{env: env, tn: tn, fake: fake, provider: p, merchants: map[string]*wooMerchant{}}
}

// start creates a checkout (Admin API) and its Mollie attempt (runtime API, with the short
// code as the hosted page sends it); it returns the transaction and Mollie's checkout URL.
func (w *mollieWorld) start(t *testing.T, amount int64, currency string) (string, string) {
	t.Helper()
	m := newWooMerchant(t, w.tn.SiteHook, 0)
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": amount, "currency": currency, "externalReference": "mo-" + domain.RandomString(6), "email": "buyer@example.com",
		"language": "nl", "ipnUrl": m.srv.URL + "/ipn"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	co := res.JSON(t)
	w.merchants[co["id"].(string)] = m
	res = apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "shortCode": co["shortCode"], "providerId": w.provider.ID,
		"billingAddress": map[string]any{"country": "NL"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	b := res.JSON(t)
	require.Equal(t, "initiated", b["status"])
	next := b["next"].(map[string]any)
	require.Equal(t, "redirect", next["type"])
	return b["transactionId"].(string), next["redirectUrl"].(string)
}

// decide is the buyer on Mollie's checkout: the fake calls the webhook, then sends the buyer
// back to the hosted page with the transaction.
func (w *mollieWorld) decide(t *testing.T, checkoutURL, action, txnID string) {
	t.Helper()
	page := apptest.Do(t, http.MethodGet, checkoutURL, "", nil)
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, string(page.Body), `id="mollie-pay"`)
	res := apptest.Do(t, http.MethodPost, checkoutURL+"/"+action, "", nil)
	require.Equal(t, http.StatusSeeOther, res.Status, string(res.Body))
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, txnID, back.Query().Get(mollie.ParamTransaction))
	require.Equal(t, mollie.ReturnValue, back.Query().Get(mollie.ParamMollie))
	require.True(t, strings.HasPrefix(back.Path, "/checkout/"), "back on the hosted page: %s", back)
}

func (w *mollieWorld) txn(t *testing.T, id string) *domain.Transaction {
	t.Helper()
	txn, err := w.env.Store.GetTransaction(ctx, w.tn.Org.ID, id)
	require.NoError(t, err)
	return txn
}

func (w *mollieWorld) waitStatus(t *testing.T, id string, want domain.TransactionStatus) *domain.Transaction {
	t.Helper()
	var txn *domain.Transaction
	require.Eventually(t, func() bool { txn = w.txn(t, id); return txn.Status == want }, 30*time.Second, 10*time.Millisecond,
		"waiting for %s", want)
	return txn
}

// settle waits until every stored Mollie event of the provider has been applied.
func (w *mollieWorld) settle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		evs, err := w.env.Store.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 1000)
		require.NoError(t, err)
		for _, e := range evs {
			if e.Status == domain.ProviderEventReceived {
				return false
			}
		}
		return true
	}, 30*time.Second, 10*time.Millisecond)
}

func (w *mollieWorld) events(t *testing.T) int {
	evs, err := w.env.Store.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 1000)
	require.NoError(t, err)
	return len(evs)
}

func (w *mollieWorld) ipns(t *testing.T, id string, want ...float64) {
	t.Helper()
	m := w.merchants[w.txn(t, id).CheckoutID]
	require.Eventually(t, func() bool { return slices.Equal(m.ipnStatusesFor(id), want) }, 20*time.Second, 20*time.Millisecond,
		"IPNs of %s: %v, want %v", id, m.ipnStatusesFor(id), want)
}

// hook posts a webhook call the way anybody can: Mollie's calls are not signed.
func (w *mollieWorld) hook(t *testing.T, body string) *apptest.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.env.MainURL+"/hooks/mollie/"+w.provider.ID, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	r := &apptest.Response{Status: res.StatusCode, Header: res.Header}
	r.Body, err = io.ReadAll(res.Body)
	require.NoError(t, err)
	return r
}

// TestMolliePaymentsThroughTheRuntimeAndWebhooks drives Mollie payments through the Admin
// API, the runtime API, Mollie's (fake) checkout and its webhook calls, on both databases:
// paid (one succeeded IPN, however often Mollie calls), failed, cancelled and expired; a
// refund in part then in full, settled by the payment's webhook; a chargeback that becomes
// a dispute lost at once (final unless reversed), won when reversed; and 5xx/429 answers retried with the same idempotency key.
func TestMolliePaymentsThroughTheRuntimeAndWebhooks(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newMollieWorld(t, s)

		res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID+"/test", w.tn.TestKey, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, true, res.JSON(t)["ok"], "the connection test lists Mollie's methods: %s", res.Body)

		// Paid: the webhook reports it, the return finds it already applied.
		w.fake.FailNext(http.StatusServiceUnavailable, http.StatusTooManyRequests)
		id, checkout := w.start(t, 1999, "EUR")
		pmID := w.txn(t, id).ProviderData[mollie.DataPayment].(string)
		pm, ok := w.fake.Payment(pmID)
		require.True(t, ok)
		require.Equal(t, 3, w.fake.Requests("POST /v2/payments"), "two failures retried, one payment made")
		require.Len(t, w.fake.PaymentsOf(id), 1)
		require.Equal(t, "19.99", pm.ValueText())
		require.Equal(t, w.env.MainURL+"/hooks/mollie/"+w.provider.ID, pm.WebhookURL)
		require.Equal(t, "nl_NL", pm.Locale)
		w.decide(t, checkout, "pay", id)
		txn := w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, pmID, *txn.ProviderPaymentID)
		res = apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, "succeeded", res.JSON(t)["status"])
		w.ipns(t, id, domain.IPNInitiated, domain.IPNSucceeded)

		// Mollie calls again with nothing new: stored once, applied once.
		before := w.events(t)
		code, err := w.fake.Webhook(ctx, pmID)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, before, w.events(t), "a call reporting nothing new is stored once")

		// Refund in part, then the rest; each settles when Mollie calls about the payment.
		refunds := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"
		part := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 500, "reason": "damaged"})
		require.Equal(t, http.StatusCreated, part.Status, string(part.Body))
		require.Equal(t, "pending", part.JSON(t)["status"])
		require.Regexp(t, `^re_`, part.JSON(t)["providerReference"])
		require.NoError(t, w.fake.SettleRefunds(ctx, pmID))
		txn = w.waitStatus(t, id, domain.TxnPartiallyRefunded)
		require.EqualValues(t, 500, txn.RefundedAmount)
		rest := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
		require.EqualValues(t, 1499, rest.JSON(t)["amount"])
		require.NoError(t, w.fake.SettleRefunds(ctx, pmID))
		txn = w.waitStatus(t, id, domain.TxnRefunded)
		require.EqualValues(t, 1999, txn.RefundedAmount)
		after, _ := w.fake.Payment(pmID)
		require.Len(t, after.Refunds, 2, "each refund made once")
		w.ipns(t, id, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNRefunded)

		// A refund Mollie fails is failed here too; the transaction keeps its money.
		id4, checkout4 := w.start(t, 1000, "EUR")
		w.decide(t, checkout4, "pay", id4)
		w.waitStatus(t, id4, domain.TxnSucceeded)
		w.fake.FailRefunds(true)
		bad := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+id4+"/refunds", w.tn.TestKey, map[string]any{"amount": 300})
		require.Equal(t, http.StatusCreated, bad.Status, string(bad.Body))
		require.NoError(t, w.fake.SettleRefunds(ctx, w.txn(t, id4).ProviderData[mollie.DataPayment].(string)))
		w.fake.FailRefunds(false)
		require.Eventually(t, func() bool {
			r, err := w.env.Store.GetRefund(ctx, w.tn.Org.ID, bad.JSON(t)["id"].(string))
			return err == nil && r.Status == domain.RefundFailed
		}, 20*time.Second, 10*time.Millisecond)
		require.Equal(t, domain.TxnSucceeded, w.txn(t, id4).Status)

		// A chargeback becomes a dispute, lost at once: Mollie lists a chargeback once the bank
		// accepted it and the money is taken back; it is final unless reversed (reversedAt).
		// Reversed, the dispute is won and the payment stands again.
		id5, checkout5 := w.start(t, 4200, "EUR")
		w.decide(t, checkout5, "pay", id5)
		w.waitStatus(t, id5, domain.TxnSucceeded)
		pm5 := w.txn(t, id5).ProviderData[mollie.DataPayment].(string)
		_, err = w.fake.Chargeback(ctx, pm5, 4200)
		require.NoError(t, err)
		txn = w.waitStatus(t, id5, domain.TxnDisputed)
		require.Equal(t, "lost", txn.DisputeStatus, "a Mollie chargeback is final unless reversed")
		w.ipns(t, id5, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNDisputed)
		require.NoError(t, w.fake.ReverseChargeback(ctx, pm5))
		txn = w.waitStatus(t, id5, domain.TxnSucceeded)
		require.Equal(t, "won", txn.DisputeStatus, "reversed, the chargeback is a dispute won")

		// Failed, cancelled and expired at Mollie.
		for _, tc := range []struct {
			action string
			want   domain.TransactionStatus
			code   string
			ipn    float64
		}{{"fail", domain.TxnFailed, "card_declined", domain.IPNFailed}, {"cancel", domain.TxnCanceled, "payment_canceled", domain.IPNCancelled},
			{"expire", domain.TxnCanceled, "payment_expired", domain.IPNCancelled}} {
			idx, co := w.start(t, 700, "EUR")
			w.decide(t, co, tc.action, idx)
			txn := w.waitStatus(t, idx, tc.want)
			require.Equal(t, tc.code, txn.FailureCode, tc.action)
			w.ipns(t, idx, domain.IPNInitiated, tc.ipn)
		}

		// Currencies without decimals are sent exactly.
		idj, _ := w.start(t, 1500, "JPY")
		pj, _ := w.fake.Payment(w.txn(t, idj).ProviderData[mollie.DataPayment].(string))
		require.Equal(t, "1500", pj.ValueText())
		w.settle(t)
	})
}

// TestAForgedMollieWebhookChangesNothing: Mollie's webhook calls are not signed, so anybody
// can post id=tr_…; the body is only a hint. A made-up id stores nothing; the id of a real
// payment that is still open makes the platform read it, and it stays what Mollie says; the
// id of another organisation's (or another mode's) payment is not found with this key; a
// body that is no call at all is refused. Both databases.
func TestAForgedMollieWebhookChangesNothing(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newMollieWorld(t, s)
		id, _ := w.start(t, 2500, "EUR")
		pmID := w.txn(t, id).ProviderData[mollie.DataPayment].(string)

		res := w.hook(t, "id=tr_madeUp123")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, 0, w.events(t), "an id Mollie does not know stores nothing")

		res = w.hook(t, "id="+pmID)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		w.settle(t)
		require.Equal(t, domain.TxnInitiated, w.txn(t, id).Status, "Mollie says the payment is open: nothing changes")
		w.ipns(t, id, domain.IPNInitiated)

		// The live key's payment is not this test-mode provider's.
		live := molliefakeLivePayment(t, w)
		res = w.hook(t, "id="+live)
		require.Equal(t, http.StatusOK, res.Status)
		for _, body := range []string{"", "id=", "id=pi_123", "{\"id\":\"tr_x\"}", "id=tr_" + strings.Repeat("a", 80)} {
			require.Equal(t, http.StatusBadRequest, w.hook(t, body).Status, "%q", body)
		}

		// Paid for real, then a forged call about it: nothing but a re-read.
		require.NoError(t, w.fake.SetStatus(ctx, pmID, "paid"))
		w.waitStatus(t, id, domain.TxnSucceeded)
		n := w.events(t)
		require.Equal(t, http.StatusOK, w.hook(t, "id="+pmID).Status)
		require.Equal(t, n, w.events(t))
		w.ipns(t, id, domain.IPNInitiated, domain.IPNSucceeded)
	})
}

func molliefakeLivePayment(t *testing.T, w *mollieWorld) string {
	t.Helper()
	res := apptest.Do(t, http.MethodPost, w.fake.URL()+"/v2/payments", "", nil)
	require.Equal(t, http.StatusUnauthorized, res.Status, "the fake wants a key")
	id, err := w.fake.CreateWith(ctx, w.fake.LiveKey(), 100, "EUR")
	require.NoError(t, err)
	return id
}

// TestMollieKeysMatchTheMode: a live_ key is refused for a test-mode provider and a test_
// key for a live one; the key is never shown back.
func TestMollieKeysMatchTheMode(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newMollieWorld(t, s)
		name := "Mollie live"
		_, err := w.env.Services().Tenancy.CreateProvider(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.ProviderInput{Type: string(mollie.Type), Mode: "test", Name: &name,
			Credentials: map[string]string{"apiKey": w.fake.LiveKey()}})
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), "%v", err)
		_, err = w.env.Services().Tenancy.CreateProvider(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.ProviderInput{Type: string(mollie.Type), Mode: "live", Name: &name,
			Credentials: map[string]string{"apiKey": w.fake.TestKey()}})
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), "%v", err)
		p, err := w.env.Services().Tenancy.CreateProvider(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.ProviderInput{Type: string(mollie.Type), Mode: "live", Name: &name,
			Credentials: map[string]string{"apiKey": w.fake.LiveKey()}})
		require.NoError(t, err)
		res := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/providers/"+p.ID, w.tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.NotContains(t, string(res.Body), w.fake.LiveKey())
		mo, err := w.env.Main.Services.Payment.Provider(mollie.Type)
		require.NoError(t, err)
		_, isSyncer := mo.(providers.Syncer)
		require.True(t, isSyncer)
	})
}
