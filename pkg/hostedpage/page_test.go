package hostedpage_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

func TestCheckoutPage(t *testing.T) {
	t.Parallel()

	t.Run("ShowsBranding", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("brand0001"))
		rec, doc := get(t, e, "/checkout/brand0001")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "Pay Acme Tools", text(doc.Find("title")))
		require.Equal(t, "Acme Tools", text(doc.Find("header .site-name")))
		logo := doc.Find("header img.logo")
		require.Equal(t, 1, logo.Length())
		require.Equal(t, "https://cdn.example.com/acme.png", logo.AttrOr("src", ""))
		require.Equal(t, "", logo.AttrOr("alt", "x"), "the logo is decorative: the name is next to it")
		require.Equal(t, "/theme/v2/0b5cad.css", doc.Find(`link[rel=stylesheet][href^="/theme/"]`).AttrOr("href", ""))
		require.Equal(t, "Pay Acme Tools", text(doc.Find("h1")))
		require.Equal(t, "ORDER-1001", text(doc.Find(".ref .mono")))
	})

	t.Run("EscapesHostileMerchantText", func(t *testing.T) {
		t.Parallel()
		hostile := `<script>alert("x")</script>`
		e, _ := fixture(t, checkout("hostile01", func(c *runtimeapi.Checkout) {
			c.Site.Name = hostile
			c.Site.LogoURL = "javascript:alert(1)"
			c.Items[0].Name = `<img src=x onerror=alert(1)>`
			c.Items[0].Description = `"><b onmouseover=alert(1)>`
			c.Providers[0].Name = `<i>Wire</i>`
			c.ExternalReference = `</span><script>alert(2)</script>`
			c.CancelURL = "javascript:alert(3)"
			c.Site.SupportEmail = `x@example.com"><script>`
		}))
		_, doc := get(t, e, "/checkout/hostile01")
		require.Equal(t, 1, doc.Find("script[src]").Length(), "only the page's own script")
		require.Equal(t, "application/json", doc.Find("script:not([src])").AttrOr("type", ""), "the only other script element is the messages' data block")
		require.NotEmpty(t, doc.Find("script").AttrOr("src", ""))
		require.Equal(t, 0, doc.Find("img[src=x], b, i").Length(), "no element was injected")
		require.Equal(t, 0, doc.Find("header img").Length(), "a javascript: logo is not shown")
		require.Equal(t, hostile, text(doc.Find("header .site-name")))
		require.Equal(t, "Pay "+hostile, text(doc.Find("h1")))
		require.Equal(t, `<img src=x onerror=alert(1)>`, text(doc.Find("tbody th .name").First()))
		require.Equal(t, `<i>Wire</i> Bank transfer`, text(doc.Find("label[for=prov-0]")))
		require.Equal(t, 0, doc.Find("#cancel").Length(), "a javascript: cancel URL is not linked")
		require.Equal(t, hostile, doc.Find("#checkout").AttrOr("data-site", ""))
		doc.Find("*").Each(func(_ int, s *goquery.Selection) {
			for _, a := range s.Nodes[0].Attr {
				require.False(t, strings.HasPrefix(a.Key, "on"), "event handler attribute %s", a.Key)
			}
		})
	})

	t.Run("ShowsLogoOnlyOverHTTPS", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("httplogo1", func(c *runtimeapi.Checkout) { c.Site.LogoURL = "http://cdn.example.com/a.png" }))
		_, doc := get(t, e, "/checkout/httplogo1")
		require.Equal(t, 0, doc.Find("header img").Length())
	})

	t.Run("ProviderChoiceIsARadioGroup", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t,
			checkout("radio0001"),
			checkout("radio0002", func(c *runtimeapi.Checkout) { c.DefaultProviderID = "prov_card" }),
			checkout("radio0003", func(c *runtimeapi.Checkout) { c.DefaultProviderID = "prov_gone" }),
		)
		for code, want := range map[string]string{"radio0001": "prov_wire", "radio0002": "prov_card", "radio0003": "prov_wire"} {
			_, doc := get(t, e, "/checkout/"+code)
			fs := doc.Find("form#pay-form fieldset.providers")
			require.Equal(t, "Payment method", text(fs.ChildrenFiltered("legend")))
			radios := fs.Find("input[type=radio][name=providerId]")
			require.Equal(t, 2, radios.Length())
			radios.Each(func(_ int, r *goquery.Selection) {
				id := r.AttrOr("id", "")
				require.Equal(t, 1, fs.Find(`label[for="`+id+`"]`).Length(), "radio %s has a label", id)
			})
			require.Equal(t, want, fs.Find("input:checked").AttrOr("value", ""), code)
			require.Equal(t, 1, fs.Find("input:checked").Length())
			require.Equal(t, "Bank transfer", text(fs.Find("label[for=prov-0]")))
			require.Equal(t, "Credit card", text(fs.Find("label[for=prov-1]")), "no type label repeating the name")
		}
	})

	t.Run("AsksForVATIDOnlyWhenTheSiteValidatesIt", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t,
			checkout("vatnone01", func(c *runtimeapi.Checkout) { c.VATIDValidation, c.Site.VATIDValidation = "none", "none" }),
			checkout("vatvies01", func(c *runtimeapi.Checkout) { c.VATIDValidation, c.Site.VATIDValidation = "vies", "vies" }),
		)
		_, doc := get(t, e, "/checkout/vatnone01")
		require.Equal(t, 0, doc.Find("#f-vatId, #f-company").Length())
		_, doc = get(t, e, "/checkout/vatvies01")
		require.Equal(t, 1, doc.Find("#f-vatId").Length())
		require.Equal(t, 1, doc.Find("#f-company").Length())
		require.Equal(t, "VAT ID (optional)", text(doc.Find("label[for=f-vatId]")))
		require.Equal(t, "hint-vatId vat-status", doc.Find("#f-vatId").AttrOr("aria-describedby", ""))
	})

	t.Run("LabelsEveryControlAndPrefillsTheBuyer", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("prefill01"))
		_, doc := get(t, e, "/checkout/prefill01")
		doc.Find("#pay-form input:not([type=radio]), #pay-form select").Each(func(_ int, s *goquery.Selection) {
			id := s.AttrOr("id", "")
			require.Equal(t, 1, doc.Find(`label[for="`+id+`"]`).Length(), "control %s has a label", id)
			require.NotEmpty(t, s.AttrOr("autocomplete", ""), "control %s has autocomplete", id)
		})
		for id, want := range map[string]string{"#f-name": "Erika Mustermann", "#f-email": "buyer@example.com", "#f-line1": "Hauptstraße 1", "#f-postalCode": "10115", "#f-city": "Berlin"} {
			require.Equal(t, want, doc.Find(id).AttrOr("value", ""), id)
		}
		require.Equal(t, "DE", doc.Find("#f-country option[selected]").AttrOr("value", ""))
		require.Equal(t, "Germany", text(doc.Find("#f-country option[selected]")))
		require.Greater(t, doc.Find("#f-country option").Length(), 240, "every country")
		_, required := doc.Find("#f-email").Attr("required")
		require.True(t, required)
	})

	t.Run("ShowsNetLinesAndVATForExclusiveDisplay", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("excl00001"))
		_, doc := get(t, e, "/checkout/excl00001")
		require.Equal(t, []string{"€100.00", "€20.00"}, texts(doc.Find("[data-line]")))
		require.Equal(t, "€50.00 each", text(doc.Find(`[data-unit="0"]`)))
		require.Equal(t, "€120.00", text(doc.Find("#totals [data-total=net]")))
		require.Equal(t, "VAT 19%", text(doc.Find("#totals [data-taxline] dt")))
		require.Equal(t, "€22.80", text(doc.Find("#totals [data-taxline] dd")))
		require.Equal(t, "€142.80", text(doc.Find("#totals [data-total=gross]")))
		require.Equal(t, "Pay €142.80", text(doc.Find(`#pay-btn .pay-lbl[data-for=pay]`)))
		require.Equal(t, "Show bank details", text(doc.Find(`#pay-btn .pay-lbl[data-for=wire_transfer]`)), "a transfer pays nothing yet")
	})

	t.Run("ShowsGrossLinesAndIncludedVATForInclusiveDisplay", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("incl00001", func(c *runtimeapi.Checkout) { c.Site.TaxDisplay = "inclusive" }))
		_, doc := get(t, e, "/checkout/incl00001?lang=de")
		require.Equal(t, []string{"119,00\u00a0€", "23,80\u00a0€"}, texts(doc.Find("[data-line]")))
		require.Equal(t, 0, doc.Find("#totals [data-total=net]").Length())
		rows := doc.Find("#totals > div")
		require.Equal(t, []string{"Gesamt", "142,80\u00a0€"}, []string{text(rows.Eq(0).Find("dt")), text(rows.Eq(0).Find("dd"))})
		require.Equal(t, []string{"Enthaltene MwSt. 19\u00a0%", "22,80\u00a0€"}, []string{text(rows.Eq(1).Find("dt")), text(rows.Eq(1).Find("dd"))})
		require.Equal(t, "inclusive", doc.Find("#checkout").AttrOr("data-display", ""))
	})

	t.Run("ShowsTreatmentHints", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("revchg001", func(c *runtimeapi.Checkout) {
			c.BillingAddress.Country, c.BillingAddress.VATID = "AT", "ATU12345678"
			c.Tax = hostedpagetest.Tax(*c, "AT", "ATU12345678")
		}))
		_, doc := get(t, e, "/checkout/revchg001")
		require.Equal(t, "Reverse charge: VAT to be accounted for by the recipient.", text(doc.Find("#tax-hint")))
		_, hidden := doc.Find("#tax-hint").Attr("hidden")
		require.False(t, hidden)
		require.Equal(t, "The VAT ID has a valid format.", text(doc.Find("#vat-status")))
		require.Equal(t, "ATU12345678", doc.Find("#f-vatId").AttrOr("value", ""))
	})

	t.Run("FormatsAmountsForLocaleAndCurrency", func(t *testing.T) {
		t.Parallel()
		jpy := checkout("jpy000001", func(c *runtimeapi.Checkout) { c.Currency, c.CurrencyExponent = "JPY", 0; c.Tax.Currency = "JPY" })
		kwd := checkout("kwd000001", func(c *runtimeapi.Checkout) { c.Currency, c.CurrencyExponent = "KWD", 3; c.Tax.Currency = "KWD" })
		big := checkout("big000001", func(c *runtimeapi.Checkout) {
			c.Items = []runtimeapi.Item{{Name: "Screws", Quantity: 1000, UnitPrice: 123456, Total: 123456000}}
			c.Tax = hostedpagetest.Tax(*c, "DE", "")
		})
		e, _ := fixture(t, checkout("eur000001"), jpy, kwd, big)
		for _, tc := range []struct {
			code, lang, gross, qty string
		}{
			{"eur000001", "en", "€142.80", "2"},
			{"eur000001", "de", "142,80\u00a0€", "2"},
			{"eur000001", "fr", "142,80\u00a0€", "2"},
			{"jpy000001", "en", "¥14,280", "2"},
			{"jpy000001", "de", "14.280\u00a0¥", "2"},
			{"jpy000001", "fr", "14\u202f280\u00a0JPY", "2"},
			{"kwd000001", "en", "KWD\u00a014.280", "2"},
			{"kwd000001", "de", "14,280\u00a0KWD", "2"},
			{"kwd000001", "fr", "14,280\u00a0KWD", "2"},
			{"big000001", "en", "€1,469,126.40", "1,000"},
			{"big000001", "de", "1.469.126,40\u00a0€", "1.000"},
			{"big000001", "fr", "1\u202f469\u202f126,40\u00a0€", "1\u202f000"},
		} {
			_, doc := get(t, e, "/checkout/"+tc.code+"?lang="+tc.lang)
			require.Equal(t, tc.gross, text(doc.Find("#totals [data-total=gross]")), "%s %s", tc.code, tc.lang)
			require.Equal(t, tc.qty, text(doc.Find("tbody td.num").First()), "%s %s quantity", tc.code, tc.lang)
			require.Equal(t, tc.lang, doc.Find("html").AttrOr("lang", ""))
		}
	})

	t.Run("ShowsExpiryInTheBuyersLanguage", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("expiry001"))
		for lang, want := range map[string]string{
			"en": "12 March 2030, 14:30 UTC",
			"de": "12. März 2030, 14:30 Uhr UTC",
			"fr": "12 mars 2030 à 14:30 UTC",
			"pl": "12 marca 2030, 14:30 UTC",
		} {
			_, doc := get(t, e, "/checkout/expiry001?lang="+lang)
			tm := doc.Find("time")
			require.Equal(t, want, text(tm), lang)
			require.Equal(t, "2030-03-12T14:30:00Z", tm.AttrOr("datetime", ""))
		}
	})

	t.Run("LinksCancelOnlyWhenTheCheckoutHasACancelURL", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("cancel001"), checkout("cancel002", func(c *runtimeapi.Checkout) { c.CancelURL = "" }))
		_, doc := get(t, e, "/checkout/cancel001")
		require.Equal(t, "https://shop.example.com/cart", doc.Find("#cancel a").AttrOr("href", ""))
		require.Equal(t, "Cancel and return to Acme Tools", text(doc.Find("#cancel a")))
		_, doc = get(t, e, "/checkout/cancel002")
		require.Equal(t, 0, doc.Find("#cancel").Length())
	})

	t.Run("MarksTestMode", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("testmode1", func(c *runtimeapi.Checkout) { c.Mode = "test" }), checkout("livemode1"))
		_, doc := get(t, e, "/checkout/testmode1")
		require.Equal(t, "Test mode: no real money will be moved.", text(doc.Find(".test-mode")))
		_, doc = get(t, e, "/checkout/livemode1")
		require.Equal(t, 0, doc.Find(".test-mode").Length())
	})

	t.Run("ResumesAPendingTransferOnReload", func(t *testing.T) {
		t.Parallel()
		wire := hostedpagetest.Wire
		wire.Reference, wire.Amount, wire.Currency, wire.IBANGrouped = "PG-REF-1", 14280, "EUR", ""
		e, _ := fixture(t, checkout("resume001", func(c *runtimeapi.Checkout) {
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_1", Status: "pending_provider", ProviderType: "wire_transfer",
				Amount: 14280, Currency: "EUR", BuyerMarkedPending: true, Wire: &wire}
		}))
		_, doc := get(t, e, "/checkout/resume001")
		_, formHidden := doc.Find("#pay-form").Attr("hidden")
		_, wireHidden := doc.Find("#wire").Attr("hidden")
		_, waitingHidden := doc.Find("#wire-waiting").Attr("hidden")
		_, sentHidden := doc.Find("#sent-btn").Attr("hidden")
		require.True(t, formHidden)
		require.False(t, wireHidden)
		require.False(t, waitingHidden)
		require.True(t, sentHidden)
		require.Equal(t, "PG-REF-1", text(doc.Find("[data-wire=reference]")))
		require.Equal(t, "DE89 3704 0044 0532 0130 00", text(doc.Find("[data-wire=iban]")), "grouped in fours")
		require.Equal(t, "€142.80", text(doc.Find("[data-wire=amount]")))
		require.Equal(t, "txn_1", doc.Find("#checkout").AttrOr("data-txn", ""))
		require.Equal(t, "true", doc.Find("#checkout").AttrOr("data-txn-marked", ""))
	})

	t.Run("GivesTheScriptWhatItNeeds", func(t *testing.T) {
		t.Parallel()
		e, rt := fixture(t, checkout("script001"))
		_, doc := get(t, e, "/checkout/script001?lang=nl")
		root := doc.Find("#checkout")
		require.Equal(t, rt.URL(), root.AttrOr("data-backend", ""))
		require.Equal(t, "script001", root.AttrOr("data-code", ""))
		require.Equal(t, "cs_script001", root.AttrOr("data-session", ""))
		require.Equal(t, "nl", root.AttrOr("data-locale", ""))
		require.Equal(t, "EUR", root.AttrOr("data-currency", ""))
		require.Equal(t, "2", root.AttrOr("data-exponent", ""))
		require.Contains(t, doc.Find("#pg-i18n").Text(), `"treatment_reverse_charge":"Btw verlegd`)
		require.Equal(t, 1, doc.Find(`#live[aria-live=polite][role=status]`).Length())
	})
}

