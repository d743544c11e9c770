package adminapi_test

import (
	"bytes"
	"context"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// An invoice's PDF through the API: a draft's is a pro forma; the issued invoice's is the one
// stored at issue, the same bytes on every download and after the seller settings change
// (pdftotext finds its number, parties, totals and tax line); POST /send mails those bytes to
// the client over SMTP (a draft: 409 INVOICE_NOT_ISSUED); a test key finds neither.
func TestInvoicePDFDownloadAndSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		seller := map[string]any{"seller": map[string]any{"company": "Kaffeerösterei Köln GmbH", "line1": "Marktplatz 1", "city": "Köln", "postalCode": "50667", "country": "DE", "vatId": "DE136695976"}}
		require.Equal(t, http.StatusOK, apptest.Do(t, "PATCH", base+"/invoice-settings", tn.LiveKey, seller).Status)
		client := "einkauf." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		draft := apptest.Do(t, "POST", base+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "language": "de",
			"client": map[string]any{"company": "Café Ernst KG", "email": client, "city": "Wien", "country": "AT"},
			"lines":  []map[string]any{{"description": "Espresso-Bohnen 1 kg", "quantity": 4, "unitPrice": 2380, "type": "goods"}}})
		require.Equal(t, http.StatusCreated, draft.Status, string(draft.Body))
		id := draft.JSON(t)["id"].(string)

		pf := apptest.Do(t, "GET", base+"/invoices/"+id+"/pdf", tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, pf.Status, string(pf.Body))
		require.Equal(t, "application/pdf", pf.Header.Get("Content-Type"))
		require.Contains(t, pdfText(t, pf.Body), "PROFORMARECHNUNG")
		notIssued := apptest.Do(t, "POST", base+"/invoices/"+id+"/send", tn.LiveKey, map[string]any{})
		require.Equal(t, http.StatusConflict, notIssued.Status, string(notIssued.Body))
		require.Equal(t, domain.CodeInvoiceNotIssued, notIssued.JSON(t)["code"])

		issued := apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{})
		require.Equal(t, http.StatusOK, issued.Status, string(issued.Body))
		number := issued.JSON(t)["number"].(string)
		first := apptest.Do(t, "GET", base+"/invoices/"+id+"/pdf", tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, first.Status, string(first.Body))
		require.Equal(t, "application/pdf", first.Header.Get("Content-Type"))
		require.Equal(t, `attachment; filename=rechnung-`+number+`.pdf`, first.Header.Get("Content-Disposition"))
		text := pdfText(t, first.Body)
		// 4 × 23.80 gross to an Austrian consumer of an OSS-registered seller: Austrian VAT,
		// 20 % of 79.33 is 15.87, and the OSS note.
		for _, want := range []string{"RECHNUNG", number, "Kaffeerösterei Köln GmbH", "Café Ernst KG", "Österreich", "Espresso-Bohnen 1 kg",
			"95,20 EUR", "79,33 EUR", "15,87 EUR", "USt. 20 %", "One-Stop-Shop (OSS)", "Zahlungsstatus", "Offen"} {
			require.Contains(t, text, want)
		}
		require.Equal(t, http.StatusOK, apptest.Do(t, "PATCH", base+"/invoice-settings", tn.LiveKey,
			map[string]any{"seller": map[string]any{"company": "Renamed AG", "country": "DE"}}).Status)
		again := apptest.Do(t, "GET", base+"/invoices/"+id+"/pdf", tn.LiveKey, nil)
		require.True(t, bytes.Equal(first.Body, again.Body), "the stored PDF changed between downloads")
		require.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
		require.Equal(t, http.StatusNotFound, apptest.Do(t, "GET", base+"/invoices/"+id+"/pdf", tn.TestKey, nil).Status, "a test key reads a live invoice's PDF")

		sent := apptest.Do(t, "POST", base+"/invoices/"+id+"/send", tn.LiveKey, map[string]any{}, "Idempotency-Key", "send-"+id)
		require.Equal(t, http.StatusOK, sent.Status, string(sent.Body))
		require.Equal(t, client, sent.JSON(t)["to"])
		m := env.Mail.NextTo(t, client)
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		require.NoError(t, err)
		require.Equal(t, "Rechnung "+number+" von Kaffeerösterei Köln GmbH", subject)
		require.Contains(t, m.Text, "Guten Tag")
		a := m.Attachment(t)
		name, data := a.Name, a.Data
		require.Equal(t, "rechnung-"+number+".pdf", name)
		require.True(t, bytes.Equal(first.Body, data), "the attachment is not the stored PDF")
		replay := apptest.Do(t, "POST", base+"/invoices/"+id+"/send", tn.LiveKey, map[string]any{}, "Idempotency-Key", "send-"+id)
		require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
		require.Empty(t, env.Mail.Pending(), "a replayed send mailed again")

		stored, err := s.GetDocument(context.Background(), tn.Org.ID, domain.DocInvoice, id)
		require.NoError(t, err)
		require.True(t, bytes.Equal(stored.Bytes, first.Body))
	})
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "doc.pdf")
	require.NoError(t, os.WriteFile(in, pdf, 0o600))
	out, err := exec.Command("pdftotext", "-layout", in, "-").CombinedOutput()
	require.NoError(t, err, string(out))
	return string(out)
}

