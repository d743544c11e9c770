package invoice_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"paygate.dev/pkg/document"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// pdfText is the PDF's text (pdftotext -layout).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func requireText(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// reverseCharge is a draft to a French business with a VAT id, on the site site.
func reverseCharge(siteID string) invoice.DraftInput {
	in := draftInput(domain.ModeLive)
	in.SiteID, in.Language = &siteID, "en"
	in.Client = domain.Party{Company: "Boulangerie Dupont SARL", Name: "Marie Dupont", Email: "compta@dupont.example", Line1: "1 rue de la Paix",
		City: "Paris", PostalCode: "75002", Country: "FR", VATID: "FR40303265045"}
	return in
}

// TestIssuedInvoicePDFIsStoredOnceAndNeverChanges: a draft's PDF is a pro forma, rendered each
// time; issuing queues the job that stores the invoice's PDF (number, parties, lines, totals,
// tax per rate, the reverse-charge note); every download answers those bytes, also after the
// site's branding and the seller settings change; the store refuses to overwrite them.
func TestIssuedInvoicePDFIsStoredOnceAndNeverChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		site := storetest.Site(t, s, org.ID)
		svc := newService(s)
		actor := editor(org.ID)
		owner := domain.Actor{Type: domain.ActorUser, ID: "usr_owner", OrganizationID: org.ID, Role: domain.RoleAdmin}
		if _, err := svc.SaveSettings(ctx, owner, org.ID, domain.InvoiceSettings{Seller: domain.Party{Company: "Teehaus Berlin GmbH",
			Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE", VATID: "DE136695976"}, PaymentLinkMinimum: 100}); err != nil {
			t.Fatal(err)
		}
		draft, err := svc.CreateDraft(ctx, actor, org.ID, reverseCharge(site.ID))
		if err != nil {
			t.Fatal(err)
		}
		pf, err := svc.PDF(ctx, actor, org.ID, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireText(t, "the pro forma", pdfText(t, pf.Bytes), "PRO FORMA INVOICE", "PRO FORMA: this is not a tax invoice", "Teehaus Berlin GmbH", "Boulangerie Dupont SARL")
		if pf.SHA256 != "" || !strings.HasPrefix(pf.Name, "pro-forma-inv_") {
			t.Errorf("pro forma file: %q sha %q", pf.Name, pf.SHA256)
		}
		if _, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, draft.ID); !domain.IsNotFound(err) {
			t.Fatalf("a pro forma was stored: %v", err)
		}

		inv, err := svc.Issue(ctx, actor, org.ID, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireNoDocument(t, s, org.ID, domain.DocInvoice, inv.ID)
		storeDocuments(t, s, svc)
		stored, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, inv.ID)
		if err != nil {
			t.Fatalf("no document stored by the issue's job: %v", err)
		}
		sum := sha256.Sum256(stored.Bytes)
		if stored.SHA256 != hex.EncodeToString(sum[:]) || stored.ContentType != "application/pdf" {
			t.Fatalf("stored %s %s", stored.SHA256, stored.ContentType)
		}
		text := pdfText(t, stored.Bytes)
		// 2 × 19.99 + 5.00 with German VAT taken off the gross prices, reverse charged: 37.80 net.
		requireText(t, "the invoice", text, "INVOICE", *inv.Number, "Teehaus Berlin GmbH", "DE136695976", "Boulangerie Dupont SARL",
			"FR40303265045", "France", "Teekanne", "Versand", "Reverse charge", "Article 196", "VAT 0%",
			"Payment status", "Open", "Shop")
		requireText(t, "the invoice", text, money(inv.TotalGross), money(inv.TotalNet))
		if strings.Contains(text, "PRO FORMA") {
			t.Error("the issued invoice says PRO FORMA")
		}

		site.Name, site.PrimaryColor = "Renamed Shop", "#ff0000"
		if err := s.UpdateSite(ctx, site); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SaveSettings(ctx, owner, org.ID, domain.InvoiceSettings{Seller: domain.Party{Company: "Other Name AG"}, PaymentLinkMinimum: 100}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			f, err := svc.PDF(ctx, actor, org.ID, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f.Bytes, stored.Bytes) || f.SHA256 != stored.SHA256 || f.Name != "invoice-"+*inv.Number+".pdf" {
				t.Fatalf("download %d: %d bytes, sha %s, name %s; stored %d bytes", i, len(f.Bytes), f.SHA256, f.Name, len(stored.Bytes))
			}
		}
		err = s.SaveDocument(ctx, &domain.Document{OrganizationID: org.ID, Kind: domain.DocInvoice, DocumentID: inv.ID, ContentType: "application/pdf", Bytes: []byte("%PDF-forged")})
		if domain.ErrorCode(err) != domain.CodeDocumentStored {
			t.Fatalf("overwriting the stored PDF: %v", err)
		}
		if err := s.ExecAdmin(ctx, "UPDATE documents SET sha256 = 'x' WHERE document_id = '"+inv.ID+"'"); err == nil {
			t.Fatal("the database let a stored document change")
		}
		again, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, inv.ID)
		if err != nil || !bytes.Equal(again.Bytes, stored.Bytes) {
			t.Fatalf("the stored bytes changed: %v", err)
		}

		// A download that comes before the issue's job stores the PDF itself, as the job would
		// have (the state at issue: open, though a credit came since); the job then finds it
		// stored and leaves it as it is.
		second, err := svc.CreateDraft(ctx, actor, org.ID, reverseCharge(site.ID))
		if err != nil {
			t.Fatal(err)
		}
		if second, err = svc.Issue(ctx, actor, org.ID, second.ID); err != nil {
			t.Fatal(err)
		}
		part := int64(500)
		if _, err := svc.Credit(ctx, actor, org.ID, second.ID, invoice.CreditInput{Amount: &part, Reason: "Goodwill"}); err != nil {
			t.Fatal(err)
		}
		first, err := svc.PDF(ctx, actor, org.ID, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		requireText(t, "the first download", pdfText(t, first.Bytes), *second.Number, "Renamed Shop", "Other Name AG", "Payment status", "Open")
		storeDocuments(t, s, svc) // the invoice's job and the credit note's
		kept, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, second.ID)
		if err != nil || !bytes.Equal(kept.Bytes, first.Bytes) || kept.SHA256 != first.SHA256 {
			t.Fatalf("the job replaced the PDF the first download stored: %v", err)
		}

		// Another organisation's actor, and a test-mode key, find nothing.
		other := storetest.Org(t, s)
		if _, err := svc.PDF(ctx, editor(other.ID), org.ID, inv.ID); !domain.IsNotFound(err) {
			t.Fatalf("another organisation's editor: %v", err)
		}
		testKey := domain.Actor{Type: domain.ActorAPIKey, ID: "key_t", OrganizationID: org.ID, Mode: domain.ModeTest, Scopes: []string{"invoice:read"}}
		if _, err := svc.PDF(ctx, testKey, org.ID, inv.ID); !domain.IsNotFound(err) {
			t.Fatalf("a test key reading a live invoice: %v", err)
		}
	})
}

