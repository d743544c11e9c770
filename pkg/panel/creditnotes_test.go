package panel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// eur is an amount as the panel writes it (the amounts here stay below 1000 EUR).
func eur(minor int64) string { return fmt.Sprintf("%d.%02d EUR", minor/100, minor%100) }

// creditNoteIDFrom is the credit note id in the redirect after a credit.
func creditNoteIDFrom(t *testing.T, res *page, invoiceID string) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	loc, err := url.Parse(res.Location)
	require.NoError(t, err)
	require.Equal(t, "/invoices/"+invoiceID, loc.Path)
	require.Equal(t, "credit-note-issued", loc.Query().Get("notice"))
	id := loc.Query().Get("credit")
	require.True(t, strings.HasPrefix(id, domain.PrefixCreditNote+"_"), res.Location)
	return id
}

// A direct credit through the invoice's page: a viewer is refused; a wrong amount (more than
// is creditable, or not an amount) is said in money at once and nothing is issued; the
// confirm step names the amount and reason; then the note is issued, listed on the invoice
// (with the balance's new state), on its own page (lines, tax per rate, totals, the invoice
// it offsets, the PDF link), in the credit notes' tab and on the client's page. Crediting
// the rest leaves nothing to credit.
func TestCreditNoteScreensDirectCredit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		editor := signedIn(t, env, tn, domain.RoleEditor)
		svc := env.Services().Invoice

		email := "credit." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		company := "Credit Co"
		cl, err := env.Services().Client.CreateClient(ctx, tn.Admin, tn.Org.ID, domain.ModeTest, domain.ClientInput{Email: &email, Company: &company,
			BillingAddress: &domain.Address{Address1: "Rue 2", City: "Paris", Postcode: "75001", Country: "FR"}})
		require.NoError(t, err)
		draft := draftForm(tn.Site.ID)
		draft.Set("clientId", cl.ID)
		id := invoiceIDFrom(t, editor.post("/invoices", draft))
		require.Equal(t, http.StatusSeeOther, editor.post("/invoices/"+id+"/issue", url.Values{}).Status)
		v, err := svc.Get(ctx, tn.Admin, tn.Org.ID, id)
		require.NoError(t, err)
		total := v.Balance.Outstanding
		require.Positive(t, total)
		page := editor.get("/invoices/" + id)
		require.Equal(t, 1, page.Doc.Find("form[data-credit-form]").Length(), text(page, "[data-credit-notes]"))
		require.Contains(t, text(page, "[data-credit-notes]"), eur(total), "the creditable amount is offered")

		// A viewer sees no form and is refused, the confirm step too.
		viewer := signedIn(t, env, tn, domain.RoleViewer)
		require.Equal(t, 0, viewer.get("/invoices/"+id).Doc.Find("form[data-credit-form]").Length())
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+id+"/credit", url.Values{"confirm": {"ask"}, "credit.amount": {"1.00"}}).Status)
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {"1.00"}}).Status)

		// Wrong amounts, said in money, at once (the confirm step is not reached).
		res := editor.post("/invoices/"+id+"/credit", url.Values{"confirm": {"ask"}, "credit.amount": {strings.TrimSuffix(eur(total+1), " EUR")}, "credit.reason": {"Too much"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, text(res, "main"))
		require.Equal(t, "true", res.Doc.Find("#f-credit-amount").AttrOr("aria-invalid", ""))
		require.Contains(t, text(res, "[role=alert]"), "at most "+eur(total))
		require.Equal(t, "Too much", res.Doc.Find("#f-credit-reason").AttrOr("value", ""), "the form keeps what was typed")
		res = editor.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {"ten"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		require.Contains(t, text(res, "#f-credit-amount-error"), "like 10.50")
		res = editor.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {"1.00"}, "credit.reason": {"two\nlines"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		require.Contains(t, text(res, "#f-credit-reason-error"), "one line")
		notes, err := svc.ListCreditNotes(ctx, tn.Admin, tn.Org.ID, domain.CreditNoteFilter{InvoiceID: id})
		require.NoError(t, err)
		require.Empty(t, notes, "nothing issued by a refused form")

		// The confirm step, then the credit.
		ask := editor.post("/invoices/"+id+"/credit", url.Values{"confirm": {"ask"}, "credit.amount": {"50"}, "credit.reason": {"Goodwill"}})
		require.Equal(t, http.StatusOK, ask.Status, text(ask, "main"))
		step := text(ask, "[data-confirm-step]")
		require.Contains(t, step, "50.00 EUR")
		require.Contains(t, step, "Goodwill")
		require.Contains(t, step, eur(total-5000)+" is outstanding")
		require.Equal(t, "50.00", ask.Doc.Find(`[data-confirm-step] input[name="credit.amount"]`).AttrOr("value", ""))
		cnID := creditNoteIDFrom(t, editor.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {"50.00"}, "credit.reason": {"Goodwill"}}), id)

		page = editor.get("/invoices/" + id + "?credit=" + cnID)
		require.Equal(t, http.StatusOK, page.Status)
		row := page.Doc.Find(`[data-credit-notes] tr[data-credit-note="` + cnID + `"]`)
		require.Equal(t, 1, row.Length(), text(page, "[data-credit-notes]"))
		require.Equal(t, "credit", row.Find("[data-credit-kind]").AttrOr("data-credit-kind", ""))
		require.Contains(t, row.Text(), "50.00 EUR")
		require.Equal(t, "partially_credited", page.Doc.Find("[data-payment-state]").AttrOr("data-payment-state", ""))
		require.Equal(t, eur(total-5000), text(page, "[data-outstanding]"))
		require.Equal(t, "50.00 EUR", text(page, "[data-credited]"))

		// The credit note's page.
		cp := editor.get("/credit-notes/" + cnID)
		require.Equal(t, http.StatusOK, cp.Status, text(cp, "main"))
		cn, err := svc.GetCreditNote(ctx, tn.Admin, tn.Org.ID, cnID)
		require.NoError(t, err)
		require.Equal(t, cn.Number, text(cp, "[data-credit-note-number]"))
		require.Equal(t, "/credit-notes/"+cnID+"/pdf", cp.Doc.Find("a[data-pdf-link]").AttrOr("href", ""))
		require.Equal(t, "/invoices/"+id, cp.Doc.Find("a[data-offsets]").AttrOr("href", ""))
		require.Equal(t, "TEST-INV-", text(cp, "a[data-offsets]")[:9])
		require.Equal(t, "Goodwill", text(cp, "[data-reason]"))
		require.Equal(t, 2, cp.Doc.Find("[data-tax-breakdown] tbody tr").Length(), "tax per rate of the invoice")
		require.Equal(t, "50.00 EUR", text(cp, "[data-total]"))
		require.Contains(t, cp.Doc.Find("#client-h").Parent().Text(), "Acme GmbH", "the client block as invoiced")
		require.Equal(t, "/clients/"+cl.ID, cp.Doc.Find("a[data-client-link]").AttrOr("href", ""))
		require.Equal(t, http.StatusOK, viewer.get("/credit-notes/"+cnID).Status, "a viewer reads credit notes")
		other := env.NewTenant(t)
		require.Equal(t, http.StatusNotFound, signedIn(t, env, other, domain.RoleAdmin).get("/credit-notes/"+cnID).Status)

		// The credit notes' tab of the invoices, filtered by kind.
		require.Equal(t, "/credit-notes", editor.get("/invoices").Doc.Find("a[data-credit-notes-tab]").AttrOr("href", ""))
		list := editor.get("/credit-notes")
		require.Equal(t, http.StatusOK, list.Status, text(list, "main"))
		require.Equal(t, 1, list.Doc.Find(`[data-credit-note="`+cnID+`"]`).Length())
		require.Equal(t, 0, editor.get("/credit-notes?kind=refund").Doc.Find(`[data-credit-note="`+cnID+`"]`).Length())
		require.Equal(t, 1, editor.get("/credit-notes?kind=credit&mode=test").Doc.Find(`[data-credit-note="`+cnID+`"]`).Length())
		require.Equal(t, http.StatusBadRequest, editor.get("/credit-notes?kind=gift").Status)

		// The client's page lists it.
		clp := editor.get("/clients/" + cl.ID)
		require.Equal(t, http.StatusOK, clp.Status)
		require.Equal(t, 1, clp.Doc.Find(`[data-credit-notes] [data-credit-note="`+cnID+`"]`).Length(), text(clp, "[data-credit-notes]"))

		// Crediting the rest (the amount left empty): fully credited, nothing left to credit.
		cn2 := creditNoteIDFrom(t, editor.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {""}}), id)
		page = editor.get("/invoices/" + id)
		require.Equal(t, 2, page.Doc.Find("[data-credit-notes] tr[data-credit-note]").Length())
		require.Equal(t, "credited", page.Doc.Find("[data-payment-state]").AttrOr("data-payment-state", ""))
		require.Equal(t, 0, page.Doc.Find("form[data-credit-form]").Length())
		got, err := svc.GetCreditNote(ctx, tn.Admin, tn.Org.ID, cn2)
		require.NoError(t, err)
		require.Equal(t, total-5000, got.TotalGross)
		res = editor.post("/invoices/"+id+"/credit", url.Values{"credit.amount": {"1.00"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		require.Contains(t, text(res, "[role=alert]"), "Nothing of this invoice is left to credit")

		// A draft cannot be credited; a note of an invoice without the client is not on its page.
		d2 := invoiceIDFrom(t, editor.post("/invoices", draftForm(tn.Site.ID)))
		require.Equal(t, http.StatusConflict, editor.post("/invoices/"+d2+"/credit", url.Values{"credit.amount": {"1.00"}}).Status)
		require.Equal(t, http.StatusSeeOther, editor.post("/invoices/"+d2+"/issue", url.Values{}).Status)
		otherNote := creditNoteIDFrom(t, editor.post("/invoices/"+d2+"/credit", url.Values{"credit.amount": {"1.00"}}), d2)
		clp = editor.get("/clients/" + cl.ID)
		require.Equal(t, 2, clp.Doc.Find(`[data-credit-notes] [data-credit-note]`).Length(), text(clp, "[data-credit-notes]"))
		require.Equal(t, 0, clp.Doc.Find(`[data-credit-notes] [data-credit-note="`+otherNote+`"]`).Length())
		require.Equal(t, 3, editor.get("/credit-notes").Doc.Find(`[data-credit-note-list] tr[data-credit-note]`).Length())
		// The list's pages, both ways (the panel's pager uses both cursors).
		first, more, err := svc.ListCreditNotesPage(ctx, tn.Admin, tn.Org.ID, domain.CreditNoteFilter{Limit: 2})
		require.NoError(t, err)
		require.True(t, more)
		require.Equal(t, otherNote, first[0].ID, "newest first")
		last, more, err := svc.ListCreditNotesPage(ctx, tn.Admin, tn.Org.ID, domain.CreditNoteFilter{Limit: 2, After: first[1].ID})
		require.NoError(t, err)
		require.False(t, more)
		require.Equal(t, []string{cnID}, []string{last[0].ID})
		back, more, err := svc.ListCreditNotesPage(ctx, tn.Admin, tn.Org.ID, domain.CreditNoteFilter{Limit: 1, Before: cnID})
		require.NoError(t, err)
		require.True(t, more, "a newer page still follows")
		require.Equal(t, []string{cn2}, []string{back[0].ID})
	})
}

