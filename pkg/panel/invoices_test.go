package panel_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// draftForm is the draft form's values with two lines (19 % and 7 %).
func draftForm(site string) url.Values {
	return url.Values{"mode": {"test"}, "currency": {"EUR"}, "language": {"de"}, "site": {site}, "clientId": {""},
		"client.company": {"Acme GmbH"}, "client.name": {"Jana Berg"}, "client.email": {"billing@acme.example"}, "client.line1": {"Hauptstr. 1"},
		"client.postalCode": {"10115"}, "client.city": {"Berlin"}, "client.country": {"DE"},
		"item_name": {"Consulting", "Handbook"}, "item_quantity": {"2", "1"}, "item_unitPrice": {"100.00", "20.00"},
		"item_vatRate": {"19", "7"}, "item_type": {"digital_service", "goods"}, "op": {"save"}}
}

// invoiceIDFrom is the id in a redirect to an invoice's page.
func invoiceIDFrom(t *testing.T, res *page) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	path := strings.SplitN(res.Location, "?", 2)[0]
	id := strings.TrimPrefix(path, "/invoices/")
	require.True(t, strings.HasPrefix(id, domain.PrefixInvoice+"_"), res.Location)
	return id
}

// The invoice screens, through the panel's forms: a draft with two lines (every error of a bad
// form at once), edited, issued after its confirm step (the number shown, every change refused
// afterwards), a payment link with its URL, the settings with the preview of the next number,
// the roles (a viewer reads but cannot issue), and the client page listing the invoice.
func TestInvoiceScreens(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		editor := signedIn(t, env, tn, domain.RoleEditor)

		form := editor.get("/invoices/new")
		require.Equal(t, http.StatusOK, form.Status, text(form, "main"))
		require.Equal(t, 2, form.Doc.Find("#items .item-row").Length(), "a few line rows to start with")

		// A bad form: every error at once, nothing written.
		bad := draftForm(tn.Site.ID)
		bad.Set("currency", "ZZZ")
		bad.Set("client.country", "Germany")
		bad.Set("client.email", "no-at-sign")
		bad["item_name"] = []string{"", "Handbook"}
		bad["item_unitPrice"] = []string{"ten", "20.00"}
		bad["item_quantity"] = []string{"1", "0"}
		res := editor.post("/invoices", bad)
		require.Equal(t, http.StatusBadRequest, res.Status)
		for _, id := range []string{"f-currency", "f-client-country", "f-client-email", "f-items-0-name", "f-items-1-quantity"} {
			require.Equal(t, "true", res.Doc.Find("#"+id).AttrOr("aria-invalid", ""), id+": "+text(res, "[role=alert]"))
		}
		require.Contains(t, text(res, "[role=alert]"), "highlighted fields")
		require.Equal(t, "Handbook", res.Doc.Find("#f-items-1-name").AttrOr("value", ""), "the form keeps what was typed")
		list, err := env.Services().Invoice.List(ctx, tn.Admin, tn.Org.ID, domain.InvoiceFilter{})
		require.NoError(t, err)
		require.Empty(t, list)

		// "Add line" without script: the form comes back with one row more, nothing saved.
		more := draftForm(tn.Site.ID)
		more.Set("op", "add-row")
		res = editor.post("/invoices", more)
		require.Equal(t, http.StatusOK, res.Status)
		require.Equal(t, 3, res.Doc.Find("#items .item-row").Length())

		id := invoiceIDFrom(t, editor.post("/invoices", draftForm(tn.Site.ID)))
		page := editor.get("/invoices/" + id)
		require.Equal(t, http.StatusOK, page.Status, text(page, "main"))
		require.Equal(t, "draft", page.Doc.Find("[data-invoice-status]").AttrOr("data-invoice-status", ""))
		require.Equal(t, 2, page.Doc.Find("[data-lines] tbody tr").Length())
		require.Equal(t, 2, page.Doc.Find("[data-tax-breakdown] tbody tr").Length(), "one row per rate")
		require.Contains(t, text(page, "[data-lines]"), "200.00 EUR")
		require.Equal(t, "/invoices/"+id+"/pdf", page.Doc.Find("a[data-pdf-link]").AttrOr("href", ""))

		// Edit: the rows come back as entered; a third line is added.
		edit := editor.get("/invoices/" + id + "/edit")
		require.Equal(t, http.StatusOK, edit.Status, text(edit, "main"))
		require.Equal(t, "100.00", edit.Doc.Find("#f-items-0-unitPrice").AttrOr("value", ""))
		require.Equal(t, "19", edit.Doc.Find("#f-items-0-vatRate").AttrOr("value", ""))
		changed := draftForm(tn.Site.ID)
		changed["item_name"] = append(changed["item_name"], "Shipping")
		changed["item_quantity"] = append(changed["item_quantity"], "1")
		changed["item_unitPrice"] = append(changed["item_unitPrice"], "5.00")
		changed["item_vatRate"] = append(changed["item_vatRate"], "19")
		changed["item_type"] = append(changed["item_type"], "shipping")
		require.Equal(t, id, invoiceIDFrom(t, editor.post("/invoices/"+id, changed)))
		v, err := env.Services().Invoice.Get(ctx, tn.Admin, tn.Org.ID, id)
		require.NoError(t, err)
		require.Len(t, v.Invoice.Lines, 3)
		require.Equal(t, "Acme GmbH", v.Invoice.Client.Company)

		// The settings: the next number previewed, a new layout previewed unsaved, every
		// wrong field at once, saved by an admin only.
		admin := signedIn(t, env, tn, domain.RoleAdmin)
		year := strconv.Itoa(time.Now().UTC().Year())
		set := admin.get("/invoices/settings")
		require.Equal(t, http.StatusOK, set.Status, text(set, "main"))
		require.Equal(t, "TEST-INV-"+year+"-00001", text(set, `[data-next="test-invoice"]`))
		layout := url.Values{"seller.company": {"Poster Shop GmbH"}, "seller.country": {"DE"}, "invoiceLayout.prefix": {"F-"},
			"invoiceLayout.period": {"none"}, "invoiceLayout.fiscalStartMonth": {"1"}, "invoiceLayout.reset": {"never"}, "invoiceLayout.padding": {"3"},
			"creditNoteLayout.prefix": {"CN-"}, "creditNoteLayout.period": {"fiscal"}, "creditNoteLayout.fiscalStartMonth": {"4"},
			"creditNoteLayout.reset": {"yearly"}, "creditNoteLayout.padding": {"4"}, "paymentLinkMinimum": {"500"}, "op": {"preview"}}
		res = admin.post("/invoices/settings", layout)
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.Equal(t, "TEST-F-001", text(res, `[data-next="test-invoice"]`))
		require.Equal(t, "TEST-INV-"+year+"-00001", text(admin.get("/invoices/settings"), `[data-next="test-invoice"]`), "a preview saves nothing")
		wrong := url.Values{}
		for k, vs := range layout {
			wrong[k] = vs
		}
		wrong.Set("op", "save")
		wrong.Set("invoiceLayout.padding", "x")
		wrong.Set("seller.country", "Germany")
		wrong.Set("creditNoteLayout.prefix", "CN/")
		wrong.Set("paymentLinkMinimum", "0")
		res = admin.post("/invoices/settings", wrong)
		require.Equal(t, http.StatusBadRequest, res.Status)
		for _, fid := range []string{"f-invoiceLayout-padding", "f-seller-country", "f-creditNoteLayout-prefix", "f-paymentLinkMinimum"} {
			require.Equal(t, "true", res.Doc.Find("#"+fid).AttrOr("aria-invalid", ""), fid+": "+text(res, "[role=alert]"))
		}
		layout.Set("op", "save")
		require.Equal(t, http.StatusForbidden, editor.post("/invoices/settings", layout).Status, "an editor cannot change the settings")
		res = admin.post("/invoices/settings", layout)
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		require.Equal(t, "TEST-F-001", text(admin.get("/invoices/settings"), `[data-next="test-invoice"]`))

		// A viewer reads the draft but may not issue, edit or delete it.
		viewer := signedIn(t, env, tn, domain.RoleViewer)
		vp := viewer.get("/invoices/" + id)
		require.Equal(t, http.StatusOK, vp.Status)
		require.Equal(t, 0, vp.Doc.Find("[data-issue], [data-delete], [data-edit-link]").Length())
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+id+"/issue", url.Values{"confirm": {"ask"}}).Status)
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+id+"/issue", url.Values{}).Status)
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+id+"/delete", url.Values{}).Status)
		require.Equal(t, http.StatusForbidden, viewer.get("/invoices/new").Status)

		// Issue: the confirm step says what happens, then the number is shown.
		ask := editor.post("/invoices/"+id+"/issue", url.Values{"confirm": {"ask"}})
		require.Equal(t, http.StatusOK, ask.Status, text(ask, "main"))
		step := text(ask, "[data-confirm-step]")
		require.Contains(t, step, "TEST-F-001")
		require.Contains(t, step, "locked")
		res = editor.post("/invoices/"+id+"/issue", url.Values{})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		page = editor.get("/invoices/" + id)
		require.Equal(t, "TEST-F-001", text(page, "[data-invoice-number]"))
		require.Equal(t, "open", page.Doc.Find("[data-payment-state]").AttrOr("data-payment-state", ""))
		require.Contains(t, text(page, "[data-invoice-events]"), "TEST-F-001")
		require.Equal(t, 1, page.Doc.Find(`form[action="/invoices/`+id+`/send"]`).Length())
		require.Equal(t, 0, page.Doc.Find("[data-edit-link], [data-issue], [data-delete]").Length())
		require.Equal(t, http.StatusConflict, editor.get("/invoices/"+id+"/edit").Status)
		require.Equal(t, http.StatusConflict, editor.post("/invoices/"+id, draftForm(tn.Site.ID)).Status, "an issued invoice never changes")
		require.Equal(t, http.StatusConflict, editor.post("/invoices/"+id+"/issue", url.Values{}).Status)
		require.Equal(t, http.StatusConflict, editor.post("/invoices/"+id+"/delete", url.Values{}).Status)
		after, err := env.Services().Invoice.Get(ctx, tn.Admin, tn.Org.ID, id)
		require.NoError(t, err)
		require.Len(t, after.Invoice.Lines, 3)

		// A payment link: a part below the minimum is refused in money, then one for
		// everything outstanding shows its URL.
		res = editor.post("/invoices/"+id+"/payment-link", url.Values{"amount": {"1.00"}})
		require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
		require.Contains(t, text(res, "[role=alert]"), "5.00 EUR")
		res = editor.post("/invoices/"+id+"/payment-link", url.Values{"amount": {""}})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		page = editor.get(res.Location)
		links := page.Doc.Find("[data-payment-link]")
		require.Equal(t, 1, links.Length())
		chk := links.AttrOr("data-payment-link", "")
		require.True(t, strings.HasPrefix(chk, domain.PrefixCheckout+"_"), chk)
		co, err := env.Services().Checkout.GetCheckout(ctx, tn.Admin, tn.Org.ID, chk)
		require.NoError(t, err)
		require.Equal(t, after.Balance.Outstanding, co.Checkout.Amount)
		require.Equal(t, env.Admin.Config.Hosts.PaymentURL(co.Checkout.ShortCode), links.Find("input[readonly]").AttrOr("value", ""))
		// The payment made through the link links to the invoice.
		txn := wireTransaction(t, env, tn, co.Checkout)
		tp := editor.get("/transactions/" + txn.ID)
		require.Equal(t, "/invoices/"+id, tp.Doc.Find("a[data-invoice-link]").AttrOr("href", ""))
		require.Equal(t, "TEST-F-001", text(tp, "a[data-invoice-link]"))

		// The list filters by status.
		draft2 := invoiceIDFrom(t, editor.post("/invoices", draftForm(tn.Site.ID)))
		issued := editor.get("/invoices?status=issued")
		require.Equal(t, 1, issued.Doc.Find(`[data-invoice="`+id+`"]`).Length())
		require.Equal(t, 0, issued.Doc.Find(`[data-invoice="`+draft2+`"]`).Length())
		drafts := editor.get("/invoices?status=draft&mode=test")
		require.Equal(t, 1, drafts.Doc.Find(`[data-invoice="`+draft2+`"]`).Length())

		// Delete a draft after its confirm step.
		ask = editor.post("/invoices/"+draft2+"/delete", url.Values{"confirm": {"ask"}})
		require.Contains(t, text(ask, "[data-confirm-step]"), "Acme GmbH")
		res = editor.post("/invoices/"+draft2+"/delete", url.Values{})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		require.Equal(t, http.StatusNotFound, editor.get("/invoices/"+draft2).Status)

		// A draft for an existing client takes its details; the client page lists it.
		email := "client." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		company := "Client Co"
		cl, err := env.Services().Client.CreateClient(ctx, tn.Admin, tn.Org.ID, domain.ModeTest, domain.ClientInput{Email: &email, Company: &company,
			BillingAddress: &domain.Address{Address1: "Rue 2", City: "Paris", Postcode: "75001", Country: "FR"}})
		require.NoError(t, err)
		start := editor.get("/invoices/new?client=" + cl.ID)
		require.Equal(t, cl.ID, start.Doc.Find("#f-clientId option[selected]").AttrOr("value", ""))
		forClient := draftForm(tn.Site.ID)
		for _, k := range []string{"client.company", "client.name", "client.email", "client.line1", "client.postalCode", "client.city", "client.country"} {
			forClient.Set(k, "")
		}
		forClient.Set("clientId", cl.ID)
		cid := invoiceIDFrom(t, editor.post("/invoices", forClient))
		cv, err := env.Services().Invoice.Get(ctx, tn.Admin, tn.Org.ID, cid)
		require.NoError(t, err)
		require.Equal(t, domain.Party{Company: company, Email: email, Line1: "Rue 2", City: "Paris", PostalCode: "75001", Country: "FR"}, cv.Invoice.Client)
		cp := editor.get("/clients/" + cl.ID)
		require.Equal(t, http.StatusOK, cp.Status)
		require.Equal(t, 1, cp.Doc.Find(`[data-invoices] [data-invoice="`+cid+`"]`).Length(), text(cp, "[data-invoices]"))
		require.Equal(t, 0, cp.Doc.Find(`[data-invoices] [data-invoice="`+id+`"]`).Length(), "another client's invoice is not listed")
		// Choosing no client on the edit form takes the draft away from the client.
		require.Equal(t, cid, invoiceIDFrom(t, editor.post("/invoices/"+cid, draftForm(tn.Site.ID))))
		cv, err = env.Services().Invoice.Get(ctx, tn.Admin, tn.Org.ID, cid)
		require.NoError(t, err)
		require.Nil(t, cv.Invoice.ClientID)
		require.Equal(t, "Acme GmbH", cv.Invoice.Client.Company)
	})
}
