package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

const gcHookSecret = "gc_webhook_secret_paygate_e2e_0123456789"

// gcWorld is a running platform whose tenant's site offers GoCardless (backed by gcfake, which
// delivers its webhooks to the main backend) and notifies a WooCommerce-like merchant.
type gcWorld struct {
	env      *apptest.Env
	tn       *apptest.Tenant
	gc       *gcfake.Server
	provider *domain.Provider
	// merchants are the shops notified, one per checkout: a v2 receiver keeps one order's
	// event versions, which restart with every attempt's transaction.
	merchants map[string]*wooMerchant
}

func newGCWorld(t *testing.T, s *store.Store, opts ...gcfake.Option) *gcWorld {
	t.Helper()
	gc := gcfake.New(t, append([]gcfake.Option{gcfake.WithCreditorName("Shop Ltd")}, opts...)...)
	env := apptest.Start(t, s, apptest.Options{Workers: true, GoCardlessAPIURL: gc.URL(), MainBackend: func(c *config.MainBackend) {
		c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
	}})
	tn := env.NewTenant(t)
	name := "Bank payment"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, gcProviderInput(name, gc.AccessToken()))
	require.NoError(t, err)
	ids := []string{p.ID, tn.Provider.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, gcSiteProviders(ids, p.ID))
	require.NoError(t, err)
	gc.SetWebhook(env.MainURL+"/hooks/gocardless/"+p.ID, gcHookSecret)
	return &gcWorld{env: env, tn: tn, gc: gc, provider: p, merchants: map[string]*wooMerchant{}}
}

// checkout creates a checkout through the Admin API and returns its JSON.
func (w *gcWorld) checkout(t *testing.T, amount int64, currency string) map[string]any {
	t.Helper()
	m := newWooMerchant(t, w.tn.SiteHook, 0)
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": amount, "currency": currency, "externalReference": "gc-" + domain.RandomString(6), "email": "buyer@example.com",
		"language": "de", "ipnUrl": m.srv.URL + "/ipn"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	co := res.JSON(t)
	w.merchants[co["id"].(string)] = m
	return co
}

var gcBuyer = map[string]any{"name": "Ada Lovelace", "email": "ada@example.com", "line1": "1 High Street", "city": "London", "postalCode": "N1 9GU", "country": "GB"}

// billingRequest is the hosted page's POST /api/v1/billing-requests/create. Like the page it
// sends the short code, without which the flow does not return to the page.
func (w *gcWorld) billingRequest(t *testing.T, co map[string]any, extra ...string) *apptest.Response {
	t.Helper()
	body := map[string]any{"sessionPublicId": co["sessionPublicId"], "shortCode": co["shortCode"], "providerId": w.provider.ID, "billingAddress": gcBuyer}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/billing-requests/create", "", body)
}

// start creates a checkout and its GoCardless attempt; it returns the transaction id and the
// authorisation URL.
func (w *gcWorld) start(t *testing.T, amount int64) (string, string) {
	t.Helper()
	res := w.billingRequest(t, w.checkout(t, amount, "GBP"))
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	b := res.JSON(t)
	return b["transactionId"].(string), b["authorisationUrl"].(string)
}

// authorise does what the buyer does on GoCardless's page: it shows the payment and #gc-pay,
// and paying redirects back to the hosted page.
func (w *gcWorld) authorise(t *testing.T, authURL string) *url.URL {
	t.Helper()
	page := apptest.Do(t, http.MethodGet, authURL, "", nil)
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, string(page.Body), `id="gc-pay"`)
	require.Contains(t, string(page.Body), `id="gc-exit"`)
	res := apptest.Do(t, http.MethodPost, authURL+"/pay", "", nil)
	require.Equal(t, http.StatusSeeOther, res.Status, string(res.Body))
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return back
}

// pay starts an attempt, authorises it and comes back as the page does (mark-pending), without
// delivering GoCardless's webhooks; it returns the transaction id and the payment id.
func (w *gcWorld) pay(t *testing.T, amount int64) (string, string) {
	t.Helper()
	id, authURL := w.start(t, amount)
	w.authorise(t, authURL)
	w.markPending(t, id)
	br, ok := w.gc.BillingRequest(w.txn(t, id).ProviderData[gocardless.DataBillingRequest].(string))
	require.True(t, ok)
	require.NotEmpty(t, br.Links.PaymentRequestPayment)
	return id, br.Links.PaymentRequestPayment
}

func (w *gcWorld) markPending(t *testing.T, id string) {
	t.Helper()
	res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id+"/mark-pending", "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "pending_provider", res.JSON(t)["status"])
}

// deliver sends the fake's pending events as one signed batch; the main backend answers 204.
func (w *gcWorld) deliver(t *testing.T) {
	t.Helper()
	ds, err := w.gc.DeliverEvents(ctx)
	require.NoError(t, err)
	for _, d := range ds {
		require.Equal(t, http.StatusNoContent, d.StatusCode)
	}
	w.settle(t)
}