// A refund of an invoiced payment (the payment use case, as the panel's refund form does)
// yields a refund credit note through the outbox hook; the panel lists it on the invoice (the
// invoice paid in full offers no direct credit), in the credit notes' tab and shows its page.
func TestCreditNoteScreensRefundNote(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		svc := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)})
		d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s)})
		d.Register("invoice", func(ctx context.Context, tx ipn.Store, e domain.Event) error {
			return svc.Hook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
		})
		d.Register("credit_note", func(ctx context.Context, tx ipn.Store, e domain.Event) error {
			return svc.CreditHook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
		})
		dispatch := func() {
			for range 10 {
				if n, err := d.DispatchOnce(ctx); err != nil || n == 0 {
					require.NoError(t, err)
					return
				}
			}
		}
		set, err := svc.Settings(ctx, tn.Admin, tn.Org.ID)
		require.NoError(t, err)
		set.AutoIssue = true
		_, err = svc.SaveSettings(ctx, tn.Admin, tn.Org.ID, *set)
		require.NoError(t, err)
		txn := paidTransaction(t, env, tn, 11900)
		dispatch()
		inv, err := s.GetInvoiceBySourceTransaction(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)

		admin := signedIn(t, env, tn, domain.RoleAdmin)
		page := admin.get("/invoices/" + inv.ID)
		require.Equal(t, "paid", page.Doc.Find("[data-payment-state]").AttrOr("data-payment-state", ""))
		require.Equal(t, 0, page.Doc.Find("form[data-credit-form]").Length(), "what was paid is credited by a refund")
		require.Contains(t, text(page, "[data-credit-notes]"), "refunding the payment")

		_, err = env.Services().Payment.Refund(ctx, tn.Admin, tn.Org.ID, txn.ID, payment.RefundInput{Amount: ptrTo(int64(2500)), Reason: "broken lid"})
		require.NoError(t, err)
		dispatch()
		notes, err := svc.ListCreditNotes(ctx, tn.Admin, tn.Org.ID, domain.CreditNoteFilter{InvoiceID: inv.ID})
		require.NoError(t, err)
		require.Len(t, notes, 1)
		cnID := notes[0].ID

		page = admin.get("/invoices/" + inv.ID)
		row := page.Doc.Find(`[data-credit-notes] tr[data-credit-note="` + cnID + `"]`)
		require.Equal(t, 1, row.Length(), text(page, "[data-credit-notes]"))
		require.Equal(t, "refund", row.Find("[data-credit-kind]").AttrOr("data-credit-kind", ""))
		require.Contains(t, row.Text(), "25.00 EUR")
		require.Equal(t, "partially_refunded", page.Doc.Find("[data-payment-state]").AttrOr("data-payment-state", ""))
		list := admin.get("/credit-notes?kind=refund")
		require.Equal(t, 1, list.Doc.Find(`[data-credit-note="`+cnID+`"]`).Length(), text(list, "main"))
		cp := admin.get("/credit-notes/" + cnID)
		require.Equal(t, http.StatusOK, cp.Status, text(cp, "main"))
		require.Equal(t, "refund", cp.Doc.Find("[data-credit-kind]").AttrOr("data-credit-kind", ""))
		require.Equal(t, "25.00 EUR", text(cp, "[data-total]"))
		require.Equal(t, 1, cp.Doc.Find(`a[href="/transactions/`+txn.ID+`"]`).Length())
	})
}

func ptrTo[T any](v T) *T { return &v }
