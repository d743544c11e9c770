package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/fakepay"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// TestAFakeProviderIsOneRegistrationLine adds a provider the platform has never heard of —
// pkg/providers/fakepay, which touches nothing outside its own package — with one registration
// line, and drives a checkout through it end to end: its configuration is validated by its own
// fields and rules, the runtime API starts the payment with it (and mounts its route), its
// webhook is verified with its secret and answered its way, the stored event is applied as a
// typed outcome (the provider's charge id lands on the transaction), the merchant gets the
// IPNs, a refund it reports completes the transaction, and its reconciliation runs on the
// platform's loop. Nothing in pkg/app, hooks, runtimesrv or platform names it.
// Both databases: the schema lists no provider types (migration 0012), so no migration either.
func TestAFakeProviderIsOneRegistrationLine(t *testing.T) {
	storetest.EachOwn(t, aFakeProviderIsOneRegistrationLine)
}

func aFakeProviderIsOneRegistrationLine(t *testing.T, s *store.Store) {

	env := apptest.Start(t, s, apptest.Options{Workers: true,
		Providers:   providers.Registry{fakepay.Register()}, // the one registration line
		MainBackend: func(c *config.MainBackend) { c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond } }})
	tn := env.NewTenant(t)
	const secret = "fp_whsec_" + "e2e0123456789"
	env.Logs.Forbid(secret)
	name := "Fake"

	t.Run("ConfigurationIsCheckedByTheProvidersOwnRules", func(t *testing.T) {
		_, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: string(fakepay.Type), Mode: "test", Name: &name,
			Credentials: map[string]string{"webhookSecret": "whsec_not_ours"}})
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), "%v", err)
		_, err = env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: string(fakepay.Type), Mode: "test", Name: &name,
			Settings: map[string]string{"iban": "DE89370400440532013000"}, Credentials: map[string]string{"webhookSecret": secret}})
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), "a setting the provider does not declare: %v", err)
	})
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: string(fakepay.Type), Mode: "test", Name: &name,
		Settings: map[string]string{"label": "Fake pay"}, Credentials: map[string]string{"webhookSecret": secret}})
	require.NoError(t, err)
	ids := []string{p.ID, tn.Provider.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID})
	require.NoError(t, err)
	merchant := newWooMerchant(t, tn.SiteHook, 0)

	res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/providers/"+p.ID+"/test", tn.TestKey, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON(t)["ok"])

	res = apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/fakepay/ping", "", nil)
	require.Equal(t, http.StatusOK, res.Status, "the provider's own runtime route is mounted")
	require.Equal(t, "fakepay", res.JSON(t)["provider"])

	start := func(amount int64) (string, string) {
		co := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": amount, "currency": "EUR", "externalReference": "fp-" + domain.RandomString(6), "email": "buyer@example.com",
			"ipnUrl": merchant.srv.URL + "/ipn"}).JSON(t)
		res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": p.ID, "billingAddress": map[string]any{"country": "DE"}})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		b := res.JSON(t)
		require.Equal(t, "initiated", b["status"])
		id := b["transactionId"].(string)
		next := b["next"].(map[string]any)
		require.Equal(t, "redirect", next["type"])
		require.Equal(t, fakepay.PayURL+fakepay.Reference(id), next["redirectUrl"])
		return id, co["sessionPublicId"].(string)
	}
	hook := func(ev fakepay.Event, sig string) *apptest.Response {
		body, err := json.Marshal(ev)
		require.NoError(t, err)
		if sig == "" {
			sig = fakepay.Sign(body, secret)
		}
		return apptest.Do(t, http.MethodPost, env.MainURL+"/hooks/fakepay/"+p.ID, "", body, fakepay.SignatureHeader, sig)
	}
	waitStatus := func(id string, want domain.TransactionStatus) *domain.Transaction {
		var txn *domain.Transaction
		require.Eventually(t, func() bool {
			txn, err = s.GetTransaction(ctx, tn.Org.ID, id)
			return err == nil && txn.Status == want
		}, 15*time.Second, 20*time.Millisecond, "transaction %s never became %s", id, want)
		return txn
	}
	ipns := func(want ...float64) {
		require.Eventually(t, func() bool { return slices.Equal(merchant.statuses(), want) }, 15*time.Second, 20*time.Millisecond,
			"IPNs %v, want %v", merchant.statuses(), want)
	}

	id, _ := start(2500)
	txn, err := s.GetTransaction(ctx, tn.Org.ID, id)
	require.NoError(t, err)
	require.Equal(t, fakepay.Reference(id), *txn.ProviderReference)
	require.Equal(t, "Fake pay", txn.ProviderData["label"])
	ipns(domain.IPNInitiated)

	res = apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
	require.Equal(t, http.StatusOK, res.Status, "the status asks the provider (Syncer): %s", res.Body)

	paid := fakepay.Event{ID: "fpe_" + domain.RandomString(8), Type: "payment.succeeded", Payment: fakepay.Reference(id), Charge: "fpc_" + id,
		Created: time.Now().Unix()}
	require.Equal(t, http.StatusUnauthorized, hook(paid, "00").Status, "a bad signature is answered the provider's way")
	require.Equal(t, http.StatusOK, hook(paid, "").Status)
	txn = waitStatus(id, domain.TxnSucceeded)
	require.Equal(t, "fpc_"+id, *txn.ProviderPaymentID, "the typed outcome's payment id is recorded")
	ipns(domain.IPNInitiated, domain.IPNSucceeded)
	res = hook(paid, "")
	require.Equal(t, http.StatusOK, res.Status)
	require.EqualValues(t, 0, res.JSON(t)["new"], "a replayed event is stored once")

	refunded := fakepay.Event{ID: "fpe_" + domain.RandomString(8), Type: "payment.refunded", Payment: fakepay.Reference(id), Refund: "fpr_1", Amount: 2500,
		Created: time.Now().Unix()}
	require.Equal(t, http.StatusOK, hook(refunded, "").Status)
	txn = waitStatus(id, domain.TxnRefunded)
	require.EqualValues(t, 2500, txn.RefundedAmount)
	ipns(domain.IPNInitiated, domain.IPNSucceeded, domain.IPNRefunded)

	// A second attempt that declines: the failure code and message are the outcome's.
	id2, _ := start(900)
	failed := fakepay.Event{ID: "fpe_" + domain.RandomString(8), Type: "payment.failed", Payment: fakepay.Reference(id2), Created: time.Now().Unix()}
	require.Equal(t, http.StatusOK, hook(failed, "").Status)
	txn = waitStatus(id2, domain.TxnFailed)
	require.Equal(t, "fake_declined", txn.FailureCode)

	// Reconciliation takes the provider from the registry like every other.
	id3, _ := start(700)
	fp, err := env.Main.Services.Payment.Provider(fakepay.Type)
	require.NoError(t, err)
	n, err := fp.(providers.Syncer).Reconcile(ctx, 0)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1)
	require.GreaterOrEqual(t, fp.(*fakepay.Provider).Reconciled.Load(), int64(1))
	_ = id3
}