// simulate runs a scenario simulator and delivers its events.
func (w *gcWorld) simulate(t *testing.T, scenario, id string) {
	t.Helper()
	require.NoError(t, w.gc.Simulate(ctx, scenario, id))
	w.deliver(t)
}

// settle waits until every stored GoCardless event of the provider has been applied.
func (w *gcWorld) settle(t *testing.T) {
	t.Helper()
	var stuck []string
	require.Eventually(t, func() bool {
		evs, err := w.env.Store.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 1000)
		require.NoError(t, err)
		stuck = nil
		for _, e := range evs {
			if e.Status == domain.ProviderEventReceived {
				stuck = append(stuck, e.Type+" "+e.ExternalID+": "+e.Error)
			}
		}
		return len(stuck) == 0
	}, 30*time.Second, 10*time.Millisecond, "provider events still being applied: %q", &stuck)
}

func (w *gcWorld) post(t *testing.T, body []byte, sig string) int {
	t.Helper()
	code, err := w.gc.PostWebhook(ctx, body, sig)
	require.NoError(t, err)
	return code
}

func (w *gcWorld) txn(t *testing.T, id string) *domain.Transaction {
	t.Helper()
	txn, err := w.env.Store.GetTransaction(ctx, w.tn.Org.ID, id)
	require.NoError(t, err)
	return txn
}

func (w *gcWorld) status(t *testing.T, id string) domain.TransactionStatus {
	return w.txn(t, id).Status
}

func (w *gcWorld) waitStatus(t *testing.T, id string, want domain.TransactionStatus) {
	t.Helper()
	require.Eventually(t, func() bool { return w.status(t, id) == want }, 30*time.Second, 10*time.Millisecond, "waiting for %s (now %s)", want, w.status(t, id))
}

// ipnFor returns the statuses the transaction's merchant accepted for it, in order.
func (w *gcWorld) ipnFor(t *testing.T, id string) []float64 {
	m := w.merchants[w.txn(t, id).CheckoutID]
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []float64
	for _, p := range m.accepted {
		if p["id"] == id {
			out = append(out, p["status"].(float64))
		}
	}
	return out
}

// waitIPNsFor waits until the merchant accepted exactly these statuses for a transaction.
func (w *gcWorld) waitIPNsFor(t *testing.T, id string, want ...float64) {
	t.Helper()
	require.Eventually(t, func() bool { return slices.Equal(w.ipnFor(t, id), want) }, 30*time.Second, 10*time.Millisecond,
		"merchant accepted %v for %s, want %v", w.ipnFor(t, id), id, want)
}

// eventsFor returns the fake's events about one resource, oldest first.
func (w *gcWorld) eventsFor(link, id string) []gcfake.Event {
	var out []gcfake.Event
	for _, e := range w.gc.Events() {
		if e.Links[link] == id {
			out = append(out, e)
		}
	}
	return out
}

func TestGoCardlessPagesSpeakThePagesLanguage(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		for _, c := range []struct{ sent, want string }{
			{"fr", "fr"},       // the buyer switched the page to French; the checkout says German
			{"", "de"},         // an older page: the checkout's language
			{"<script>", "de"}, // not a language tag: ignored
			{"ja", "de"},       // GoCardless has no Japanese pages: the checkout's language
		} {
			res := w.billingRequest(t, w.checkout(t, 1500, "GBP"), "language", c.sent)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			flow, ok := w.gc.BillingRequestFlow(path.Base(res.JSON(t)["authorisationUrl"].(string)))
			require.True(t, ok)
			require.Equal(t, c.want, flow.Language, "sent %q", c.sent)
		}
	})
}

func TestGoCardlessPaysEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		co := w.checkout(t, 2499, "GBP")
		page := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil).JSON(t)
		var offered []string
		for _, p := range page["providers"].([]any) {
			offered = append(offered, p.(map[string]any)["type"].(string))
		}
		require.Contains(t, offered, "gocardless")

		res := w.billingRequest(t, co)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		b := res.JSON(t)
		id, authURL := b["transactionId"].(string), b["authorisationUrl"].(string)
		require.True(t, strings.HasPrefix(authURL, w.gc.URL()+"/flow/BRF"), authURL)

		txn := w.txn(t, id)
		require.Equal(t, domain.TxnInitiated, txn.Status)
		require.Equal(t, domain.ProviderGoCardless, txn.ProviderType)
		brID := *txn.ProviderReference
		br, ok := w.gc.BillingRequest(brID)
		require.True(t, ok)
		require.Equal(t, txn.GrossAmount, br.PaymentRequest.Amount, "the authoritative gross amount")
		require.Equal(t, "GBP", br.PaymentRequest.Currency)
		require.Equal(t, map[string]string{"transaction_id": id, "checkout_id": txn.CheckoutID}, br.Metadata)
		flow, ok := w.gc.BillingRequestFlow(path.Base(authURL))
		require.True(t, ok)
		pageURL := co["paymentUrl"].(string)
		require.Equal(t, pageURL+"?transaction="+id+"&gocardless=return", flow.RedirectURI)
		require.Equal(t, pageURL+"?transaction="+id+"&gocardless=exit", flow.ExitURI)
		require.Equal(t, "de", flow.Language)
		require.Equal(t, "Ada", flow.PrefilledCustomer.GivenName)
		require.Equal(t, "Lovelace", flow.PrefilledCustomer.FamilyName)
		require.Equal(t, "GB", flow.PrefilledCustomer.CountryCode)
		require.Equal(t, map[string]any{"billingRequest": brID, "flow": flow.ID, "authorisationUrl": authURL,
			"flowExpiresAt": flow.ExpiresAt.UTC().Format(time.RFC3339), "flowReturnsToPage": true}, txn.ProviderData)

		t.Run("ReloadResumesTheSameFlow", func(t *testing.T) {
			again := w.billingRequest(t, co, "transactionId", id)
			require.Equal(t, http.StatusOK, again.Status, string(again.Body))
			require.Equal(t, map[string]any{"transactionId": id, "authorisationUrl": authURL}, again.JSON(t))
		})

		back := w.authorise(t, authURL)
		require.Equal(t, pageURL, back.Scheme+"://"+back.Host+back.Path)
		require.Equal(t, id, back.Query().Get("transaction"))
		require.Equal(t, "return", back.Query().Get("gocardless"))
		w.markPending(t, id)

		w.deliver(t) // billing_requests.fulfilled, payments.created ...
		txn = w.txn(t, id)
		require.Equal(t, domain.TxnPendingProvider, txn.Status)
		require.NotNil(t, txn.ProviderPaymentID, "the fulfilled billing request linked its payment")
		pm := *txn.ProviderPaymentID
		require.Equal(t, br.ID, txn.ProviderData["billingRequest"])
		require.Equal(t, pm, txn.ProviderData["payment"])
		require.NotEmpty(t, txn.ProviderData["chargeDate"])

		w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
		w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		w.waitIPNsFor(t, id, -1, 0, 1)

		st := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil).JSON(t)
		require.Equal(t, "succeeded", st["status"])
		require.Equal(t, "completed", st["checkoutStatus"])

		deliveries := w.gc.Deliveries()
		require.NotEmpty(t, deliveries)
		for _, d := range deliveries {
			require.Equal(t, http.StatusNoContent, d.StatusCode, "GoCardless deliveries are answered 204")
		}
	})
}

func TestGoCardlessTransactionsCreateAnswersARedirect(t *testing.T) {
	s := storetest.Own(t, store.SQLite)
	w := newGCWorld(t, s)
	co := w.checkout(t, 1200, "EUR")
	res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "providerId": w.provider.ID, "billingAddress": map[string]any{"country": "FR", "name": "Jean Dupont"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	b := res.JSON(t)
	require.Equal(t, "initiated", b["status"])
	require.Equal(t, "gocardless", b["providerType"])
	next := b["next"].(map[string]any)
	require.Equal(t, "redirect", next["type"])
	require.True(t, strings.HasPrefix(next["redirectUrl"].(string), w.gc.URL()+"/flow/"), next["redirectUrl"])
	br, _ := w.gc.BillingRequest(*w.txn(t, b["transactionId"].(string)).ProviderReference)
	require.Equal(t, "EUR", br.PaymentRequest.Currency)
	require.Equal(t, b["amount"], float64(br.PaymentRequest.Amount))

	// The page side of the same attempt (same buyer, so the same taxed amount) can continue
	// with billing-requests/create.
	again := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/billing-requests/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "shortCode": co["shortCode"], "providerId": w.provider.ID,
		"transactionId": b["transactionId"], "billingAddress": map[string]any{"country": "FR", "name": "Jean Dupont"}})
	require.Equal(t, http.StatusOK, again.Status, string(again.Body))
	require.Equal(t, b["transactionId"], again.JSON(t)["transactionId"])
}

func TestGoCardlessReturnSyncsWithoutWebhooks(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		id, authURL := w.start(t, 3100)
		w.authorise(t, authURL)
		// No webhook has arrived: the page asks for a synchronous look at GoCardless.
		st := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
		require.Equal(t, http.StatusOK, st.Status, string(st.Body))
		require.Equal(t, "pending_provider", st.JSON(t)["status"])
		txn := w.txn(t, id)
		require.NotNil(t, txn.ProviderPaymentID, "the payment is linked on return")

		require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, *txn.ProviderPaymentID))
		st = apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
		require.Equal(t, "succeeded", st.JSON(t)["status"])
		w.waitIPNsFor(t, id, -1, 0, 1)

		// The webhooks arriving late change nothing.
		w.deliver(t)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.pending_provider"))
	})
}

