package hostedpage_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/tax"
)

// browserEnv is the hosted page on a real listener, the fake runtime API on another origin
// (as in production: the page calls the backend cross-origin) and a merchant shop to return to.
type browserEnv struct {
	rt       *hostedpagetest.Runtime
	pages    *httptest.Server
	merchant *httptest.Server
}

func newBrowserEnv(t *testing.T, checkouts ...runtimeapi.Checkout) *browserEnv {
	t.Helper()
	env := &browserEnv{rt: hostedpagetest.NewRuntime(t)}
	env.merchant = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Shop</title><h1>Thanks for your order</h1>")
	}))
	t.Cleanup(env.merchant.Close)
	for _, c := range checkouts {
		c.Site.LogoURL = "" // no network here: an https logo could not load (handler tests cover logos)
		env.rt.AddCheckout(c, env.merchant.URL+"/thanks?txn={transactionId}")
	}
	e, _ := newPages(t, env.rt)
	env.pages = httptest.NewServer(e)
	t.Cleanup(env.pages.Close)
	return env
}

func (env *browserEnv) url(path string) string { return env.pages.URL + path }

// noPageErrors fails when the page logged errors: script exceptions, CSP violations, failed
// loads. Messages containing one of expected (e.g. an HTTP status the test provoked) are allowed.
func noPageErrors(t *testing.T, b *browsertest.Browser, expected ...string) {
	t.Helper()
	var errs []string
	for _, e := range b.Errors() {
		allowed := false
		for _, x := range expected {
			allowed = allowed || strings.Contains(e, x)
		}
		if !allowed {
			errs = append(errs, e)
		}
	}
	require.Empty(t, errs, "the page logged errors")
}

// Under OSS a rate the merchant set applies, not the buyer's country's: the script's note says
// so, as the server's first render does.
func TestBrowserOSSNoteFollowsTheRateApplied(t *testing.T) {
	env := newBrowserEnv(t, checkout("ossrate001", func(c *runtimeapi.Checkout) {
		r := tax.Rate(1900)
		for i := range c.Items {
			c.Items[i].VATRate = &r
		}
	}), checkout("ossrate002"))
	b := browsertest.New(t)
	for _, tc := range []struct{ code, vatLine, hint string }{
		{"ossrate001", "VAT 19%", "VAT is charged at the rate the seller set for these items (EU One-Stop Shop)."},
		{"ossrate002", "VAT 20%", "VAT is charged at the rate of your country (EU One-Stop Shop)."},
	} {
		b.Navigate(env.url("/checkout/" + tc.code))
		b.WaitVisible("#pay-form")
		b.Select("#f-country", "FR")
		b.WaitText("#tax-hint", tc.hint) // only the FR preview has a note (DE is domestic)
		require.Equal(t, tc.vatLine, b.Text("#totals [data-taxline] dt"), tc.code)
	}
}

