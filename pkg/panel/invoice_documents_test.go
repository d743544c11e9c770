package panel_test

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// From the panel: a draft's PDF is its pro forma and cannot be sent (409); an issued invoice's
// PDF is the stored one; a viewer downloads but cannot send, a POST without the CSRF token is
// refused, an editor's send mails the stored PDF to the client over SMTP and comes back to
// the invoice's page.
func TestPanelInvoicePDFAndSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		svc := env.Services().Invoice
		buyer := "buchhaltung-" + strings.ToLower(domain.RandomString(6)) + "@example.com"
		draft, err := svc.CreateDraft(ctx, tn.Admin, tn.Org.ID, invoice.DraftInput{Mode: domain.ModeTest, Currency: "EUR", Language: "en",
			SiteID: &tn.Site.ID, Client: domain.Party{Company: "Acme Ltd", Email: buyer, Country: "DE"},
			Lines: []invoice.LineInput{{Description: "Widget", Quantity: 2, UnitPrice: 5950, Type: "goods"}}})
		require.NoError(t, err)

		viewer := signedIn(t, env, tn, domain.RoleViewer)
		pf := viewer.get("/invoices/" + draft.ID + "/pdf")
		require.Equal(t, http.StatusOK, pf.Status, pf.Body)
		require.Equal(t, "application/pdf", pf.Header.Get("Content-Type"))
		require.Contains(t, pf.Header.Get("Content-Disposition"), "pro-forma-"+draft.ID+".pdf")
		editor := signedIn(t, env, tn, domain.RoleEditor)
		editor.get("/organizations")
		require.Equal(t, http.StatusConflict, editor.post("/invoices/"+draft.ID+"/send", nil).Status, "a draft was sent")

		inv, err := svc.Issue(ctx, tn.Admin, tn.Org.ID, draft.ID)
		require.NoError(t, err)
		// No main backend works the documents queue here: the first download stores the PDF.
		got := viewer.get("/invoices/" + inv.ID + "/pdf")
		require.Equal(t, http.StatusOK, got.Status)
		stored, err := env.Store.GetDocument(ctx, tn.Org.ID, domain.DocInvoice, inv.ID)
		require.NoError(t, err)
		require.Equal(t, `attachment; filename=invoice-`+*inv.Number+`.pdf`, got.Header.Get("Content-Disposition"))
		require.True(t, bytes.Equal([]byte(got.Body), stored.Bytes), "the panel's PDF is not the stored one")

		viewer.get("/organizations")
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+inv.ID+"/send", nil).Status, "a viewer sent an invoice")
		require.Equal(t, http.StatusForbidden, editor.post("/invoices/"+inv.ID+"/send", url.Values{"csrf": {"forged"}}).Status)
		require.Empty(t, env.Mail.Pending())
		res := editor.post("/invoices/"+inv.ID+"/send", nil)
		require.Equal(t, http.StatusSeeOther, res.Status, res.Body)
		require.Equal(t, "/invoices/"+inv.ID+"?notice=invoice-sent", res.Location)

		m := env.Mail.NextTo(t, buyer)
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "[TEST] Invoice "+*inv.Number+" from "+inv.Seller.Company, subject)
		a := m.Attachment(t)
		name, data := a.Name, a.Data
		require.Equal(t, "invoice-"+*inv.Number+".pdf", name)
		require.True(t, bytes.Equal(data, stored.Bytes), "the attachment is not the stored PDF")

		// Its credit note: the stored PDF downloads, and the send mails it.
		part := int64(1000)
		cn, err := svc.Credit(ctx, tn.Admin, tn.Org.ID, inv.ID, invoice.CreditInput{Amount: &part, Reason: "Goodwill"})
		require.NoError(t, err)
		got = viewer.get("/credit-notes/" + cn.ID + "/pdf")
		require.Equal(t, http.StatusOK, got.Status)
		cnDoc, err := env.Store.GetDocument(ctx, tn.Org.ID, domain.DocCreditNote, cn.ID)
		require.NoError(t, err)
		require.True(t, bytes.Equal([]byte(got.Body), cnDoc.Bytes), "the panel's credit note PDF is not the stored one")
		editor.get("/organizations")
		res = editor.post("/credit-notes/"+cn.ID+"/send", url.Values{"to": {"copy@example.com"}})
		require.Equal(t, http.StatusSeeOther, res.Status, res.Body)
		require.Equal(t, "/invoices/"+inv.ID+"?notice=credit-note-sent", res.Location)
		a = env.Mail.NextTo(t, "copy@example.com").Attachment(t)
		name, data = a.Name, a.Data
		require.Equal(t, "credit-note-"+cn.Number+".pdf", name)
		require.True(t, bytes.Equal(data, cnDoc.Bytes))
	})
}