func TestGoCardlessExitCancelsAndAllowsANewAttempt(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		co := w.checkout(t, 4500, "GBP")
		first := w.billingRequest(t, co).JSON(t)
		id, authURL := first["transactionId"].(string), first["authorisationUrl"].(string)

		// The buyer leaves GoCardless's page: back to ours with gocardless=exit.
		res := apptest.Do(t, http.MethodGet, authURL+"/exit", "", nil)
		require.Equal(t, http.StatusSeeOther, res.Status)
		back, err := url.Parse(res.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, "exit", back.Query().Get("gocardless"))
		require.Equal(t, id, back.Query().Get("transaction"))

		cancel := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id+"/cancel", "", nil)
		require.Equal(t, http.StatusOK, cancel.Status, string(cancel.Body))
		require.Equal(t, "canceled", cancel.JSON(t)["status"])
		require.Equal(t, "open", cancel.JSON(t)["checkoutStatus"], "the buyer may choose another method")

		// The abandoned billing request is cancelled at GoCardless, so its page cannot take money.
		brID := *w.txn(t, id).ProviderReference
		require.Eventually(t, func() bool { br, _ := w.gc.BillingRequest(brID); return br.Status == "cancelled" }, 30*time.Second, 10*time.Millisecond)
		require.NotEqual(t, http.StatusSeeOther, apptest.Do(t, http.MethodPost, authURL+"/pay", "", nil).Status)
		require.Len(t, w.gc.RequestsTo(http.MethodPost, "/billing_requests/"+brID+"/actions/cancel"), 1)

		// GoCardless reports the cancellation: acknowledged, nothing changes.
		w.deliver(t)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.canceled"))

		second := w.billingRequest(t, co, "transactionId", id)
		require.Equal(t, http.StatusOK, second.Status, string(second.Body))
		id2 := second.JSON(t)["transactionId"].(string)
		require.NotEqual(t, id, id2, "a new attempt")
		require.NotEqual(t, brID, *w.txn(t, id2).ProviderReference)
		w.authorise(t, second.JSON(t)["authorisationUrl"].(string))
		w.markPending(t, id2)
		w.deliver(t)
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, *w.txn(t, id2).ProviderPaymentID)
		w.waitStatus(t, id2, domain.TxnSucceeded)
		w.waitIPNsFor(t, id, -1, -2)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id2, "transaction.succeeded"))
	})
}

func TestGoCardlessSignedWebhooks(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		id, pm := w.pay(t, 2499)
		require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, pm))
		body, sig := w.gc.WebhookBatch(w.gc.PendingEvents()...)

		t.Run("BadSignatureIs498", func(t *testing.T) {
			require.Equal(t, 498, w.post(t, body, gcapi.SignWebhook(body, "another_secret")))
			require.Equal(t, 498, w.post(t, body, ""))
			require.Equal(t, 498, w.post(t, body, "not-hex"))
			tampered := []byte(strings.Replace(string(body), pm, pm[:len(pm)-1]+"X", 1))
			require.Equal(t, 498, w.post(t, tampered, sig))
			require.Equal(t, 498, w.post(t, body, gcapi.SignWebhook(body, gcHookSecret+"x")))
			require.Equal(t, domain.TxnPendingProvider, w.status(t, id), "nothing applied")
			evs, err := s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 100)
			require.NoError(t, err)
			require.Empty(t, evs, "nothing stored")
			m, err := w.env.Main.Metrics.Gather()
			require.NoError(t, err)
			require.GreaterOrEqual(t, m["paygate_webhook_verification_failures_total{provider=gocardless}"], float64(5))
		})
		t.Run("UnknownProviderIs404", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/gocardless/prov_nope", "", body, "Webhook-Signature", sig)
			require.Equal(t, http.StatusNotFound, res.Status)
			res = apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/gocardless/"+w.tn.Provider.ID, "", body, "Webhook-Signature", sig)
			require.Equal(t, http.StatusNotFound, res.Status, "a wire-transfer provider takes no GoCardless webhooks")
		})
		t.Run("SignedGarbageIs400", func(t *testing.T) {
			junk := []byte(`["not", "a", "batch"]`)
			require.Equal(t, http.StatusBadRequest, w.post(t, junk, gcapi.SignWebhook(junk, gcHookSecret)))
		})
		t.Run("SameBatchThreeTimesConcurrentlyAppliesOnce", func(t *testing.T) {
			var wg sync.WaitGroup
			codes := make([]int, 3)
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes[i], _ = w.gc.PostWebhook(ctx, body, sig)
				}()
			}
			wg.Wait()
			require.Equal(t, []int{204, 204, 204}, codes)
			w.settle(t)
			w.waitStatus(t, id, domain.TxnSucceeded)
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
			var batch struct {
				Events []json.RawMessage `json:"events"`
			}
			require.NoError(t, json.Unmarshal(body, &batch))
			evs, err := s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 100)
			require.NoError(t, err)
			require.Len(t, evs, len(batch.Events), "each event stored once")
			for _, e := range evs {
				require.NotEqual(t, domain.ProviderEventReceived, e.Status)
				require.Empty(t, e.Error)
			}
			txn := w.txn(t, id)
			require.Equal(t, pm, *txn.ProviderPaymentID)
		})
		t.Run("ReplayedLaterIsAcknowledgedNotApplied", func(t *testing.T) {
			require.Equal(t, http.StatusNoContent, w.post(t, body, sig))
			w.settle(t)
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		})
		t.Run("UnknownEventsAreAcknowledged", func(t *testing.T) {
			other, osig := w.gc.WebhookBatch(gcfake.Event{ResourceType: "payouts", Action: "paid", Links: map[string]string{"payout": "PO123"}},
				gcfake.Event{ResourceType: "creditors", Action: "updated", Links: map[string]string{"creditor": "CR123"}},
				gcfake.Event{ResourceType: "payments", Action: "confirmed", Links: map[string]string{"payment": "PM_NOT_OURS"}})
			require.Equal(t, http.StatusNoContent, w.post(t, other, osig))
			w.settle(t)
			evs, err := s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 3)
			require.NoError(t, err)
			for _, e := range evs {
				require.Equal(t, domain.ProviderEventIgnored, e.Status, e.Type)
			}
		})
		w.waitIPNsFor(t, id, -1, 0, 1)
	})
}

