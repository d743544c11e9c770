package paypal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/paypal"
	"paygate.dev/pkg/providers/paypal/paypalfake"
)

var ctx = context.Background()

func noSleep(context.Context, time.Duration) error { return nil }

type world struct {
	pp  *paypalfake.Fake
	a   *paypal.Provider
	req providers.StartRequest
}

func newWorld(t *testing.T, gross int64, currency string) *world {
	t.Helper()
	f := paypalfake.New(t)
	p := &domain.Provider{ID: "prov_pp", Type: paypal.Type, Mode: domain.ModeTest}
	c := &domain.Checkout{ID: "chk_" + domain.RandomString(8), ExternalReference: "order-77", Currency: currency}
	txn := &domain.Transaction{ID: "txn_" + domain.RandomString(10), CheckoutID: c.ID, GrossAmount: gross, Currency: currency, Status: domain.TxnInitiated,
		ProviderType: paypal.Type}
	return &world{pp: f, a: &paypal.Provider{Config: paypal.Config{APIURL: f.URL, Sleep: noSleep}}, req: providers.StartRequest{
		Provider: p, Credentials: map[string]string{"clientId": f.ClientID, "clientSecret": f.ClientSecret, "webhookId": f.WebhookID},
		Checkout: c, Transaction: txn, Site: &domain.Site{Name: "Shop"}, PageURL: "https://pay.example.com/checkout/abc"}}
}

func (w *world) start(t *testing.T) *providers.StartResult {
	t.Helper()
	res, err := w.a.Start(ctx, w.req)
	require.NoError(t, err)
	ref := res.ProviderReference
	w.req.Transaction.ProviderReference = &ref
	b, err := json.Marshal(res.ProviderData)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &w.req.Transaction.ProviderData))
	return res
}

func TestStartCreatesOneOrderForTheExactAmountAndSendsTheBuyerToApprove(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 2499, "EUR")
	res := w.start(t)
	require.Equal(t, domain.TxnInitiated, res.Status)
	require.Equal(t, "redirect", res.Next.Type)
	o := w.pp.Order(res.ProviderReference)
	require.NotNil(t, o)
	require.Equal(t, "24.99", o.PurchaseUnits[0].Amount.Value, "minor units to PayPal's decimal string exactly")
	require.Equal(t, "EUR", o.PurchaseUnits[0].Amount.CurrencyCode)
	require.Equal(t, w.req.Transaction.ID, o.PurchaseUnits[0].CustomID)
	require.Equal(t, w.pp.URL+"/checkoutnow?token="+o.ID, res.Next.RedirectURL)

	again, err := w.a.Start(ctx, w.req)
	require.NoError(t, err)
	require.Equal(t, res.ProviderReference, again.ProviderReference, "a retried start is the same order (PayPal-Request-Id)")
	require.Equal(t, 1, w.pp.Calls("POST /v2/checkout/orders"))

	// A currency without decimals is sent without them.
	w2 := newWorld(t, 1500, "JPY")
	res2 := w2.start(t)
	require.Equal(t, "1500", w2.pp.Order(res2.ProviderReference).PurchaseUnits[0].Amount.Value)
}

func TestTheApprovePageReturnsToTheHostedPageOnlyForTheShortCodesHolder(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1000, "EUR")
	res := w.start(t)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := cl.Get(res.Next.RedirectURL + "&approve=1")
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, http.StatusFound, r.StatusCode)
	u, err := url.Parse(r.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "pay.example.com", u.Host)
	require.Equal(t, "return", u.Query().Get("paypal"))
	require.Equal(t, w.req.Transaction.ID, u.Query().Get("transaction"))

	r, err = cl.Get(res.Next.RedirectURL + "&cancel=1")
	require.NoError(t, err)
	r.Body.Close()
	require.Equal(t, "https://pay.example.com/checkout/abc?paypal=cancel&token="+res.ProviderReference, r.Header.Get("Location"),
		"cancelling returns to the payment methods, not to a check of the attempt")

	// Resumed without the short code: refused, its approve link leads to the page.
	bare := w.req
	bare.PageURL = ""
	_, err = w.a.Resume(ctx, bare)
	require.True(t, domain.IsConflict(err), "%v", err)
}

func TestResumeSendsTheBuyerBackWhileTheOrderWaits(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1000, "EUR")
	res := w.start(t)
	again, err := w.a.Resume(ctx, w.req)
	require.NoError(t, err)
	require.Equal(t, res.Next.RedirectURL, again.Next.RedirectURL)
	require.Equal(t, 1, w.pp.Calls("POST /v2/checkout/orders"))
}

