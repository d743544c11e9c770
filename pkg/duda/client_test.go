package duda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
)

const site = "a1b2c3d4"

// clock is a settable clock shared by a test and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type env struct {
	fake    *dudafake.Server
	store   *dudafake.TokenStore
	client  *duda.Client
	install duda.InstallPayload
	clock   *clock // the client's
	fakeNow *clock // the fake's
}

// setTime moves both clocks, as when a token really is about to expire.
func (e env) setTime(t time.Time) {
	e.clock.Set(t)
	e.fakeNow.Set(t)
}

// newEnv installs the app on a fake site and returns a client whose clock starts at the fake's "now".
func newEnv(t *testing.T) env {
	t.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fakeClock := &clock{t: start}
	fake := dudafake.New(t, dudafake.WithClock(fakeClock.Now))
	install := fake.AddSite(site)
	store := dudafake.NewTokenStore()
	store.Put(site, install.Tokens())
	clientClock := &clock{t: start}
	return env{
		fake:    fake,
		store:   store,
		client:  fake.NewClient(store, duda.WithClock(clientClock.Now), duda.WithTimeout(5*time.Second)),
		install: install,
		clock:   clientClock,
		fakeNow: fakeClock,
	}
}

// calls lists "METHOD status" for every request the fake saw, to assert the exact sequence.
func calls(s *dudafake.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		p := r.Path
		p = p[strings.LastIndex(p, "/")+1:]
		out = append(out, r.Method+" "+p+" "+http.StatusText(r.Status))
	}
	return out
}

func TestPaymentGatewayLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	gw, err := e.client.RegisterPaymentGateway(ctx, site, duda.PaymentGateway{
		LivePaymentMethodsURL: "https://pay.example/duda/methods/live",
		TestPaymentMethodsURL: "https://pay.example/duda/methods/test",
		Name:                  "PayGate", Description: "Cards, SEPA, transfer",
		Image: "https://pay.example/logo.png", Icons: []string{"https://pay.example/visa.svg"},
	})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(gw.ID, "cpg_"), gw.ID)
	require.Equal(t, "PayGate", gw.Name)

	t.Run("every call carries the app credentials and the site token", func(t *testing.T) {
		r := e.fake.Requests()[0]
		require.Equal(t, "/api/integrationhub/application/site/"+site+"/ecommerce/payment-gateways", r.Path)
		user, pass := e.fake.Creds().AppUser, e.fake.Creds().AppPassword
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), r.Header.Get("Authorization"))
		require.Equal(t, "Bearer "+e.install.Auth.AuthorizationCode, r.Header.Get("X-Duda-Access-Token"))
		require.Equal(t, http.StatusCreated, r.Status)
		require.NotContains(t, string(r.Body), `"id"`, "no id is sent when registering")
	})

	t.Run("list pages through the site's gateways", func(t *testing.T) {
		_, err := e.client.RegisterPaymentGateway(ctx, site, duda.PaymentGateway{LivePaymentMethodsURL: "https://pay.example/2"})
		require.NoError(t, err)
		page, err := e.client.ListPaymentGateways(ctx, site, 0, 1)
		require.NoError(t, err)
		require.Equal(t, 2, page.TotalResponses)
		require.Len(t, page.Results, 1)
		require.Equal(t, gw.ID, page.Results[0].ID)
		page, err = e.client.ListPaymentGateways(ctx, site, 1, 10)
		require.NoError(t, err)
		require.Len(t, page.Results, 1)
		require.NotEqual(t, gw.ID, page.Results[0].ID)
	})

	t.Run("get and patch", func(t *testing.T) {
		got, err := e.client.GetPaymentGateway(ctx, site, gw.ID)
		require.NoError(t, err)
		require.Equal(t, gw, got)
		upd, err := e.client.UpdatePaymentGateway(ctx, site, gw.ID, duda.PaymentGateway{Name: "PayGate Checkout"})
		require.NoError(t, err)
		require.Equal(t, "PayGate Checkout", upd.Name)
		require.Equal(t, gw.LivePaymentMethodsURL, upd.LivePaymentMethodsURL, "PATCH leaves other fields alone")
	})

	t.Run("delete, and deleting again counts as already gone", func(t *testing.T) {
		require.NoError(t, e.client.DeletePaymentGateway(ctx, site, gw.ID))
		require.NoError(t, e.client.DeletePaymentGateway(ctx, site, gw.ID))
		_, err := e.client.GetPaymentGateway(ctx, site, gw.ID)
		require.True(t, duda.IsNotFound(err), "%v", err)
		require.False(t, duda.IsRetryable(err))
		require.Len(t, e.fake.Gateways(site), 1)
	})

	t.Run("registering without a live URL fails before any call", func(t *testing.T) {
		n := len(e.fake.Requests())
		_, err := e.client.RegisterPaymentGateway(ctx, site, duda.PaymentGateway{Name: "x"})
		require.Error(t, err)
		require.Len(t, e.fake.Requests(), n)
	})
}