func TestStatePages(t *testing.T) {
	t.Parallel()
	paid := checkout("paid00001", func(c *runtimeapi.Checkout) {
		c.Status = "completed"
		c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_9", Status: "succeeded", ReturnURL: "https://shop.example.com/thanks?txn=txn_9"}
	})
	e, rt := fixture(t,
		checkout("expired01", func(c *runtimeapi.Checkout) { c.Status = "expired" }),
		checkout("cancel001", func(c *runtimeapi.Checkout) { c.Status = "cancelled" }),
		paid,
	)
	for _, tc := range []struct {
		name, path string
		status     int
		heading    string
		link       string
	}{
		{"ExpiredIsGoneAndLinksBack", "/checkout/expired01", http.StatusGone, "This payment link has expired", "https://shop.example.com/cart"},
		{"CancelledIsGoneAndLinksBack", "/checkout/cancel001", http.StatusGone, "This payment was cancelled", "https://shop.example.com/cart"},
		{"PaidLinksToTheReturnURL", "/checkout/paid00001", http.StatusOK, "This order is already paid", "https://shop.example.com/thanks?txn=txn_9"},
		{"UnknownIsNotFound", "/checkout/nosuch0001", http.StatusNotFound, "Payment page not found", ""},
		{"MalformedCodeIsNotFound", "/checkout/%3Cscript%3E", http.StatusNotFound, "Payment page not found", ""},
		{"UnknownPathIsNotFound", "/nothing/here", http.StatusNotFound, "Payment page not found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, doc := get(t, e, tc.path)
			require.Equal(t, tc.status, rec.Code)
			require.Equal(t, tc.heading, text(doc.Find("h1")))
			require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
			require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			require.NotContains(t, rec.Header().Get("Content-Security-Policy"), "script-src", "state pages run no script")
			require.Equal(t, 0, doc.Find("script, form[method=post]").Length())
			require.Equal(t, tc.link, doc.Find(".state a.button").AttrOr("href", ""))
		})
	}
	t.Run("MalformedCodeNeverReachesTheBackend", func(t *testing.T) {
		require.Empty(t, rt.Calls("/api/v1/checkouts/<"))
	})
	t.Run("BackendDownIsServiceUnavailable", func(t *testing.T) {
		t.Parallel()
		e, rt := fixture(t, checkout("down00001"))
		rt.SetDown(true)
		rec, doc := get(t, e, "/checkout/down00001?lang=de")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
		require.Equal(t, "30", rec.Header().Get("Retry-After"))
		require.Equal(t, "Zahlungsseite vorübergehend nicht verfügbar", text(doc.Find("h1")))
		require.Equal(t, "/checkout/down00001?lang=de", doc.Find(".state a.button").AttrOr("href", ""), "try again")
		require.Equal(t, rec.Header().Get("X-Request-ID"), text(doc.Find(".state code")))
	})
	t.Run("BackendUnreachableIsServiceUnavailable", func(t *testing.T) {
		t.Parallel()
		rt := hostedpagetest.NewRuntime(t)
		e, _ := newPages(t, rt)
		rt.Server.Close()
		rec, _ := get(t, e, "/checkout/gone00001")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	})
	t.Run("WithoutJavaScriptThePostGoesBackToThePage", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodPost, "/checkout/paid00001?lang=fr", strings.NewReader("name=x"))
		rec := serve(e, req)
		require.Equal(t, http.StatusSeeOther, rec.Code)
		require.Equal(t, "/checkout/paid00001?lang=fr", rec.Header().Get("Location"))
	})
}

func texts(s *goquery.Selection) []string {
	var out []string
	s.Each(func(_ int, x *goquery.Selection) { out = append(out, text(x)) })
	return out
}