func TestBrowserWireTransferFlow(t *testing.T) {
	env := newBrowserEnv(t, checkout("flowcode01"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/flowcode01"))
	b.WaitVisible("#pay-form")
	require.Equal(t, "€142.80", b.Text("#totals [data-total=gross]"))
	require.Equal(t, "Show bank details", b.Text("#pay-btn"), "a transfer's button names the step, not a payment")
	b.Screenshot(t, "hosted-open")

	hostedpagetest.FillBilling(t, b, hostedpagetest.Buyer{Name: "Jean Dupont", Email: "jean@example.fr", Line1: "1 rue de la Paix", PostalCode: "75002", City: "Paris"})

	// The tax follows the country: DE 19% domestic, FR 20% (OSS), US export without VAT.
	for _, step := range []struct{ country, gross, vatLine, hint string }{
		{"FR", "€144.00", "VAT 20%", "One-Stop Shop"},
		{"US", "€120.00", "", "Export outside the EU"},
		{"DE", "€142.80", "VAT 19%", ""},
		{"FR", "€144.00", "VAT 20%", "One-Stop Shop"},
	} {
		b.Select("#f-country", step.country)
		b.WaitText("#totals [data-total=gross]", step.gross)
		var bar string // hidden beside the open summary on a wide screen: its text, not its rendering
		b.Eval(`document.querySelector('.bar-total [data-total=gross]').textContent`, &bar)
		require.Equal(t, step.gross, bar, "the folded summary's total follows: %s", step.country)
		if step.vatLine != "" {
			require.Equal(t, step.vatLine, b.Text("#totals [data-taxline] dt"), step.country)
		} else {
			require.False(t, b.Exists("#totals [data-taxline]"), step.country)
		}
		if step.hint != "" {
			require.Contains(t, b.Text("#tax-hint"), step.hint, step.country)
		} else {
			require.False(t, b.Visible("#tax-hint"), step.country)
		}
		b.WaitLive("Total updated: " + step.gross)
	}
	// A French business with a French VAT id: reverse charge, no VAT.
	b.Type("#f-vatId", "FR40303265045")
	b.WaitText("#totals [data-total=gross]", "€120.00")
	require.Contains(t, b.Text("#tax-hint"), "Reverse charge: VAT to be accounted for by the recipient")
	require.Contains(t, b.Text("#vat-status"), "valid format")
	b.Type("#f-vatId", "XX123")
	b.WaitText("#vat-status", "not valid")
	require.Equal(t, "true", b.Attr("#f-vatId", "aria-invalid"))
	b.Type("#f-vatId", "FR40303265045")
	b.WaitText("#totals [data-total=gross]", "€120.00")
	b.Screenshot(t, "hosted-reverse-charge")

	shown := hostedpagetest.PayByWire(t, b, "prov_wire")
	txns := env.rt.Transactions()
	require.Len(t, txns, 1)
	id := txns[0].TransactionID
	require.Equal(t, "PG-FLOWCODE01-0001", shown.Reference)
	require.Equal(t, "DE89 3704 0044 0532 0130 00", shown.IBAN)
	require.Equal(t, "€120.00", shown.Amount, "the amount of the reverse-charged order")
	require.Equal(t, "Acme Tools GmbH", shown.AccountHolder)
	require.Equal(t, "COBADEFFXXX", b.Text("[data-wire=bic]"))
	require.Equal(t, "Please allow up to two business days.", b.Text("[data-wire=instructions]"))
	require.True(t, b.FocusedMatches("#wire-h"), "focus moves to the instructions")
	b.WaitLive("bank transfer details are shown below")
	require.False(t, b.Visible("#pay-form"), "the form is gone once the transfer is set up")
	// What the browser sent: the buyer's details as the contract names them.
	created := env.rt.Calls("/api/v1/transactions/create")
	require.Len(t, created, 1)
	require.Contains(t, created[0].Body, `"sessionPublicId":"cs_flowcode01"`)
	require.Contains(t, created[0].Body, `"providerId":"prov_wire"`)
	require.Contains(t, created[0].Body, `"postalCode":"75002"`)
	require.Contains(t, created[0].Body, `"vatId":"FR40303265045"`)
	b.Screenshot(t, "hosted-wire-instructions")

	hostedpagetest.ConfirmTransferSent(t, b)
	require.NotEmpty(t, env.rt.Calls("/api/v1/transactions/"+id+"/mark-pending"))
	b.WaitLive("updates by itself")
	require.True(t, b.FocusedMatches("#wire-waiting"), "focus stays in the flow when the button goes")

	// The page polls; the operator confirms the transfer.
	env.rt.MarkPaid(id)
	b.WaitVisible("#paid")
	b.WaitLive("Payment received")
	require.Contains(t, b.Text("#paid-msg"), "Taking you back to Acme Tools")
	require.Equal(t, env.merchant.URL+"/thanks?txn="+id, b.Attr("#return-link", "href"))
	b.Screenshot(t, "hosted-paid")
	landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?txn="+id)
	require.Equal(t, env.merchant.URL+"/thanks?txn="+id, landed)
	noPageErrors(t, b)
}

func TestBrowserReloadResumesPendingTransfer(t *testing.T) {
	env := newBrowserEnv(t, checkout("resume0001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/resume0001"))
	hostedpagetest.PayByWire(t, b, "prov_wire")
	id := env.rt.Transactions()[0].TransactionID
	hostedpagetest.ConfirmTransferSent(t, b)

	b.Reload()
	b.WaitVisible("#wire")
	require.False(t, b.Visible("#pay-form"))
	require.True(t, b.Visible("#wire-waiting"), "the buyer already said the transfer is sent")
	require.Equal(t, "PG-RESUME0001-0001", b.Text("[data-wire=reference]"))
	env.rt.MarkPaid(id)
	b.WaitVisible("#paid")
	b.WaitURL("/thanks?txn=" + id)
	noPageErrors(t, b)
}

func TestBrowserErrorsAreTiedToFields(t *testing.T) {
	env := newBrowserEnv(t, checkout("errors0001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/errors0001"))

	// Client-side: empty required fields are listed in the summary and marked on the fields.
	b.Type("#f-name", " ")
	b.Eval(`document.getElementById('f-name').value='';document.getElementById('f-city').value='';true`, nil)
	b.Click("#pay-btn")
	b.WaitVisible("#error-summary")
	require.True(t, b.FocusedMatches("#error-summary"))
	require.Contains(t, b.Text("#error-summary"), "Enter your full name.")
	require.Contains(t, b.Text("#error-summary"), "Enter your city.")
	require.Equal(t, "true", b.Attr("#f-name", "aria-invalid"))
	require.Contains(t, b.Attr("#f-name", "aria-describedby"), "err-name")
	require.Equal(t, "Enter your full name.", b.Text("#err-name"))
	b.Screenshot(t, "hosted-client-errors")

	// Server-side: the API's field error lands next to that field.
	b.Type("#f-name", "Max Muster")
	b.Type("#f-city", "Köln")
	b.Type("#f-email", "max@invalid.test")
	b.Click("#pay-btn")
	b.WaitText("#err-email", "not a deliverable address")
	require.Equal(t, "true", b.Attr("#f-email", "aria-invalid"))
	require.Contains(t, b.Attr("#f-email", "aria-describedby"), "err-email")
	require.False(t, b.Visible("#err-name"), "old errors are cleared")
	require.Contains(t, b.Text("#error-summary"), "req_fake", "the request id is shown for support")
	noPageErrors(t, b, "status of 400")
}

func TestBrowserKeyboardOnly(t *testing.T) {
	env := newBrowserEnv(t, checkout("keyboard01", func(c *runtimeapi.Checkout) { c.BillingAddress = nil; c.Email = "" }))
	b := browsertest.New(t)
	b.AllowClipboard()
	b.Navigate(env.url("/checkout/keyboard01"))
	b.WaitVisible("#pay-form")

	b.Press(browsertest.Tab)
	require.True(t, b.FocusedMatches(".skip"), "the skip link comes first")
	// The provider choice is one radio group: one Tab stop, arrows move the choice.
	b.TabTo("input[name=providerId]:checked", 5)
	require.Equal(t, "#prov-0", b.Focused())
	b.Press(browsertest.ArrowDown)
	require.Equal(t, "#prov-1", b.Focused())
	require.Equal(t, "prov_card", b.Value("input[name=providerId]:checked"))
	b.Press(browsertest.ArrowUp)
	require.Equal(t, "prov_wire", b.Value("input[name=providerId]:checked"))

	for _, f := range []struct{ id, text string }{
		{"#f-name", "Kim Keyboard"}, {"#f-email", "kim@example.nl"}, {"#f-line1", "Damrak 1"},
		{"#f-postalCode", "1012 LG"}, {"#f-city", "Amsterdam"},
	} {
		b.TabTo(f.id, 4)
		b.TypeFocused(f.text)
	}
	b.TabTo("#f-country", 2)
	b.TypeFocused("Netherlands") // type-ahead in the closed select
	require.Equal(t, "NL", b.Value("#f-country"))
	b.WaitText("#totals [data-total=gross]", "€145.20") // 21% Dutch VAT (OSS)

	b.TabTo("#pay-btn", 4)
	var outline string
	b.Eval(`getComputedStyle(document.activeElement).outlineStyle`, &outline)
	require.Equal(t, "solid", outline, "keyboard focus is visible")
	b.Press(browsertest.Enter)
	b.WaitVisible("#wire")
	require.True(t, b.FocusedMatches("#wire-h"))
	require.Equal(t, "€145.20", b.Text("[data-wire=amount]"))

	// Copy the reference with the keyboard.
	b.TabTo("button[data-copy=wire-reference]", 3)
	b.Press(browsertest.Space)
	b.WaitLive("Payment reference copied.")
	require.Equal(t, b.Text("[data-wire=reference]"), b.Clipboard())
	b.TabTo("button[data-copy=wire-iban]", 3)
	b.Press(browsertest.Enter)
	b.WaitLive("IBAN copied.")
	require.Equal(t, "DE89370400440532013000", b.Clipboard(), "the IBAN is copied without spaces")

	b.TabTo("#sent-btn", 3)
	b.Press(browsertest.Space)
	b.WaitVisible("#wire-waiting")
	env.rt.MarkPaid(env.rt.Transactions()[0].TransactionID)
	b.WaitVisible("#paid")
	require.True(t, b.FocusedMatches("#paid-h"))
	// The return link is reachable before the automatic redirect.
	b.TabTo("#return-link", 3)
	b.Press(browsertest.Enter)
	b.WaitURL("/thanks?txn=")
	noPageErrors(t, b)
}

func TestBrowserStatePages(t *testing.T) {
	env := newBrowserEnv(t,
		checkout("expired001", func(c *runtimeapi.Checkout) { c.Status = "expired" }),
		checkout("yellow0001", func(c *runtimeapi.Checkout) { c.Site.PrimaryColor = "#ffeb3b"; c.Site.Name = "Sunny Shop" }),
	)
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/expired001?lang=de"))
	require.Equal(t, "Dieser Zahlungslink ist abgelaufen", b.Text("h1"))
	require.Equal(t, "de", b.Attr("html", "lang"))
	b.Screenshot(t, "hosted-expired-de")

	b.Navigate(env.url("/checkout/unknown0001?lang=en"))
	require.Equal(t, "Payment page not found", b.Text("h1"))

	// A light brand colour gets dark text (checked in the browser's computed style).
	b.Navigate(env.url("/checkout/yellow0001?lang=en"))
	var colors []string
	b.Eval(`[getComputedStyle(document.querySelector('.brand')).color, getComputedStyle(document.querySelector('#pay-btn')).color]`, &colors)
	require.Equal(t, []string{"rgb(17, 17, 17)", "rgb(17, 17, 17)"}, colors)
	b.Screenshot(t, "hosted-light-brand")
	noPageErrors(t, b, "status of 410", "status of 404")
}

func TestBrowserFitsA320PixelScreen(t *testing.T) {
	env := newBrowserEnv(t, checkout("narrow0001", func(c *runtimeapi.Checkout) {
		c.Items[0].Name = "Professional cordless hammer drill with two batteries and a carrying case"
	}))
	b := browsertest.New(t)
	b.SetViewport(320, 640)
	noOverflow := func(what string) {
		t.Helper()
		var widths []int
		b.Eval(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`, &widths)
		require.LessOrEqual(t, widths[0], widths[1], "%s scrolls sideways at 320px", what)
	}
	b.Navigate(env.url("/checkout/narrow0001?lang=de"))
	b.WaitVisible("#pay-form")
	noOverflow("the form")
	hostedpagetest.PayByWire(t, b, "prov_wire")
	noOverflow("the transfer instructions")
	b.Screenshot(t, "hosted-wire-320-de", 320)
	noPageErrors(t, b)
}

// TestBrowserFormatsLikeIntl checks that the server's money and percent formats equal what the
// browser's Intl.NumberFormat writes for the script's updates, in every language and currency.
func TestBrowserFormatsLikeIntl(t *testing.T) {
	env := newBrowserEnv(t)
	_, s := newPages(t, env.rt)
	b := browsertest.New(t)
	b.Navigate(env.url("/assets/none")) // any page of the origin
	type sample struct {
		Lang, Currency string
		Exp            int
		Minor          int64
		Want           string
	}
	var samples []sample
	amounts := []int64{0, 5, 123456, -500, 1234567890}
	for _, lang := range hostedpage.Languages {
		l := s.Catalog().Locale(lang)
		for _, cur := range currencyCodes() {
			for _, a := range amounts {
				samples = append(samples, sample{lang, cur.Code, cur.Exponent, a, l.Money(a, cur.Code, cur.Exponent)})
			}
		}
		for _, r := range []int64{0, 550, 1900, 2150} {
			samples = append(samples, sample{Lang: lang, Currency: "%", Minor: r, Want: l.Rate(rateOf(r))})
		}
	}
	var mismatches []string
	b.Eval(fmt.Sprintf(`(function(samples){
		var out=[];
		samples.forEach(function(s){
			var got;
			if (s.Currency==="%%") got=new Intl.NumberFormat(s.Lang,{style:"percent",maximumFractionDigits:2}).format(s.Minor/10000);
			else {
				var neg=s.Minor<0, d=String(Math.abs(s.Minor)), e=s.Exp;
				if (e>0){ while(d.length<=e) d="0"+d; d=d.slice(0,-e)+"."+d.slice(-e); }
				got=new Intl.NumberFormat(s.Lang,{style:"currency",currency:s.Currency,minimumFractionDigits:e,maximumFractionDigits:e}).format((neg?"-":"")+d);
			}
			if (got!==s.Want) out.push(s.Lang+" "+s.Currency+" "+s.Minor+": intl "+JSON.stringify(got)+" server "+JSON.stringify(s.Want));
		});
		return out;
	})(%s)`, mustJSON(t, samples)), &mismatches)
	require.Empty(t, mismatches, "%d of %d samples differ:\n%s", len(mismatches), len(samples), strings.Join(first(mismatches, 40), "\n"))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