// A credit note's PDF through the API is the one stored at its issue, on both databases; the
// other mode's key finds none; POST /send mails those bytes.
func TestCreditNotePDFDownloadAndSend(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		client := "buyer." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		draft := apptest.Do(t, "POST", base+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "language": "en",
			"client": map[string]any{"name": "Ada Buyer", "email": client, "country": "DE"},
			"lines":  []map[string]any{{"description": "Consulting", "quantity": 1, "unitPrice": 11900, "type": "digital_service"}}})
		require.Equal(t, http.StatusCreated, draft.Status, string(draft.Body))
		id := draft.JSON(t)["id"].(string)
		require.Equal(t, http.StatusOK, apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{}).Status)
		credit := apptest.Do(t, "POST", base+"/invoices/"+id+"/credit-notes", tn.LiveKey, map[string]any{"amount": 5950, "reason": "Half cancelled"})
		require.Equal(t, http.StatusCreated, credit.Status, string(credit.Body))
		cn := credit.JSON(t)
		cnID, number := cn["id"].(string), cn["number"].(string)

		got := apptest.Do(t, "GET", base+"/credit-notes/"+cnID+"/pdf", tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, got.Status, string(got.Body))
		require.Equal(t, "application/pdf", got.Header.Get("Content-Type"))
		require.Equal(t, "attachment; filename=credit-note-"+number+".pdf", got.Header.Get("Content-Disposition"))
		text := pdfText(t, got.Body)
		for _, want := range []string{"CREDIT NOTE", number, "Half cancelled", "Total credited", "EUR 59.50", "VAT 19%", "Ada Buyer"} {
			require.Contains(t, text, want)
		}
		stored, err := s.GetDocument(context.Background(), tn.Org.ID, domain.DocCreditNote, cnID)
		require.NoError(t, err)
		require.True(t, bytes.Equal(stored.Bytes, got.Body))
		require.Equal(t, http.StatusNotFound, apptest.Do(t, "GET", base+"/credit-notes/"+cnID+"/pdf", tn.TestKey, nil).Status)

		sent := apptest.Do(t, "POST", base+"/credit-notes/"+cnID+"/send", tn.LiveKey, map[string]any{})
		require.Equal(t, http.StatusOK, sent.Status, string(sent.Body))
		a := env.Mail.NextTo(t, client).Attachment(t)
		name, data := a.Name, a.Data
		require.Equal(t, "credit-note-"+number+".pdf", name)
		require.True(t, bytes.Equal(data, stored.Bytes))
	})
}