func TestGoCardlessOutOfOrderEvents(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)

		t.Run("PaidOutBeforeConfirmed", func(t *testing.T) {
			id, pm := w.pay(t, 1000)
			require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioPaymentPaidOut, pm))
			evs := w.gc.PendingEvents()
			slices.Reverse(evs) // paid_out, confirmed, submitted, ..., fulfilled
			body, sig := w.gc.WebhookBatch(evs...)
			require.Equal(t, http.StatusNoContent, w.post(t, body, sig))
			w.settle(t)
			w.waitStatus(t, id, domain.TxnSucceeded)
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
			w.waitIPNsFor(t, id, -1, 0, 1)
			w.deliver(t) // the same events again, as GoCardless's own batch: duplicates
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		})

		t.Run("FailedAfterConfirmed", func(t *testing.T) {
			id, pm := w.pay(t, 2000)
			w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
			w.waitStatus(t, id, domain.TxnSucceeded)
			confirmed := w.eventsFor("payment", pm)

			w.simulate(t, gcfake.ScenarioPaymentFailed, pm) // a late failure: Direct Debit allows it
			w.waitStatus(t, id, domain.TxnFailed)
			txn := w.txn(t, id)
			require.Equal(t, "insufficient_funds", txn.FailureCode, "the failure's cause")
			require.Contains(t, txn.FailureMessage, "insufficient funds")

			// A confirmation arriving after the failure (resent under new event ids) never
			// undoes it: the payment reads failed.
			for i := range confirmed {
				confirmed[i].ID = ""
			}
			body, sig := w.gc.WebhookBatch(confirmed...)
			require.Equal(t, http.StatusNoContent, w.post(t, body, sig))
			w.settle(t)
			require.Equal(t, domain.TxnFailed, w.status(t, id))
			w.waitIPNsFor(t, id, -1, 0, 1, 2)
		})

		t.Run("CancelledBeforeConfirmation", func(t *testing.T) {
			id, pm := w.pay(t, 2100)
			w.simulate(t, gcfake.ScenarioPaymentCancelled, pm)
			w.waitStatus(t, id, domain.TxnCanceled)
			w.waitIPNsFor(t, id, -1, 0, -2)
		})

		t.Run("FulfilledAndFailedInOneBatch", func(t *testing.T) {
			id, authURL := w.start(t, 2200)
			brID := *w.txn(t, id).ProviderReference
			require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilledAndPaymentFailed, brID))
			page := apptest.Do(t, http.MethodGet, authURL, "", nil)
			require.NotContains(t, string(page.Body), `id="gc-pay"`, "nothing left to pay")
			w.deliver(t)
			w.waitStatus(t, id, domain.TxnFailed)
			w.waitIPNsFor(t, id, -1, 2)
		})

		t.Run("ChargedBackIsDisputed", func(t *testing.T) {
			id, pm := w.pay(t, 2300)
			w.simulate(t, gcfake.ScenarioPaymentChargedBack, pm)
			w.waitStatus(t, id, domain.TxnDisputed)
			txn := w.txn(t, id)
			require.Equal(t, "open", txn.DisputeStatus)
			w.waitIPNsFor(t, id, -1, 0, 1, 4)
			evs, err := s.ListTransactionEvents(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			last := evs[len(evs)-1]
			require.Equal(t, "transaction.disputed", last.Type)
			require.Equal(t, pm, last.Data["disputeId"])
			require.Equal(t, "open", last.Data["disputeStatus"])
		})

		t.Run("MandateFailureFailsAPendingPayment", func(t *testing.T) {
			id, pm := w.pay(t, 2400)
			w.deliver(t)
			p, _ := w.gc.Payment(pm)
			body, sig := w.gc.WebhookBatch(gcfake.Event{ResourceType: "mandates", Action: "failed", Links: map[string]string{"mandate": p.Links["mandate"]},
				Details:          gcfake.EventDetails{Origin: "bank", Cause: "invalid_bank_details", Description: "The bank account does not exist.", ReasonCode: "ADDACS-B"},
				ResourceMetadata: map[string]string{"transaction_id": id}})
			require.Equal(t, http.StatusNoContent, w.post(t, body, sig))
			w.settle(t)
			txn := w.txn(t, id)
			require.Equal(t, domain.TxnFailed, txn.Status)
			require.Equal(t, "mandate_failed", txn.FailureCode)
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "mandate.failed"), "recorded on the timeline")
			w.waitIPNsFor(t, id, -1, 0, 2)
		})
	})
}

