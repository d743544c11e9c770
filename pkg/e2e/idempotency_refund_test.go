package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/tenancy"
)

// A refund whose Stripe call outlives the Idempotency-Key claim's lease (here 2 s; 60 s in
// production) is never sent twice: the claim is renewed while the call runs, so a retry with
// the key after the first lease ran out is 409 IDEMPOTENCY_KEY_IN_FLIGHT, and once the call
// returns the retry gets its answer. Stripe sees one refund, the transaction has one.
func TestASlowRefundOutlivesTheClaimsLeaseWithoutADuplicate(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ov := stripemock.StartOverlay(t)
		target, err := url.Parse(ov.URL)
		require.NoError(t, err)
		proxy := httputil.NewSingleHostReverseProxy(target)
		var refundCalls atomic.Int32
		entered, release := make(chan struct{}), make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Path == "/v1/refunds" && refundCalls.Add(1) == 1 {
				close(entered)
				<-release // the provider takes its time
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(slow.Close)
		var once sync.Once
		letGo := func() { once.Do(func() { close(release) }) }
		t.Cleanup(letGo) // runs before slow.Close, which waits for the held call
		const lease = 2 * time.Second
		env := apptest.Start(t, s, apptest.Options{Workers: true, StripeAPIURL: slow.URL,
			AdminBackend: func(c *config.AdminBackend) { c.IdempotencyLease = lease }})
		tn := env.NewTenant(t)
		name := "Cards"
		p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: &name,
			Settings:    map[string]string{"publishableKey": "pk_test_paygate"},
			Credentials: map[string]string{"secretKey": "sk_test_51PaygateE2Etest0123456789", "webhookSecret": stripeHookSecret}})
		require.NoError(t, err)
		ids := []string{p.ID, tn.Provider.ID}
		_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID})
		require.NoError(t, err)
		w := &stripeWorld{env: env, tn: tn, stripe: ov, provider: p, merchant: newWooMerchant(t, tn.SiteHook, 0)}
		id, pi := w.pay(t, 10000)
		ok := stripemock.Event("evt_ok_"+domain.RandomString(8), "payment_intent.succeeded", piObject(pi, id, "succeeded", 10000))
		require.Equal(t, http.StatusOK, w.hook(t, ok, stripemock.Sign(ok, stripeHookSecret, 0)).Status)
		w.waitStatus(t, id, domain.TxnSucceeded)

		refunds := env.AdminURL + "/api/v1/transactions/" + id + "/refunds"
		body := map[string]any{"amount": 2500, "reason": "requested_by_customer"}
		key := "refund-" + domain.RandomString(8)
		first := make(chan *apptest.Response, 1)
		go func() { first <- apptest.Do(t, http.MethodPost, refunds, tn.TestKey, body, "Idempotency-Key", key) }()
		<-entered

		_, keyID, _, parsed := auth.ParseToken(tn.TestKey)
		require.True(t, parsed)
		scoped := adminapi.IdempotencyScope(domain.Actor{Type: domain.ActorAPIKey, ID: keyID}, key)
		rec, err := s.GetIdempotency(ctx, tn.Org.ID, scoped)
		require.NoError(t, err)
		require.NotNil(t, rec)
		require.NotNil(t, rec.LockedUntil)
		claimedUntil := *rec.LockedUntil
		// The event to wait for: the first lease ran out and the holder renewed the claim past it.
		require.Eventually(t, func() bool {
			rec, err := s.GetIdempotency(ctx, tn.Org.ID, scoped)
			return err == nil && rec != nil && time.Now().After(claimedUntil) && rec.LockedUntil != nil && rec.LockedUntil.After(time.Now())
		}, 25*time.Second, 20*time.Millisecond, "the claim was not renewed past its first lease")

		dup := apptest.Do(t, http.MethodPost, refunds, tn.TestKey, body, "Idempotency-Key", key)
		require.Equal(t, http.StatusConflict, dup.Status, string(dup.Body))
		require.Equal(t, domain.CodeIdempotencyInFlight, dup.JSON(t)["code"])

		letGo()
		res := <-first
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		again := apptest.Do(t, http.MethodPost, refunds, tn.TestKey, body, "Idempotency-Key", key)
		require.Equal(t, http.StatusCreated, again.Status, string(again.Body))
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		require.Equal(t, res.Body, again.Body)

		require.EqualValues(t, 1, refundCalls.Load(), "Stripe was asked for one refund")
		list, err := s.ListRefunds(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		require.Len(t, list, 1)
	})
}
