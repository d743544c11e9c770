package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// ipnSink is a merchant that keeps every notification body, by transaction id.
type ipnSink struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
	srv    *httptest.Server
}

func newIPNSink(t *testing.T) *ipnSink {
	k := &ipnSink{bodies: map[string][]map[string]any{}}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		id, _ := m["id"].(string)
		k.mu.Lock()
		k.bodies[id] = append(k.bodies[id], m)
		k.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

func (k *ipnSink) latest(id string) map[string]any {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b := k.bodies[id]; len(b) > 0 {
		return b[len(b)-1]
	}
	return nil
}

// cookieClient keeps every cookie it is given, Secure ones too (the test servers speak plain
// HTTP on loopback, which browsers treat as secure; net/http/cookiejar would drop them), and
// follows no redirect.
type cookieClient struct {
	cookies map[string]string
}

func (c *cookieClient) do(t *testing.T, method, u string, form url.Values, headers ...string) (int, []byte) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	for _, ck := range res.Cookies() {
		c.cookies[ck.Name] = ck.Value
	}
	return res.StatusCode, raw
}

func (c *cookieClient) page(t *testing.T, u string) *goquery.Document {
	t.Helper()
	status, raw := c.do(t, http.MethodGet, u, nil)
	require.Equal(t, http.StatusOK, status, "%s: %s", u, raw)
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(raw))
	require.NoError(t, err)
	return doc
}

// panelClient signs in to the Admin Panel with its form, as a browser does.
func panelClient(t *testing.T, env *apptest.Env, email, password string) *cookieClient {
	t.Helper()
	c := &cookieClient{cookies: map[string]string{}}
	csrf, _ := c.page(t, env.AdminURL+"/login").Find(`input[name=csrf]`).First().Attr("value")
	status, raw := c.do(t, http.MethodPost, env.AdminURL+"/login", url.Values{"email": {email}, "password": {password}, "csrf": {csrf}}, "Origin", env.AdminURL)
	require.Equal(t, http.StatusSeeOther, status, "sign-in: %s", raw)
	return c
}

func textOf(s *goquery.Selection) string { return strings.Join(strings.Fields(s.Text()), " ") }

