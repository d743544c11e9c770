package dudafake_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
)

const site = "s1"

// do sends a raw request to the fake and decodes a JSON answer into out (when not nil).
func do(t *testing.T, method, url, auth, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if token != "" {
		req.Header.Set("X-DUDA-ACCESS-TOKEN", token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	if out != nil {
		require.NoError(t, json.NewDecoder(res.Body).Decode(out))
	}
	return res.StatusCode
}

func basic(c duda.AppCredentials) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.AppUser+":"+c.AppPassword))
}

func TestFakeChecksCredentialsAndTokens(t *testing.T) {
	t.Parallel()
	s := dudafake.New(t)
	in := s.AddSite(site)
	other := s.AddSite("s2")
	url := s.URL() + "/api/integrationhub/application/site/" + site + "/ecommerce/payment-gateways"
	good := "Bearer " + in.Auth.AuthorizationCode

	for _, tc := range []struct {
		name   string
		auth   string
		token  string
		status int
	}{
		{"valid credentials and token", basic(s.Creds()), good, http.StatusOK},
		{"lower-case bearer", basic(s.Creds()), "bearer " + in.Auth.AuthorizationCode, http.StatusOK},
		{"no basic auth", "", good, http.StatusUnauthorized},
		{"wrong app password", basic(duda.AppCredentials{AppUser: s.Creds().AppUser, AppPassword: "nope"}), good, http.StatusUnauthorized},
		{"token without Bearer", basic(s.Creds()), in.Auth.AuthorizationCode, http.StatusUnauthorized},
		{"unknown token", basic(s.Creds()), "Bearer at_forged", http.StatusUnauthorized},
		{"another site's token", basic(s.Creds()), "Bearer " + other.Auth.AuthorizationCode, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body map[string]any
			status := do(t, http.MethodGet, url, tc.auth, tc.token, nil, &body)
			require.Equal(t, tc.status, status)
			if status != http.StatusOK {
				require.NotEmpty(t, body["message"], "errors are JSON with a message")
			}
		})
	}

	t.Run("unknown site is not found", func(t *testing.T) {
		status := do(t, http.MethodGet, strings.Replace(url, "/"+site+"/", "/nosuch/", 1), basic(s.Creds()), good, nil, nil)
		require.Equal(t, http.StatusNotFound, status)
	})
}

func TestFakeTokenExpiryAndRefresh(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := dudafake.New(t, dudafake.WithClock(func() time.Time { return now }), dudafake.WithTokenTTL(time.Hour))
	in := s.AddSite(site)
	require.Equal(t, now.Add(time.Hour), in.Auth.ExpirationDate.Time)
	require.Equal(t, s.URL(), in.APIEndpoint)

	gateways := s.URL() + "/api/integrationhub/application/site/" + site + "/ecommerce/payment-gateways"
	refresh := s.URL() + "/api/integrationhub/application/" + s.Creds().AppUUID + "/token/refresh"

	s.ExpireTokens(site)
	require.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, gateways, basic(s.Creds()), "Bearer "+in.Auth.AuthorizationCode, nil, nil))

	var first duda.TokenResponse
	require.Equal(t, http.StatusOK, do(t, http.MethodPost, refresh, basic(s.Creds()), "", map[string]string{"refresh_token": in.Auth.RefreshToken}, &first))
	require.NotEqual(t, in.Auth.AuthorizationCode, first.AuthorizationCode)
	require.Equal(t, "bearer", first.Type)
	require.Equal(t, http.StatusOK, do(t, http.MethodGet, gateways, basic(s.Creds()), "Bearer "+first.AuthorizationCode, nil, nil))

	t.Run("the old refresh token is used up", func(t *testing.T) {
		require.Equal(t, http.StatusUnauthorized, do(t, http.MethodPost, refresh, basic(s.Creds()), "", map[string]string{"refresh_token": in.Auth.RefreshToken}, nil))
	})

	t.Run("the camelCase key is accepted and the previous access token stops working", func(t *testing.T) {
		var second duda.TokenResponse
		require.Equal(t, http.StatusOK, do(t, http.MethodPost, refresh, basic(s.Creds()), "", map[string]string{"refreshToken": first.RefreshToken}, &second))
		require.Equal(t, http.StatusUnauthorized, do(t, http.MethodGet, gateways, basic(s.Creds()), "Bearer "+first.AuthorizationCode, nil, nil))
		require.Equal(t, http.StatusOK, do(t, http.MethodGet, gateways, basic(s.Creds()), "Bearer "+second.AuthorizationCode, nil, nil))
		require.Equal(t, 2, s.Refreshes(site))
	})

	t.Run("refresh needs the app credentials", func(t *testing.T) {
		require.Equal(t, http.StatusUnauthorized, do(t, http.MethodPost, refresh, "", "", map[string]string{"refresh_token": "x"}, nil))
	})
}