func TestGoCardlessRefunds(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		id, pm := w.pay(t, 10000)
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
		w.waitStatus(t, id, domain.TxnSucceeded)
		gross := w.txn(t, id).GrossAmount
		refunds := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"

		part := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 2500, "reason": "damaged"})
		require.Equal(t, http.StatusCreated, part.Status, string(part.Body))
		pv := part.JSON(t)
		require.Regexp(t, `^RF`, pv["providerReference"])
		require.Equal(t, "pending", pv["status"], "pending until GoCardless pays it")
		w.deliver(t) // refunds.created
		require.Equal(t, domain.TxnSucceeded, w.status(t, id))

		w.simulate(t, gcfake.ScenarioRefundPaid, pv["providerReference"].(string))
		w.waitStatus(t, id, domain.TxnPartiallyRefunded)
		require.Equal(t, int64(2500), w.txn(t, id).RefundedAmount)

		over := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": gross - 2500 + 1})
		require.Equal(t, http.StatusUnprocessableEntity, over.Status)
		require.Equal(t, "REFUND_EXCEEDS_BALANCE", over.JSON(t)["code"])

		rest := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
		rv := rest.JSON(t)
		require.Equal(t, float64(gross-2500), rv["amount"])
		w.deliver(t)
		w.simulate(t, gcfake.ScenarioRefundPaid, rv["providerReference"].(string))
		w.waitStatus(t, id, domain.TxnRefunded)
		require.Equal(t, gross, w.txn(t, id).RefundedAmount)

		var totals, amounts []float64
		for _, r := range w.gc.RequestsTo(http.MethodPost, "/refunds") {
			var b map[string]map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &b))
			totals = append(totals, b["refunds"]["total_amount_confirmation"].(float64))
			amounts = append(amounts, b["refunds"]["amount"].(float64))
		}
		require.Equal(t, []float64{2500, float64(gross - 2500)}, amounts)
		require.Equal(t, []float64{2500, float64(gross)}, totals, "total_amount_confirmation is the running total")
		w.waitIPNsFor(t, id, -1, 0, 1, 3)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.refunded"))

		t.Run("DashboardRefundsAndGoCardlessRefusals", func(t *testing.T) {
			id2, pm2 := w.pay(t, 5000)
			w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm2)
			w.waitStatus(t, id2, domain.TxnSucceeded)
			// Someone refunds 500 in GoCardless's dashboard; its webhook has not arrived yet.
			cl, err := gcapi.New(gcapi.Config{AccessToken: w.gc.AccessToken(), Environment: "sandbox", BaseURL: w.gc.URL()})
			require.NoError(t, err)
			dash, err := cl.CreateRefund(ctx, gcapi.RefundCreate{Amount: 500, TotalAmountConfirmation: 500, PaymentID: pm2}, "")
			require.NoError(t, err)

			// Our total no longer matches GoCardless's: it refuses, and the API says so clearly.
			refunds2 := w.env.AdminURL + "/api/v1/transactions/" + id2 + "/refunds"
			refused := apptest.Do(t, http.MethodPost, refunds2, w.tn.TestKey, map[string]any{"amount": 1000})
			require.Equal(t, http.StatusUnprocessableEntity, refused.Status, string(refused.Body))
			e := refused.JSON(t)
			require.Equal(t, "PROVIDER_ERROR", e["code"])
			require.Contains(t, e["message"], "total_amount_confirmation")
			require.NotEmpty(t, e["requestId"])

			// The dashboard refund is reported and recorded once; then ours adds up.
			w.deliver(t)
			w.simulate(t, gcfake.ScenarioRefundPaid, dash.ID)
			w.waitStatus(t, id2, domain.TxnPartiallyRefunded)
			require.Equal(t, int64(500), w.txn(t, id2).RefundedAmount)
			ok := apptest.Do(t, http.MethodPost, refunds2, w.tn.TestKey, map[string]any{"amount": 1000})
			require.Equal(t, http.StatusCreated, ok.Status, string(ok.Body))
			reqs := w.gc.RequestsTo(http.MethodPost, "/refunds")
			var last map[string]map[string]any
			require.NoError(t, json.Unmarshal(reqs[len(reqs)-1].Body, &last))
			require.Equal(t, float64(1500), last["refunds"]["total_amount_confirmation"])

			// That refund bounces: our row fails and the money stays with the merchant.
			w.simulate(t, gcfake.ScenarioRefundBounced, ok.JSON(t)["providerReference"].(string))
			list := apptest.Do(t, http.MethodGet, refunds2, w.tn.TestKey, nil).JSON(t)["data"].([]any)
			byStatus := map[string]int{}
			for _, r := range list {
				byStatus[r.(map[string]any)["status"].(string)]++
			}
			require.Equal(t, map[string]int{"failed": 2, "succeeded": 1}, byStatus, "the refused one, the bounced one, the dashboard one")
			require.Equal(t, int64(500), w.txn(t, id2).RefundedAmount)
			require.Equal(t, domain.TxnPartiallyRefunded, w.status(t, id2))
		})
		t.Run("GivenUpOnButMadeAtGoCardless", func(t *testing.T) {
			id3, pm3 := w.pay(t, 3000)
			w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm3)
			w.waitStatus(t, id3, domain.TxnSucceeded)
			// The refund is made but its answer is lost, and GoCardless is unavailable for
			// every retry: the API reports the outage and records the refund as failed.
			// (net/http may itself replay a request carrying an Idempotency-Key once after a dropped
			// connection, so one failure more than the client's attempts; the rest is drained.)
			before := len(w.gc.Requests())
			w.gc.FailNext(1, gcfake.FailLostResponse)
			w.gc.FailNext(4, gcfake.FailUnavailable)
			res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+id3+"/refunds", w.tn.TestKey, map[string]any{"amount": 700})
			injected := 0
			for _, r := range w.gc.Requests()[before:] {
				if r.Injected != "" {
					injected++
				}
			}
			drain, err := gcapi.New(gcapi.Config{AccessToken: w.gc.AccessToken(), Environment: "sandbox", BaseURL: w.gc.URL(), MaxAttempts: 1})
			require.NoError(t, err)
			for ; injected < 5; injected++ {
				_, err := drain.ListCreditors(ctx, 1)
				require.Error(t, err)
			}
			require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
			require.Equal(t, "PROVIDER_ERROR", res.JSON(t)["code"])
			p, _ := w.gc.Payment(pm3)
			require.Equal(t, int64(700), p.AmountRefunded, "GoCardless made it")

			// GoCardless's webhooks bring it back; paid, it counts.
			w.deliver(t)
			var rfID string
			for _, e := range w.gc.Events() {
				if e.ResourceType == "refunds" && e.Links["payment"] == pm3 {
					rfID = e.Links["refund"]
				}
			}
			w.simulate(t, gcfake.ScenarioRefundPaid, rfID)
			w.waitStatus(t, id3, domain.TxnPartiallyRefunded)
			require.Equal(t, int64(700), w.txn(t, id3).RefundedAmount)
			list := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/transactions/"+id3+"/refunds", w.tn.TestKey, nil).JSON(t)["data"].([]any)
			require.Len(t, list, 1, "the same refund, not a second one")
			require.Equal(t, "succeeded", list[0].(map[string]any)["status"])
			require.Equal(t, rfID, list[0].(map[string]any)["providerReference"])
		})
	})
}

