package panel_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestBrowserInvoiceWalk creates and issues an invoice through the screens in Chromium: from
// the navigation to the form, a line added with the script, the draft saved, issued through
// the confirm dialog (number shown, no edit left), a payment link created, credited through
// the credit form and its dialog (the credit note's page and list); every new page is
// axe-clean in light and in dark mode.
func TestBrowserInvoiceWalk(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)

	b.Click(`#nav a[href="/invoices"]`)
	b.WaitText("#main h1", "Invoices")
	requireAccessible(t, b, "the empty invoice list")
	b.Click(`#main a[href="/invoices/new"]`)
	b.WaitText("#main h1", "New invoice")
	b.Click(`input[name=mode][value=test]`)
	b.Select("#f-site", tn.Site.ID)
	b.Type("#f-client-company", "Acme GmbH")
	b.Type("#f-client-email", "billing@acme.example")
	b.Type("#f-client-country", "DE")
	b.Type("#f-items-0-name", "Consulting")
	b.Type("#f-items-0-quantity", "2")
	b.Type("#f-items-0-unitPrice", "100.00")
	b.Type("#f-items-0-vatRate", "19")
	b.Type("#f-items-1-name", "Handbook")
	b.Type("#f-items-1-unitPrice", "20.00")
	b.Type("#f-items-1-vatRate", "7")
	b.Click(`button[value=add-row]`)
	b.WaitVisible("#f-items-2-name")
	require.Equal(t, "Line 3", b.Text("#items .item-row:nth-child(3) legend"))
	b.Type("#f-items-2-name", "Shipping")
	b.Type("#f-items-2-unitPrice", "5.00")
	b.Select("#f-items-2-type", "shipping")
	requireAccessible(t, b, "the invoice form")
	b.Screenshot(t, "panel-invoice-new")
	b.Focus("#f-items-2-unitPrice")
	b.Press(browsertest.Enter) // the default button saves (not the first line's Remove)
	b.WaitText(".notice", "Draft invoice created")
	require.Equal(t, "draft", b.Attr("[data-invoice-status]", "data-invoice-status"))
	require.Equal(t, 3, count(t, b, "[data-lines] tbody tr"))
	requireAccessible(t, b, "a draft invoice")
	b.Screenshot(t, "panel-invoice-draft")
	id := strings.TrimPrefix(strings.SplitN(b.URL(), "?", 2)[0], env.AdminURL+"/invoices/")
	require.True(t, strings.HasPrefix(id, domain.PrefixInvoice+"_"), b.URL())

	// Issue: the dialog says it locks the invoice and names the number.
	issue := "button[data-issue]"
	heading := "Issue this invoice for " + b.Text("[data-total]") + "?"
	askDialog(t, b, issue, heading, "locked", "TEST-INV-")
	requireAccessible(t, b, "the issue dialog")
	cancelDialog(t, b, issue, false)
	askDialog(t, b, issue, heading)
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "The invoice is issued")
	number := b.Text("[data-invoice-number]")
	require.True(t, strings.HasPrefix(number, "TEST-INV-"), number)
	require.False(t, b.Exists("a[data-edit-link]"), "an issued invoice has no edit")
	require.True(t, b.Exists("form[data-send-form]"))

	// "Download PDF" gives the PDF stored at issue: fetched from the link as the browser follows
	// it (with the session's cookie), it is a PDF whose text names the number and the total.
	var dl struct{ Type, Disposition, B64 string }
	b.Eval(`(async () => {
		const r = await fetch(document.querySelector("a[data-pdf-link]").href, {credentials: "same-origin"});
		let s = ""; for (const c of new Uint8Array(await r.arrayBuffer())) s += String.fromCharCode(c);
		return {type: r.headers.get("content-type"), disposition: r.headers.get("content-disposition") || "", b64: btoa(s)};
	})()`, &dl)
	require.Equal(t, "application/pdf", dl.Type)
	require.Contains(t, dl.Disposition, number)
	pdf, err := base64.StdEncoding.DecodeString(dl.B64)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")), "a PDF")
	file := filepath.Join(t.TempDir(), "invoice.pdf")
	require.NoError(t, os.WriteFile(file, pdf, 0o600))
	text, err := exec.Command("pdftotext", "-layout", file, "-").Output()
	require.NoError(t, err, "pdftotext (poppler-utils) reads the PDF")
	require.Contains(t, string(text), number)
	require.Contains(t, strings.Join(strings.Fields(string(text)), " "), strings.TrimSpace(strings.Fields(b.Text("[data-total]"))[0]))

	// A payment link for everything outstanding shows its URL.
	b.Click(`form[action$="/payment-link"] button[type=submit]`)
	b.WaitText(".notice", "Payment link created")
	require.True(t, strings.HasPrefix(b.Value("[data-payment-link] input[readonly]"), "http"), "the link's URL is shown")
	requireAccessible(t, b, "an issued invoice")
	b.Screenshot(t, "panel-invoice-issued")

	// A credit: too much is refused in money on the form (no dialog); then 10.00 EUR through
	// the confirm dialog; the note is listed and has its page, and the credit notes' tab.
	b.Type("#f-credit-amount", "99999")
	b.Click("button[data-credit]")
	b.WaitVisible("#f-credit-amount-error")
	require.Contains(t, b.Text("#f-credit-amount-error"), "at most")
	requireAccessible(t, b, "the credit form with an error")
	b.Eval(`document.querySelector("#f-credit-amount").value = "10"; true`, nil)
	b.Type("#f-credit-reason", "Goodwill")
	askDialog(t, b, "button[data-credit]", "Credit 10.00 EUR of invoice "+number+"?", "Goodwill", "outstanding")
	requireAccessible(t, b, "the credit dialog")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "The credit note is issued")
	require.Equal(t, 1, count(t, b, "[data-credit-notes] tr[data-credit-note]"))
	require.Equal(t, "partially_credited", b.Attr("[data-payment-state]", "data-payment-state"))
	requireAccessible(t, b, "an invoice with a credit note")
	cnID := b.Attr("[data-credit-notes] tr[data-credit-note]", "data-credit-note")
	b.Click(`[data-credit-notes] a[href="/credit-notes/` + cnID + `"]`)
	b.WaitText("#main h1", "Credit note")
	require.Equal(t, "10.00 EUR", b.Text("[data-total]"))
	requireAccessible(t, b, "a credit note")
	b.Screenshot(t, "panel-credit-note")
	b.Navigate(env.AdminURL + "/invoices")
	b.Click("a[data-credit-notes-tab]")
	b.WaitText("#main h1", "Credit notes")
	require.Equal(t, 1, count(t, b, `[data-credit-note="`+cnID+`"]`))
	requireAccessible(t, b, "the credit notes list")

	b.Navigate(env.AdminURL + "/invoices/settings")
	b.WaitText("[data-next=\"test-invoice\"]", "TEST-INV-")
	requireAccessible(t, b, "the invoicing settings")

	_, err = chromedp.Call(b.Context(), emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	require.NoError(t, err)
	for _, path := range []string{"/invoices", "/invoices/" + id, "/invoices/new", "/invoices/settings", "/credit-notes", "/credit-notes/" + cnID} {
		b.Navigate(env.AdminURL + path)
		b.WaitVisible("#main h1")
		requireAccessible(t, b, path+" in dark mode")
	}
	b.Screenshot(t, "panel-invoice-settings-dark")
	noPanelErrors(t, b, "status of 422") // the over-credit, refused on purpose
}

// count is the number of elements matching sel.
func count(t *testing.T, b *browsertest.Browser, sel string) int {
	t.Helper()
	var n int
	b.Eval(`document.querySelectorAll(`+"`"+sel+"`"+`).length`, &n)
	return n
}