// TestTaxTenCasesAgreeOnPageRecordAndIPN runs the README's ten tax cases (prices including or
// excluding VAT × domestic, OSS, reverse charge, export, exempt) for a German seller registered
// for OSS: a checkout made with the Admin API, the buyer's payment started through the runtime
// API with an address that gives the treatment, then the same net, tax, gross, rate and
// treatment on the hosted page after a reload, the stored transaction, the Admin API, the Admin
// Panel and the IPN the merchant receives. An eleventh case has the merchant's own rate under OSS.
func TestTaxTenCasesAgreeOnPageRecordAndIPN(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{Workers: true})
		tn := env.NewTenant(t)
		sink := newIPNSink(t)
		panel := panelClient(t, env, tn.AdminUser.Email, tn.Password)
		buyerPage := &cookieClient{cookies: map[string]string{}}
		patch := func(path string, body map[string]any) {
			t.Helper()
			res := apptest.Do(t, http.MethodPatch, env.AdminURL+"/api/v1"+path, tn.LiveKey, body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		}

		type want struct {
			net, tax, gross int64
			rate            string // as the page writes it; "" when no VAT is charged
			code            string // the breakdown's rate code
			treatment       string
			hint            string // the page's note on the treatment ("" when there is none)
		}
		const (
			hintRC     = "Reverse charge: VAT to be accounted for by the recipient."
			hintExport = "Export outside the EU: no VAT is charged."
			hintExempt = "Exempt from VAT."
			hintOSS    = "VAT is charged at the rate of your country (EU One-Stop Shop)."
			hintOSSSet = "VAT is charged at the rate the seller set for these items (EU One-Stop Shop)."
		)
		frBusiness := map[string]any{"country": "FR", "vatId": "FR40303265045"}
		for _, tc := range []struct {
			name      string
			inclusive bool
			price     int64 // the stated price of the one line
			vatRate   any   // the line's vatRate, if any (0: exempt)
			buyer     map[string]any
			want      want
		}{
			// Prices include VAT: the stated 875.97 is the gross where VAT applies.
			{"IncludingDomestic", true, 87597, nil, map[string]any{"country": "DE"}, want{73611, 13986, 87597, "19%", "DE-standard", "domestic", ""}},
			{"IncludingOSS", true, 87597, nil, map[string]any{"country": "FR"}, want{72997, 14600, 87597, "20%", "FR-standard", "oss", hintOSS}},
			{"IncludingReverseCharge", true, 87597, nil, frBusiness, want{73611, 0, 73611, "", "reverse_charge", "reverse_charge", hintRC}},
			{"IncludingExport", true, 87597, nil, map[string]any{"country": "US"}, want{73611, 0, 73611, "", "export", "export", hintExport}},
			{"IncludingExempt", true, 87597, 0, map[string]any{"country": "DE"}, want{87597, 0, 87597, "", "exempt", "exempt", hintExempt}},
			// The merchant's own rate under OSS: the note does not claim the buyer's country's rate.
			{"IncludingOSSAtTheMerchantsRate", true, 87597, 19, map[string]any{"country": "FR"}, want{73611, 13986, 87597, "19%", "explicit", "oss", hintOSSSet}},
			// Prices exclude VAT: the stated 736.11 is the net.
			{"ExcludingDomestic", false, 73611, nil, map[string]any{"country": "DE"}, want{73611, 13986, 87597, "19%", "DE-standard", "domestic", ""}},
			{"ExcludingOSS", false, 73611, nil, map[string]any{"country": "FR"}, want{73611, 14722, 88333, "20%", "FR-standard", "oss", hintOSS}},
			{"ExcludingReverseCharge", false, 73611, nil, frBusiness, want{73611, 0, 73611, "", "reverse_charge", "reverse_charge", hintRC}},
			{"ExcludingExport", false, 73611, nil, map[string]any{"country": "US"}, want{73611, 0, 73611, "", "export", "export", hintExport}},
			{"ExcludingExempt", false, 73611, 0, map[string]any{"country": "DE"}, want{73611, 0, 73611, "", "exempt", "exempt", hintExempt}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				w := tc.want
				patch("/organizations/"+tn.Org.ID, map[string]any{"pricesIncludeTax": tc.inclusive})
				patch("/sites/"+tn.Site.ID, map[string]any{"taxDisplay": "exclusive"})
				item := map[string]any{"name": "Standing desk", "quantity": 1, "unitPrice": tc.price, "itemType": "goods"}
				if tc.vatRate != nil {
					item["vatRate"] = tc.vatRate
				}
				ref := "tax-" + domain.RandomString(8)
				co := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
					"amount": tc.price, "currency": "EUR", "email": "buyer@example.com", "externalReference": ref,
					"ipnUrl": sink.srv.URL + "/ipn", "items": []any{item},
					"billingAddress": map[string]any{"firstName": "Jo", "lastName": "Buyer", "address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
				})
				require.Equal(t, http.StatusOK, co.Status, string(co.Body))
				chk := co.JSON(t)
				code := chk["shortCode"].(string)

				billing := map[string]any{"name": "Jo Buyer", "email": "buyer@example.com", "line1": "1 Main St", "city": "Town", "postalCode": "12345"}
				for k, v := range tc.buyer {
					billing[k] = v
				}
				created := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
					"sessionPublicId": chk["sessionPublicId"], "providerId": tn.Provider.ID, "shortCode": code, "billingAddress": billing})
				require.Equal(t, http.StatusOK, created.Status, string(created.Body))
				cr := created.JSON(t)
				id := cr["transactionId"].(string)
				require.EqualValues(t, w.gross, cr["amount"], "the amount to pay")
				ctax := cr["tax"].(map[string]any)
				require.Equal(t, []any{float64(w.net), float64(w.tax), float64(w.gross), w.treatment},
					[]any{ctax["totalNet"], ctax["totalTax"], ctax["totalGross"], ctax["treatment"]}, "runtime API")

				// The hosted page, reloaded: what the buyer pays, not a preview for the checkout's address.
				page := buyerPage.page(t, env.FrontendURL+"/checkout/"+code)
				totals := page.Find("#totals")
				require.Equal(t, euro(w.net), textOf(totals.Find(`[data-total="net"]`)), "page: net")
				require.Equal(t, euro(w.gross), textOf(totals.Find(`[data-total="gross"]`)), "page: gross")
				lines := totals.Find("[data-taxline]")
				if w.rate == "" {
					require.Zero(t, lines.Length(), "page: no VAT line at 0: %s", textOf(lines))
				} else {
					require.Equal(t, 1, lines.Length())
					require.Equal(t, "VAT "+w.rate, textOf(lines.Find("dt")), "page: the rate applied")
					require.Equal(t, euro(w.tax), textOf(lines.Find("dd")), "page: tax")
				}
				hint := page.Find("#tax-hint")
				_, hidden := hint.Attr("hidden")
				require.Equal(t, w.hint, textOf(hint), "page: the treatment's note")
				require.Equal(t, w.hint == "", hidden)
				require.Equal(t, euro(w.gross), textOf(page.Find(`#pay-btn [data-total="gross"]`)), "page: the pay button")
				require.Equal(t, euro(w.gross), textOf(page.Find(`[data-wire="amount"]`)), "page: the transfer's amount")

				// The same page when the site shows prices with VAT included.
				patch("/sites/"+tn.Site.ID, map[string]any{"taxDisplay": "inclusive"})
				page = buyerPage.page(t, env.FrontendURL+"/checkout/"+code)
				totals = page.Find("#totals")
				require.Equal(t, euro(w.gross), textOf(totals.Find(`[data-total="gross"]`)), "inclusive page: gross")
				lines = totals.Find("[data-taxline]")
				if w.rate == "" {
					require.Zero(t, lines.Length(), "inclusive page: no \"Includes VAT\" at 0: %s", textOf(lines))
				} else {
					require.Equal(t, "Includes VAT "+w.rate, textOf(lines.Find("dt")))
					require.Equal(t, euro(w.tax), textOf(lines.Find("dd")))
				}
				require.Equal(t, euro(w.gross), textOf(page.Find(`[data-line="0"]`)), "inclusive page: the line as charged")

				// The transaction record.
				txn, err := s.GetTransaction(ctx, tn.Org.ID, id)
				require.NoError(t, err)
				require.Equal(t, [3]int64{w.net, w.tax, w.gross}, [3]int64{txn.NetAmount, txn.TaxAmount, txn.GrossAmount}, "record")
				require.Equal(t, w.treatment, txn.TaxEvidence["treatment"])

				// The Admin API.
				api := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/transactions/"+id, tn.TestKey, nil)
				require.Equal(t, http.StatusOK, api.Status, string(api.Body))
				av := api.JSON(t)
				require.Equal(t, []any{float64(w.net), float64(w.tax), float64(w.gross)}, []any{av["netAmount"], av["taxAmount"], av["grossAmount"]}, "Admin API")
				ev := av["taxEvidence"].(map[string]any)
				require.Equal(t, w.treatment, ev["treatment"])
				rates := ev["rates"].([]any)
				require.Len(t, rates, 1)
				r0 := rates[0].(map[string]any)
				require.Equal(t, []any{rateNumber(w.rate), w.code, float64(w.net), float64(w.tax)},
					[]any{r0["rate"], r0["rateCode"], r0["taxableBase"], r0["taxAmount"]}, "Admin API: the rate applied")

				// The Admin Panel.
				pd := panel.page(t, env.AdminURL+"/transactions/"+id)
				facts := map[string]string{}
				pd.Find("#sum-h").Parent().Find("dl.facts").First().Find("dt").Each(func(_ int, dt *goquery.Selection) {
					facts[textOf(dt)] = textOf(dt.Next())
				})
				require.Equal(t, []string{eur(w.gross), eur(w.net), eur(w.tax)}, []string{facts["Gross"], facts["Net"], facts["Tax"]}, "panel: %v", facts)
				require.Equal(t, w.treatment, pd.Find("[data-tax-treatment]").AttrOr("data-tax-treatment", ""), "panel: treatment")
				require.Equal(t, w.code, pd.Find("[data-tax-rate]").AttrOr("data-tax-rate", ""), "panel: rate code")
				panelRate := strings.TrimSuffix(w.rate, "%")
				if panelRate == "" {
					panelRate = "0"
				}
				require.Contains(t, facts, "VAT "+panelRate+" %", "panel: the rate applied: %v", facts)

				// The IPN the merchant receives.
				var body map[string]any
				require.Eventually(t, func() bool { body = sink.latest(id); return body != nil }, 30*time.Second, 50*time.Millisecond, "an IPN for %s", id)
				require.Equal(t, ref, body["externalReference"])
				require.Equal(t, []any{float64(w.net), float64(w.tax), float64(w.gross), w.treatment},
					[]any{body["netAmount"], body["taxAmount"], body["amount"], body["taxTreatment"]}, "IPN: %v", body)
				require.Equal(t, []any{map[string]any{"taxRate": rateNumber(w.rate), "taxRateCode": w.code, "taxableBase": float64(w.net), "taxAmount": float64(w.tax)}},
					body["taxBreakdown"], "IPN: the rate applied")
			})
		}
	})
}

// formatEUR writes minor units with two decimals and grouped thousands: 87597 -> "875.97".
func formatEUR(v int64) string {
	s := fmt.Sprintf("%03d", v)
	whole, frac := s[:len(s)-2], s[len(s)-2:]
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + "." + frac
}

// euro is an amount as the English hosted page writes it ("€875.97"), eur as the panel does
// ("875.97 EUR").
func euro(v int64) string { return "€" + formatEUR(v) }
func eur(v int64) string  { return formatEUR(v) + " EUR" }

// rateNumber is a page rate ("19%", or "" for none) as the JSON number in percent.
func rateNumber(r string) float64 {
	if r == "" {
		return 0
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(r, "%"), 64)
	if err != nil {
		panic(err)
	}
	return f
}