func TestGoCardlessReconciliationFindsALostWebhook(t *testing.T) {
	s := storetest.Own(t, store.Postgres)
	w := newGCWorld(t, s)
	id, pm := w.pay(t, 990)
	w.deliver(t) // fulfilment: the payment and its charge date are linked
	require.NotEmpty(t, w.txn(t, id).ProviderData["chargeDate"])
	require.NoError(t, w.gc.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, pm))
	// The confirmation's webhook never arrives; the attempt is old enough to reconcile.
	require.NoError(t, s.ExecAdmin(ctx, "UPDATE transactions SET updated_at = '2020-01-01 00:00:00' WHERE id = '"+id+"'"))
	gp := gcProcessor(t, w)

	// Its charge date (today) is not past the grace period yet: left alone.
	n, err := gp.Reconcile(ctx, time.Minute)
	require.NoError(t, err)
	require.Zero(t, n, "charge date not passed by the grace period: GoCardless is not asked")
	require.Equal(t, domain.TxnPendingProvider, w.status(t, id))

	gp.ChargeGrace = time.Nanosecond // as if the charge date were long past
	// ... and the last look (the run above) long ago.
	require.NoError(t, s.ExecAdmin(ctx, "UPDATE transactions SET updated_at = '2020-01-01 00:00:00', reconciled_at = '2020-01-01 00:00:00' WHERE id = '"+id+"'"))
	n, err = gp.Reconcile(ctx, time.Minute)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	require.Equal(t, domain.TxnSucceeded, w.status(t, id))
}