// money writes minor units of EUR as the invoice's English PDF does.
func money(minor int64) string { return document.LocaleFor("en").Money(minor, "EUR") }

// TestSendMailsTheStoredPDF: an issued invoice goes to its client over SMTP (a real server on
// loopback) with the stored PDF attached, in the invoice's language; a draft is refused with
// INVOICE_NOT_ISSUED; a server without e-mail answers MAIL_DISABLED; the send is audited.
func TestSendMailsTheStoredPDF(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		srv := mailtest.Start(t, mailtest.Options{})
		smtp, err := mail.NewSMTP(srv.Config("Paygate <billing@paygate.example>"), nil)
		if err != nil {
			t.Fatal(err)
		}
		org := storetest.Org(t, s)
		site := storetest.Site(t, s, org.ID)
		svc := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s), Mailer: mail.InvoiceMailer(smtp)})
		actor := editor(org.ID)
		in := reverseCharge(site.ID)
		in.Language = "fr"
		draft, err := svc.CreateDraft(ctx, actor, org.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Send(ctx, actor, org.ID, draft.ID, ""); domain.ErrorCode(err) != domain.CodeInvoiceNotIssued {
			t.Fatalf("sending a draft: %v", err)
		}
		inv, err := svc.Issue(ctx, actor, org.ID, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Send(ctx, actor, org.ID, inv.ID, "not an address"); domain.ErrorKind(err) != domain.KindInvalid {
			t.Fatalf("a malformed address: %v", err)
		}
		sent, err := svc.Send(ctx, actor, org.ID, inv.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		msg := srv.NextTo(t, "compta@dupont.example")
		if subj := msg.Header.Get("Subject"); !strings.Contains(decodeHeader(subj), "Facture "+*inv.Number) {
			t.Errorf("subject %q", subj)
		}
		requireText(t, "the e-mail", msg.Text, "Bonjour", *inv.Number)
		name, data := pdfAttachment(t, msg)
		stored, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if name != "facture-"+*inv.Number+".pdf" || !bytes.Equal(data, stored.Bytes) || sent.SHA256 != stored.SHA256 {
			t.Fatalf("attachment %q (%d bytes) is not the stored PDF (%d bytes)", name, len(data), len(stored.Bytes))
		}
		if _, err := svc.Send(ctx, actor, org.ID, inv.ID, "boss@dupont.example"); err != nil {
			t.Fatal(err)
		}
		srv.NextTo(t, "boss@dupont.example")
		audits, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: org.ID, TargetID: inv.ID, Action: "invoice.send", Limit: 10})
		if err != nil || len(audits) != 2 {
			t.Fatalf("audited sends: %d, %v", len(audits), err)
		}

		off := newService(s) // no mailer
		if _, err := off.Send(ctx, actor, org.ID, inv.ID, ""); domain.ErrorCode(err) != invoice.CodeMailDisabled {
			t.Fatalf("without e-mail: %v", err)
		}
		viewer := domain.Actor{Type: domain.ActorUser, ID: "usr_v", OrganizationID: org.ID, Role: domain.RoleViewer}
		if _, err := svc.Send(ctx, viewer, org.ID, inv.ID, ""); domain.ErrorKind(err) != domain.KindForbidden {
			t.Fatalf("a viewer sending: %v", err)
		}
	})
}

// decodeHeader decodes an RFC 2047 header value.
func decodeHeader(v string) string {
	d, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return v
	}
	return d
}

// pdfAttachment is the message's one attachment, which must be a PDF: its file name and bytes.
func pdfAttachment(t *testing.T, msg mailtest.Message) (string, []byte) {
	t.Helper()
	a := msg.Attachment(t)
	if a.ContentType != "application/pdf" {
		t.Errorf("attachment content type %q", a.ContentType)
	}
	return a.Name, a.Data
}