func TestFakeConfirmRules(t *testing.T) {
	t.Parallel()
	s := dudafake.New(t)
	in := s.AddSite(site)
	ps := s.CreateSession(site, dudafake.SessionSpec{})
	confirm := s.URL() + "/api/integrationhub/application/site/" + site + "/ecommerce/payment-sessions/"
	tok := "Bearer " + in.Auth.AuthorizationCode

	for _, tc := range []struct {
		name    string
		session string
		body    any
		status  int
	}{
		{"links missing", ps.ID, map[string]any{"state": "PROCESSED", "transaction_id": "tx"}, http.StatusBadRequest},
		{"links null", ps.ID, map[string]any{"state": "PROCESSED", "transaction_id": "tx", "links": nil}, http.StatusBadRequest},
		{"processed without transaction", ps.ID, map[string]any{"state": "PROCESSED", "links": map[string]string{"refunds": "u"}}, http.StatusBadRequest},
		{"unknown state", ps.ID, map[string]any{"state": "DONE", "links": map[string]string{}}, http.StatusBadRequest},
		{"unknown session", "ps_nope", map[string]any{"state": "FAILED", "links": map[string]string{}}, http.StatusNotFound},
		{"session_id missing", ps.ID, map[string]any{"state": "PROCESSED", "transaction_id": "tx", "links": map[string]string{"refunds": "u"}}, http.StatusBadRequest},
		{"session_id of another session", ps.ID, map[string]any{"session_id": "ps_other", "state": "PROCESSED", "transaction_id": "tx", "links": map[string]string{"refunds": "u"}}, http.StatusBadRequest},
		{"accepted", ps.ID, map[string]any{"session_id": ps.ID, "state": "PROCESSED", "transaction_id": "tx", "links": map[string]string{"refunds": "u"}}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.status, do(t, http.MethodPost, confirm+tc.session+"/confirm", basic(s.Creds()), tok, tc.body, nil))
		})
	}
	require.Len(t, s.Confirms(ps.ID), 1, "only the accepted call is recorded")
	require.Len(t, s.Requests(), 8, "every call is logged")
	last := s.Requests()[7]
	require.Equal(t, http.StatusOK, last.Status)
	require.Equal(t, tok, last.Header.Get("X-Duda-Access-Token"))
	require.Contains(t, string(last.Body), `"transaction_id":"tx"`)
}

func TestFakeSessionDefaults(t *testing.T) {
	t.Parallel()
	s := dudafake.New(t)
	s.AddSite(site)

	t.Run("totals are computed from the lines, discounts subtracted", func(t *testing.T) {
		ps := s.CreateSession(site, dudafake.SessionSpec{Items: []dudafake.Item{
			{Type: duda.ItemPhysical, Name: "Mug", UnitPrice: "10.00", Quantity: 2, DiscountAmount: "1.00"},
			{Type: duda.ItemTax, Name: "VAT", UnitPrice: "3.80"},
			{Type: duda.ItemShipping, Name: "Post", UnitPrice: "4.90"},
			{Type: duda.ItemDiscount, Name: "WELCOME", UnitPrice: "2.00"},
		}})
		total, err := ps.Invoice.Total.Minor("EUR")
		require.NoError(t, err)
		require.Equal(t, int64(1900+380+490-200), total)
		require.True(t, ps.Invoice.Total.IsQuoted(), "money is written as strings unless NumericAmounts")
		require.Equal(t, "CART", ps.Invoice.PurchaseType)
		require.Equal(t, duda.ModeLive, ps.Mode)
	})

	t.Run("numeric amounts are JSON numbers on the wire", func(t *testing.T) {
		ps := s.CreateSession(site, dudafake.SessionSpec{NumericAmounts: true})
		var raw struct {
			Invoice struct {
				Total json.RawMessage `json:"total"`
			} `json:"invoice"`
		}
		b, err := json.Marshal(ps)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &raw))
		require.Equal(t, `30.75`, string(raw.Invoice.Total))
	})

	t.Run("the payment-methods payload describes the same cart", func(t *testing.T) {
		spec := dudafake.SessionSpec{Currency: "JPY", Mode: duda.ModeTest, Items: []dudafake.Item{{Name: "Tea", UnitPrice: "500", Quantity: 3}}}
		p := s.PaymentMethodsPayload(site, spec)
		require.Equal(t, site, p.SiteName)
		require.True(t, p.Mode.IsTest())
		total, err := p.Invoice.Total.Minor(p.Invoice.Currency)
		require.NoError(t, err)
		require.Equal(t, int64(1500), total)
		amount, err := p.Invoice.Items[0].Amount.Minor("JPY")
		require.NoError(t, err)
		require.Equal(t, int64(500), amount)
	})
}