func TestRefundSendsTheExactAmountOnceAndMapsItsStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 3000, "EUR")
	res := w.start(t)
	require.NoError(t, w.pp.Approve(res.ProviderReference))
	// Capture as the provider does on the buyer's return: through a platform-less sync is not
	// possible, so capture with the fake's own API and link the capture like the platform.
	capID := captureWithFake(t, w)
	w.req.Transaction.ProviderPaymentID = &capID

	refund := func(id string, amount int64, key string) (*providers.RefundResult, error) {
		return w.a.Refund(ctx, providers.RefundRequest{Provider: w.req.Provider, Credentials: w.req.Credentials, Transaction: w.req.Transaction,
			Refund: &domain.Refund{ID: id, Amount: amount}, IdempotencyKey: key})
	}
	r1, err := refund("ref_1", 1050, "ref_1")
	require.NoError(t, err)
	require.Equal(t, domain.RefundSucceeded, r1.Status)
	r1again, err := refund("ref_1", 1050, "ref_1")
	require.NoError(t, err)
	require.Equal(t, r1.ProviderReference, r1again.ProviderReference, "the same refund, not a second one (PayPal-Request-Id)")

	_, err = refund("ref_2", 2000, "ref_2")
	require.Equal(t, domain.KindUnprocessable, domain.ErrorKind(err), "more than is left: PayPal's REFUND_AMOUNT_EXCEEDED: %v", err)
	require.Contains(t, err.Error(), "REFUND_AMOUNT_EXCEEDED")

	w.pp.FailRefunds(true)
	r3, err := refund("ref_3", 100, "ref_3")
	require.NoError(t, err)
	require.Equal(t, domain.RefundFailed, r3.Status)
	w.pp.FailRefunds(false)

	w.pp.FailNext(http.StatusTooManyRequests, http.StatusInternalServerError)
	r4, err := refund("ref_4", 1950, "ref_4")
	require.NoError(t, err, "429 then 500 are retried with the same PayPal-Request-Id")
	require.Equal(t, domain.RefundSucceeded, r4.Status)

	w.pp.FailNext(503, 503, 503)
	_, err = refund("ref_5", 1, "ref_5")
	require.Equal(t, domain.KindUnavailable, domain.ErrorKind(err), "%v", err)
}

// captureWithFake captures an approved order through the fake's REST API directly.
func captureWithFake(t *testing.T, w *world) string {
	t.Helper()
	tok := token(t, w.pp)
	req, err := http.NewRequest(http.MethodPost, w.pp.URL+"/v2/checkout/orders/"+*w.req.Transaction.ProviderReference+"/capture", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusCreated, res.StatusCode)
	var o paypalfake.Order
	require.NoError(t, json.NewDecoder(res.Body).Decode(&o))
	return o.PurchaseUnits[0].Payments.Captures[0].ID
}

func token(t *testing.T, f *paypalfake.Fake) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL+"/v1/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	require.NoError(t, err)
	req.SetBasicAuth(f.ClientID, f.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	require.NotEmpty(t, out.AccessToken)
	return out.AccessToken
}

func TestTestConnectionObtainsAnOAuthToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 100, "EUR")
	require.NoError(t, w.a.TestConnection(ctx, w.req.Provider, w.req.Credentials))
	bad := map[string]string{"clientId": w.pp.ClientID, "clientSecret": "EFwrongsecret"}
	err := w.a.TestConnection(ctx, w.req.Provider, bad)
	require.Equal(t, "PROVIDER_AUTHENTICATION", domain.ErrorCode(err), "%v", err)
}

func TestWebhooksAreVerifiedByPayPalThenParsed(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 1000, "EUR")
	res := w.start(t)
	d := w.pp.Sign(w.pp.OrderApproved(res.ProviderReference))

	evs, err := w.a.VerifyWebhook(ctx, w.req.Provider, w.req.Credentials, d.Body, d.Header)
	require.NoError(t, err)
	require.Len(t, evs, 1)
	require.Equal(t, "CHECKOUT.ORDER.APPROVED", evs[0].Type)
	require.Equal(t, res.ProviderReference, evs[0].ObjectID)
	require.NotEmpty(t, evs[0].ExternalID)

	tampered := bytes.Replace(d.Body, []byte(`"10.00"`), []byte(`"99.00"`), 1)
	require.NotEqual(t, d.Body, tampered)
	_, err = w.a.VerifyWebhook(ctx, w.req.Provider, w.req.Credentials, tampered, d.Header)
	require.True(t, errors.Is(err, providers.ErrBadSignature), "a changed body: %v", err)

	other := map[string]string{"clientId": w.pp.ClientID, "clientSecret": w.pp.ClientSecret, "webhookId": "WH-OTHERWEBHOOK"}
	_, err = w.a.VerifyWebhook(ctx, w.req.Provider, other, d.Body, d.Header)
	require.True(t, errors.Is(err, providers.ErrBadSignature), "another webhook's delivery: %v", err)

	h := d.Header.Clone()
	h.Del(paypalfake.HeaderTransmissionSig)
	_, err = w.a.VerifyWebhook(ctx, w.req.Provider, w.req.Credentials, d.Body, h)
	require.True(t, errors.Is(err, providers.ErrBadSignature), "no signature: %v", err)

	w.pp.FailNext(500, 500, 500)
	_, err = w.a.VerifyWebhook(ctx, w.req.Provider, w.req.Credentials, d.Body, d.Header)
	require.Error(t, err)
	require.False(t, errors.Is(err, providers.ErrBadSignature), "PayPal unavailable is not a bad signature (PayPal delivers again)")

	bad := w.pp.Sign(paypalfake.Event{ID: "WH-1", EventType: "PAYMENT.CAPTURE.COMPLETED", Resource: map[string]any{}})
	_, err = w.a.VerifyWebhook(ctx, w.req.Provider, w.req.Credentials, bad.Body, bad.Header)
	require.True(t, errors.Is(err, providers.ErrMalformed), "a signed event without a resource id: %v", err)
}

func TestCredentialsAreChecked(t *testing.T) {
	a := &paypal.Provider{}
	require.NoError(t, a.ValidateCredentials(domain.ModeTest, map[string]string{"clientId": "AYabcdefgh12", "clientSecret": "EF-secret_123", "webhookId": "8PT597110X687430LKGECATA"}))
	require.Error(t, a.ValidateCredentials(domain.ModeTest, map[string]string{"clientId": "has space here"}))
	require.Error(t, a.ValidateCredentials(domain.ModeTest, map[string]string{"webhookId": "x"}))
}
