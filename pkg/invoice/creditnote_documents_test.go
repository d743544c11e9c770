package invoice_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestCreditNotePDFIsStoredAtIssueAndSent: a direct credit of part of a reverse-charged
// invoice queues the job that stores the note's PDF (its number, the invoice it
// credits, the reason, the credited totals, the reverse-charge note; page 1 renders to PNG);
// every download answers those bytes, and the e-mail to the client carries them.
func TestCreditNotePDFIsStoredAtIssueAndSent(t *testing.T) {
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
		draft, err := svc.CreateDraft(ctx, actor, org.ID, reverseCharge(site.ID))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := svc.Issue(ctx, actor, org.ID, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		part := int64(1000)
		cn, err := svc.Credit(ctx, actor, org.ID, inv.ID, invoice.CreditInput{Amount: &part, Reason: "Damaged teapot"})
		if err != nil {
			t.Fatal(err)
		}
		requireNoDocument(t, s, org.ID, domain.DocCreditNote, cn.ID)
		storeDocuments(t, s, svc)
		stored, err := s.GetDocument(ctx, org.ID, domain.DocCreditNote, cn.ID)
		if err != nil {
			t.Fatalf("no PDF stored by the credit note's job: %v", err)
		}
		text := pdfText(t, stored.Bytes)
		requireText(t, "the credit note", text, "CREDIT NOTE", cn.Number, "Credits invoice", *inv.Number, "Reason: Damaged teapot",
			"Total credited", money(cn.TotalGross), "Reverse charge", "Boulangerie Dupont SARL", "Shop")

		f, err := svc.CreditNotePDF(ctx, actor, org.ID, cn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.Bytes, stored.Bytes) || f.Name != "credit-note-"+cn.Number+".pdf" {
			t.Fatalf("download: %s, %d bytes; stored %d", f.Name, len(f.Bytes), len(stored.Bytes))
		}
		testKey := domain.Actor{Type: domain.ActorAPIKey, ID: "key_t", OrganizationID: org.ID, Mode: domain.ModeTest, Scopes: []string{"invoice:read"}}
		if _, err := svc.CreditNotePDF(ctx, testKey, org.ID, cn.ID); !domain.IsNotFound(err) {
			t.Fatalf("a test key reading a live credit note: %v", err)
		}

		dir := t.TempDir()
		in := filepath.Join(dir, "cn.pdf")
		if err := os.WriteFile(in, stored.Bytes, 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", in, filepath.Join(dir, "p")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		pngs, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
		if len(pngs) != 1 {
			t.Fatalf("pdftoppm wrote %v", pngs)
		}
		if st, err := os.Stat(pngs[0]); err != nil || st.Size() < 5_000 {
			t.Fatalf("page 1's PNG: %v", err)
		}

		sent, err := svc.SendCreditNote(ctx, actor, org.ID, cn.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		msg := srv.NextTo(t, "compta@dupont.example")
		if subj := decodeHeader(msg.Header.Get("Subject")); subj != "Credit note "+cn.Number+" from Teehaus Berlin GmbH" && subj != "Credit note "+cn.Number+" from "+org.Name {
			t.Errorf("subject %q", subj)
		}
		name, data := pdfAttachment(t, msg)
		if name != "credit-note-"+cn.Number+".pdf" || !bytes.Equal(data, stored.Bytes) || sent.SHA256 != stored.SHA256 {
			t.Fatalf("attachment %q is not the stored PDF", name)
		}
	})
}