func TestFakeDrivesOurEndpointsAsDudaWould(t *testing.T) {
	t.Parallel()
	s := dudafake.New(t)
	install := s.AddSite(site)

	// Stand-in for the platform's endpoints.
	var gotInstall duda.InstallPayload
	var gotMethods duda.PaymentMethodsRequest
	ours := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/duda/install":
			body, err := duda.VerifyRequest(r, s.Creds().AppSecret, time.Now(), time.Minute)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			_ = json.Unmarshal(body, &gotInstall)
		case "/duda/methods":
			_ = json.NewDecoder(r.Body).Decode(&gotMethods)
			_ = json.NewEncoder(w).Encode([]duda.PaymentMethod{{ID: "card", Name: "Card", CheckoutURL: "https://pay.example/duda/checkout"}})
		}
	}))
	t.Cleanup(ours.Close)

	t.Run("a signed install verifies and carries the tokens", func(t *testing.T) {
		res, err := http.DefaultClient.Do(s.SignedLifecycleRequest(http.MethodPost, ours.URL+"/duda/install", install))
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, install.Tokens(), gotInstall.Tokens())
	})

	t.Run("a stale signed request is refused", func(t *testing.T) {
		req := s.SignedLifecycleRequestAt(http.MethodPost, ours.URL+"/duda/install", install, time.Now().Add(-time.Hour))
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	})

	t.Run("the lifecycle timestamp is in milliseconds", func(t *testing.T) {
		req := s.SignedLifecycleRequest(http.MethodPost, ours.URL+"/duda/uninstall", s.UninstallPayload(site))
		require.Len(t, req.Header.Get(duda.HeaderSignatureTimestamp), 13)
	})

	t.Run("a payment-methods call gets our buttons", func(t *testing.T) {
		res, err := http.DefaultClient.Do(s.PaymentMethodsRequest(ours.URL+"/duda/methods", s.PaymentMethodsPayload(site, dudafake.SessionSpec{NumericAmounts: true})))
		require.NoError(t, err)
		defer res.Body.Close()
		var methods []duda.PaymentMethod
		require.NoError(t, json.NewDecoder(res.Body).Decode(&methods))
		require.Equal(t, "https://pay.example/duda/checkout", methods[0].CheckoutURL)
		require.Equal(t, site, gotMethods.SiteName)
		require.Equal(t, "30.75", gotMethods.Invoice.Total.String())
	})

	t.Run("the redirect carries session and site", func(t *testing.T) {
		require.Equal(t, "https://pay.example/duda/checkout?session_id=ps_1&site_name=s1",
			dudafake.CheckoutRedirectURL("https://pay.example/duda/checkout", "ps_1", site))
		require.Equal(t, "https://pay.example/c?x=1&session_id=ps_1&site_name=s1",
			dudafake.CheckoutRedirectURL("https://pay.example/c?x=1", "ps_1", site))
	})
}

func TestFakeStorePagesAnswerHTML(t *testing.T) {
	t.Parallel()
	s := dudafake.New(t)
	s.AddSite(site)
	ps := s.CreateSession(site, dudafake.SessionSpec{})

	// The default return URL is what a confirm answers; a browser landing there must get a page.
	cl := s.NewClient(tokenStoreFor(s, site))
	res, err := cl.ConfirmPaymentSession(context.Background(), site, ps.ID, duda.ConfirmRequest{
		State: duda.StateProcessed, TransactionID: "tx", Links: duda.ConfirmLinks{Refunds: "https://pay.example/r/tx"},
	})
	require.NoError(t, err)
	for _, u := range []string{res.ReturnURL, ps.CancelURL, s.URL() + "/store/thank-you?session=<script>"} {
		page, err := http.Get(u)
		require.NoError(t, err)
		body, _ := io.ReadAll(page.Body)
		page.Body.Close()
		require.Equal(t, http.StatusOK, page.StatusCode, u)
		require.Contains(t, page.Header.Get("Content-Type"), "text/html")
		require.NotContains(t, string(body), "<script>", "query values are escaped")
	}
}

func tokenStoreFor(s *dudafake.Server, siteName string) *dudafake.TokenStore {
	st := dudafake.NewTokenStore()
	st.Put(siteName, s.Tokens(siteName))
	return st
}

func TestTokenStore(t *testing.T) {
	t.Parallel()
	st := dudafake.NewTokenStore()
	_, err := st.Load(context.Background(), "nope")
	require.ErrorIs(t, err, duda.ErrNoTokens)
	tok := duda.Tokens{AccessToken: "a", RefreshToken: "r"}
	require.NoError(t, st.Save(context.Background(), "x", tok))
	got, err := st.Load(context.Background(), "x")
	require.NoError(t, err)
	require.Equal(t, tok, got)
	require.Equal(t, 1, st.Saves())
}