func TestGetPaymentSessionReadsStringAndNumericMoney(t *testing.T) {
	t.Parallel()
	spec := dudafake.SessionSpec{
		Mode: duda.ModeTest, Currency: "EUR", Email: "ana@example.com", Language: "pt",
		Items: []dudafake.Item{
			{Type: duda.ItemPhysical, Name: "Mug", UnitPrice: "10.00", Quantity: 2, DiscountAmount: "1.00"},
			{Type: duda.ItemDigital, Name: "E-book", UnitPrice: "4.99"},
			{Type: duda.ItemTax, Name: "VAT", UnitPrice: "5.00"},
			{Type: duda.ItemShipping, Name: "Post", UnitPrice: "4.90"},
			{Type: duda.ItemDiscount, Name: "WELCOME", UnitPrice: "2.00"},
		},
		ShippingAddress: &duda.Address{FullName: "Ana Lima", Address1: "Rua A 1", City: "Lisboa", Country: "PT", PostalCode: "1000-001"},
		BillingAddress:  &duda.Address{FullName: "Ana Lima", Country: "PT"},
	}
	for _, tc := range []struct {
		name    string
		numeric bool
		strQty  bool
	}{
		{"money as JSON strings", false, false},
		{"money as JSON numbers", true, false},
		{"quantities as JSON strings", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			s := spec
			s.NumericAmounts, s.StringQuantities = tc.numeric, tc.strQty
			created := e.fake.CreateSession(site, s)

			ps, err := e.client.GetPaymentSession(context.Background(), site, created.ID)
			require.NoError(t, err)
			require.Equal(t, created.ID, ps.ID)
			require.True(t, ps.Mode.IsTest())
			require.Equal(t, "ana@example.com", ps.Invoice.Email)
			require.Equal(t, "Lisboa", ps.Invoice.ShippingAddress.City)
			require.NotEmpty(t, ps.CancelURL)
			require.Equal(t, tc.numeric, !ps.Invoice.Total.IsQuoted())

			total, err := ps.Invoice.Total.Minor(ps.Invoice.Currency)
			require.NoError(t, err)
			require.Equal(t, int64(2000-100+499+500+490-200), total)

			var kinds []string
			for _, it := range ps.Invoice.Items {
				kinds = append(kinds, it.Kind())
			}
			require.Equal(t, []string{"goods", "digital_service", "tax", "shipping", "discount"}, kinds)
			mug, err := ps.Invoice.Items[0].Amounts(ps.Invoice.Currency)
			require.NoError(t, err)
			require.Equal(t, duda.ItemAmounts{UnitPrice: 1000, Quantity: 2, Discount: 100, Total: 1900}, mug)
			require.True(t, mug.Consistent())
		})
	}

	t.Run("raw JSON with the exponent form", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		raw := `{"id":"ps_raw","mode":"LIVE","cancel_url":"https://shop/cart","site_name":"` + site + `",
			"invoice":{"purchase_id":"c1","purchase_type":"CART","currency":"JPY","total":1e3,
			"items":[{"type":"PHYSICAL","name":"Tea","unit_price":5e2,"quantity":"2","discount_amount":0,"total":1E3}]}}`
		e.fake.CreateSession(site, dudafake.SessionSpec{ID: "ps_raw", Raw: json.RawMessage(raw)})
		ps, err := e.client.GetPaymentSession(context.Background(), site, "ps_raw")
		require.NoError(t, err)
		total, err := ps.Invoice.Total.Minor("JPY")
		require.NoError(t, err)
		require.Equal(t, int64(1000), total)
		a, err := ps.Invoice.Items[0].Amounts("JPY")
		require.NoError(t, err)
		require.Equal(t, duda.ItemAmounts{UnitPrice: 500, Quantity: 2, Total: 1000}, a)
	})

	t.Run("an unknown session is not found", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.client.GetPaymentSession(context.Background(), site, "ps_nope")
		require.True(t, duda.IsNotFound(err), "%v", err)
	})
}

func TestTokenRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a token expiring within five minutes is refreshed before the call", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		e.setTime(e.install.Auth.ExpirationDate.Add(-4 * time.Minute))

		_, err := e.client.GetPaymentSession(ctx, site, ps.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"POST refresh OK", "GET " + ps.ID + " OK"}, calls(e.fake))
		saved, _ := e.store.Get(site)
		require.Equal(t, e.fake.Tokens(site), saved, "the new tokens are saved")
		require.Equal(t, "Bearer "+saved.AccessToken, e.fake.Requests()[1].Header.Get("X-Duda-Access-Token"))
		require.Empty(t, e.fake.Requests()[0].Header.Get("X-Duda-Access-Token"), "the refresh sends no access token")
	})

	t.Run("a token with more than five minutes left is used as is", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		e.clock.Set(e.install.Auth.ExpirationDate.Add(-6 * time.Minute))
		_, err := e.client.GetPaymentSession(ctx, site, ps.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"GET " + ps.ID + " OK"}, calls(e.fake))
		require.Zero(t, e.store.Saves())
	})

	t.Run("the refresh sends the refresh token under both key names", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.clock.Set(e.install.Auth.ExpirationDate.Time)
		_, err := e.client.ListPaymentGateways(ctx, site, 0, 0)
		require.NoError(t, err)
		r := e.fake.Requests()[0]
		require.Equal(t, "/api/integrationhub/application/"+e.fake.Creds().AppUUID+"/token/refresh", r.Path)
		var body map[string]string
		require.NoError(t, json.Unmarshal(r.Body, &body))
		require.Equal(t, map[string]string{"refreshToken": e.install.Auth.RefreshToken, "refresh_token": e.install.Auth.RefreshToken}, body)
	})

	t.Run("a 401 refreshes once and repeats the call once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		e.fake.ExpireTokens(site)
		_, err := e.client.GetPaymentSession(ctx, site, ps.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"GET " + ps.ID + " Unauthorized", "POST refresh OK", "GET " + ps.ID + " OK"}, calls(e.fake))
		require.Equal(t, 1, e.store.Saves())
	})

	t.Run("a second 401 is returned, not looped on", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		e.fake.FailAuth(site, 5)
		_, err := e.client.GetPaymentSession(ctx, site, ps.ID)
		require.True(t, duda.IsUnauthorized(err), "%v", err)
		require.False(t, duda.IsRetryable(err))
		require.Equal(t, []string{"GET " + ps.ID + " Unauthorized", "POST refresh OK", "GET " + ps.ID + " Unauthorized"}, calls(e.fake))
	})

	t.Run("a refused refresh is an unauthorized error and no call is made", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		e.store.Put(site, duda.Tokens{AccessToken: "old", RefreshToken: "revoked", ExpiresAt: e.clock.Now()})
		_, err := e.client.ListPaymentGateways(ctx, site, 0, 0)
		require.True(t, duda.IsUnauthorized(err), "%v", err)
		require.Equal(t, []string{"POST refresh Unauthorized"}, calls(e.fake))
	})

	t.Run("a site without stored tokens fails without calling Duda", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.client.ListPaymentGateways(ctx, "never-installed", 0, 0)
		require.ErrorIs(t, err, duda.ErrNoTokens)
		require.Empty(t, e.fake.Requests())
	})
}

func TestConcurrentCallsRefreshOnlyOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		prepare func(e env)
	}{
		{"token about to expire", func(e env) { e.setTime(e.install.Auth.ExpirationDate.Add(-time.Minute)) }},
		{"token refused with 401", func(e env) { e.fake.ExpireTokens(site) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
			tc.prepare(e)

			const callers = 8
			var wg sync.WaitGroup
			errs := make(chan error, callers)
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := e.client.GetPaymentSession(context.Background(), site, ps.ID)
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.Equal(t, 1, e.fake.Refreshes(site))
			require.Equal(t, 1, e.store.Saves())
		})
	}
}