func TestGoCardlessReconciliationEndsAbandonedAttempts(t *testing.T) {
	s := storetest.Own(t, store.SQLite)
	w := newGCWorld(t, s)
	id, _ := w.start(t, 1500)
	txn := w.txn(t, id)
	// The buyer never came back and the checkout expired.
	require.NoError(t, s.ExecAdmin(ctx, "UPDATE checkouts SET expires_at = '2020-01-01 00:00:00' WHERE id = '"+txn.CheckoutID+"'"))
	require.NoError(t, s.ExecAdmin(ctx, "UPDATE transactions SET updated_at = '2020-01-01 00:00:00' WHERE id = '"+id+"'"))
	n, err := gcProcessor(t, w).Reconcile(ctx, time.Minute)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	txn = w.txn(t, id)
	require.Equal(t, domain.TxnCanceled, txn.Status)
	require.Equal(t, "abandoned", txn.FailureCode)
	br, _ := w.gc.BillingRequest(*txn.ProviderReference)
	require.Equal(t, "cancelled", br.Status)
}

func TestGoCardlessProviderProblemsThroughTheAPI(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)

		t.Run("TransientFailuresAreRetried", func(t *testing.T) {
			for _, kind := range []gcfake.FailureKind{gcfake.FailInternalError, gcfake.FailBadGatewayHTML, gcfake.FailRateLimited, gcfake.FailConnectionReset} {
				w.gc.FailNext(1, kind)
				res := w.billingRequest(t, w.checkout(t, 700, "GBP"))
				require.Equal(t, http.StatusOK, res.Status, "%s: %s", kind, res.Body)
			}
		})
		t.Run("AnOutageIs503AndTheNextTryWorks", func(t *testing.T) {
			co := w.checkout(t, 800, "GBP")
			w.gc.FailNext(4, gcfake.FailBadGatewayHTML)
			res := w.billingRequest(t, co)
			require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
			e := res.JSON(t)
			require.Equal(t, "PROVIDER_ERROR", e["code"])
			require.NotEmpty(t, e["message"])
			require.NotContains(t, e["message"], "<html", "no upstream HTML in our answers")
			require.NotEmpty(t, e["requestId"])
			res = w.billingRequest(t, co)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
		t.Run("CurrencyGoCardlessCannotCollect", func(t *testing.T) {
			co := w.checkout(t, 5000, "JPY")
			page := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil).JSON(t)
			for _, p := range page["providers"].([]any) {
				require.NotEqual(t, "gocardless", p.(map[string]any)["type"], "not offered for JPY")
			}
			res := w.billingRequest(t, co)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			require.Equal(t, "PROVIDER_NOT_AVAILABLE", res.JSON(t)["code"])
		})
		t.Run("OnlyForGoCardlessProviders", func(t *testing.T) {
			co := w.checkout(t, 900, "GBP")
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/billing-requests/create", "", map[string]any{
				"sessionPublicId": co["sessionPublicId"], "providerId": w.tn.Provider.ID})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			res = apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/billing-requests/create", "", map[string]any{"providerId": w.provider.ID})
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			other := w.checkout(t, 900, "GBP")
			foreign := w.billingRequest(t, other).JSON(t)["transactionId"].(string)
			res = w.billingRequest(t, co, "transactionId", foreign)
			require.Equal(t, http.StatusNotFound, res.Status, "another checkout's transaction")
		})
		t.Run("ConnectionTest", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID+"/test", w.tn.TestKey, nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, true, res.JSON(t)["ok"])
			require.NotEmpty(t, w.gc.RequestsTo(http.MethodGet, "/creditors"))

			name := "Wrong token"
			bad, err := w.env.Services().Tenancy.CreateProvider(ctx, w.tn.Admin, w.tn.Org.ID, gcProviderInput(name, "sandbox_revoked_token"))
			require.NoError(t, err)
			res = apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/providers/"+bad.ID+"/test", w.tn.TestKey, nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, false, res.JSON(t)["ok"])
			require.Contains(t, res.JSON(t)["message"], "GoCardless rejected the access token")
		})
	})
}

func gcProviderInput(name, token string) tenancy.ProviderInput {
	return tenancy.ProviderInput{Type: "gocardless", Mode: "test", Name: &name, Settings: map[string]string{"environment": "sandbox"},
		Credentials: map[string]string{"accessToken": token, "webhookSecret": gcHookSecret}}
}

func gcSiteProviders(ids []string, defaultID string) tenancy.SiteInput {
	return tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &defaultID}
}

// gcProcessor is a copy of the main backend's GoCardless provider (a test may tune its copy).
func gcProcessor(t *testing.T, w *gcWorld) *gocardless.Provider {
	t.Helper()
	p, err := w.env.Main.Services.Payment.Provider(domain.ProviderGoCardless)
	require.NoError(t, err)
	cp := *p.(*gocardless.Provider)
	return &cp
}