func TestConfirmPaymentSession(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	processed := duda.ConfirmRequest{
		State: duda.StateProcessed, TransactionID: "tx_123", Name: "Card", Icon: "https://pay.example/card.svg",
		Links: duda.ConfirmLinks{Refunds: "https://pay.example/duda/refunds/tx_123"},
	}

	t.Run("failing twice then succeeding: the client surfaces each failure and never retries", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{ReturnURL: "https://shop.example/thank-you?o=1"})
		e.fake.FailConfirms(ps.ID, 2)

		for attempt := 1; attempt <= 2; attempt++ {
			_, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, processed)
			var ae *duda.APIError
			require.ErrorAs(t, err, &ae, "attempt %d", attempt)
			require.Equal(t, http.StatusInternalServerError, ae.StatusCode)
			require.True(t, duda.IsRetryable(err), "a 500 is for the durable job to retry")
			require.Equal(t, attempt, e.fake.Count(http.MethodPost, "/confirm"), "one request per call")
			require.Empty(t, e.fake.Confirms(ps.ID))
		}

		res, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, processed)
		require.NoError(t, err)
		require.Equal(t, "https://shop.example/thank-you?o=1", res.ReturnURL)
		sent := processed
		sent.SessionID = ps.ID // Duda requires it in the body too
		require.Equal(t, []duda.ConfirmRequest{sent}, e.fake.Confirms(ps.ID))
		require.Equal(t, 3, e.fake.Count(http.MethodPost, "/confirm"))
	})

	t.Run("a 503 is retryable too", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		e.fake.FailConfirmsWith(ps.ID, 1, http.StatusServiceUnavailable)
		_, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, processed)
		require.True(t, duda.IsRetryable(err), "%v", err)
	})

	t.Run("pending and failed outcomes are accepted with links present", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		pending := duda.ConfirmRequest{State: duda.StatePending, TransactionID: "tx_9", Instructions: "Transfer to IBAN ...",
			Links: duda.ConfirmLinks{Refunds: "https://pay.example/duda/refunds/tx_9"}}
		_, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, pending)
		require.NoError(t, err)
		failed := duda.ConfirmRequest{State: duda.StateFailed, Error: &duda.ConfirmError{Code: "card_declined", Message: "Declined"}}
		res, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, failed)
		require.NoError(t, err)
		require.Contains(t, res.ReturnURL, "/store/thank-you?session=")
		pending.SessionID, failed.SessionID = ps.ID, ps.ID
		require.Equal(t, []duda.ConfirmRequest{pending, failed}, e.fake.Confirms(ps.ID))
		require.Contains(t, string(e.fake.Requests()[1].Body), `"links":{`)
		require.Contains(t, string(e.fake.Requests()[1].Body), `"session_id":"`+ps.ID+`"`)
	})

	t.Run("an invalid request is refused before any call", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		_, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, duda.ConfirmRequest{State: duda.StateProcessed})
		require.Error(t, err)
		require.False(t, duda.IsRetryable(err))
		require.Empty(t, e.fake.Requests())
	})

	t.Run("a body naming another session is refused before any call", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		ps := e.fake.CreateSession(site, dudafake.SessionSpec{})
		other := processed
		other.SessionID = "ps_other"
		_, err := e.client.ConfirmPaymentSession(ctx, site, ps.ID, other)
		require.Error(t, err)
		require.Empty(t, e.fake.Requests())
	})

	t.Run("an unknown session is not found and not retryable", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		_, err := e.client.ConfirmPaymentSession(ctx, site, "ps_gone", processed)
		require.True(t, duda.IsNotFound(err), "%v", err)
		require.False(t, duda.IsRetryable(err))
	})
}

func TestGetRefundIntent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ri := e.fake.CreateRefundIntent(site, duda.RefundIntent{
		PurchaseID: "cart_1", OriginalTransactionID: "tx_123", Reason: "Damaged", Currency: "EUR",
		Total: duda.NewDecimal("12.30"),
		Items: []duda.RefundItem{{ProductID: "p1", Type: "PHYSICAL", Quantity: duda.NewQuantity(1), Amount: duda.NewDecimalString("12.30")}},
	})

	got, err := e.client.GetRefundIntent(context.Background(), site, ri.ID)
	require.NoError(t, err)
	require.Equal(t, ri.ID, got.ID)
	require.Equal(t, "tx_123", got.OriginalTransactionID)
	total, err := got.Total.Minor(got.Currency)
	require.NoError(t, err)
	require.Equal(t, int64(1230), total)
	line, err := got.Items[0].Amount.Minor(got.Currency)
	require.NoError(t, err)
	require.Equal(t, int64(1230), line)

	_, err = e.client.GetRefundIntent(context.Background(), site, "ri_unknown")
	require.True(t, duda.IsNotFound(err))
}

func TestPathSegmentsAreEscapedAndChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	odd := "shop 1/ü?x"
	e.store.Put(odd, e.fake.AddSite(odd).Tokens())
	ps := e.fake.CreateSession(odd, dudafake.SessionSpec{ID: "ps/with#odd chars"})

	got, err := e.client.GetPaymentSession(context.Background(), odd, ps.ID)
	require.NoError(t, err)
	require.Equal(t, ps.ID, got.ID)

	for _, bad := range []string{"", ".", ".."} {
		_, err := e.client.GetPaymentSession(context.Background(), site, bad)
		require.Error(t, err, "session id %q", bad)
	}
	require.Len(t, e.fake.Requests(), 1)
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()

	serve := func(t *testing.T, status int, body string) *duda.Client {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		store := dudafake.NewTokenStore()
		store.Put(site, duda.Tokens{AccessToken: "at", RefreshToken: "rt"})
		return duda.NewClient(srv.URL, duda.AppCredentials{AppUser: "u", AppPassword: "p", AppUUID: "app"}, store)
	}

	for _, tc := range []struct {
		status    int
		retryable bool
	}{
		{http.StatusBadRequest, false},
		{http.StatusForbidden, false},
		{http.StatusNotFound, false},
		{http.StatusConflict, false},
		{http.StatusRequestTimeout, true},
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
	} {
		t.Run(http.StatusText(tc.status)+" retryable="+map[bool]string{true: "yes", false: "no"}[tc.retryable], func(t *testing.T) {
			t.Parallel()
			c := serve(t, tc.status, `{"error_code":"Something","message":"it went wrong"}`)
			_, err := c.GetPaymentSession(context.Background(), site, "ps_1")
			var ae *duda.APIError
			require.ErrorAs(t, err, &ae)
			require.Equal(t, tc.status, ae.StatusCode)
			require.Equal(t, "it went wrong", ae.Message)
			require.Equal(t, "Something", ae.Code)
			require.Equal(t, tc.retryable, duda.IsRetryable(err))
			require.Contains(t, err.Error(), "it went wrong")
		})
	}

	t.Run("only the first 2 KB of a body is kept", func(t *testing.T) {
		t.Parallel()
		c := serve(t, http.StatusBadGateway, strings.Repeat("é", 3000))
		_, err := c.GetPaymentSession(context.Background(), site, "ps_1")
		var ae *duda.APIError
		require.ErrorAs(t, err, &ae)
		require.LessOrEqual(t, len(ae.Body), 2048)
		require.Greater(t, len(ae.Body), 2000)
		require.True(t, strings.HasPrefix(ae.Body, "éé"))
		require.NotContains(t, ae.Body, "\uFFFD", "no rune is cut in half")
	})

	t.Run("no answer at all is retryable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // the port now refuses connections
		store := dudafake.NewTokenStore()
		store.Put(site, duda.Tokens{AccessToken: "at", RefreshToken: "rt"})
		c := duda.NewClient(srv.URL, duda.AppCredentials{}, store)
		_, err := c.GetPaymentSession(context.Background(), site, "ps_1")
		var ae *duda.APIError
		require.ErrorAs(t, err, &ae)
		require.Zero(t, ae.StatusCode)
		require.True(t, duda.IsRetryable(err))
	})

	t.Run("a per-call timeout is retryable, the caller's cancellation is not", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		store := dudafake.NewTokenStore()
		store.Put(site, duda.Tokens{AccessToken: "at", RefreshToken: "rt"})
		c := duda.NewClient(srv.URL, duda.AppCredentials{}, store, duda.WithTimeout(50*time.Millisecond))
		_, err := c.GetPaymentSession(context.Background(), site, "ps_1")
		require.True(t, duda.IsRetryable(err), "%v", err)

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = c.GetPaymentSession(ctx, site, "ps_1")
		require.Error(t, err)
		require.False(t, duda.IsRetryable(err), "%v", err)
	})

	t.Run("a plain error is neither", func(t *testing.T) {
		t.Parallel()
		err := errors.New("boom")
		require.False(t, duda.IsRetryable(err))
		require.False(t, duda.IsNotFound(err))
		require.False(t, duda.IsUnauthorized(err))
	})
}
