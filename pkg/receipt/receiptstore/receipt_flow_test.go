package receiptstore_test

import (
	"context"
	"strings"
	"testing"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A paid checkout produces exactly one receipt, in the language of the page the buyer paid
// on, with the items, the tax per rate, the totals, the transaction id and the merchant's
// contact; a repeated success event queues nothing more, and a retried job (run again by
// hand, and queued again in River) sends nothing more.
func TestPaidCheckoutSendsExactlyOneReceipt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := setup(t, s, mailtest.Options{})
		buyer := "kaeufer-" + domain.RandomString(6) + "@example.com"
		txn := e.paid(t, domain.ModeLive, buyer, "de")
		e.dispatch(t, txn)
		if n := e.jobs.Step(t); n != 1 {
			t.Fatalf("%d job runs, want 1", n)
		}
		m := e.srv.NextTo(t, buyer)
		if subject(t, m) != "Ihre Quittung von Shop" {
			t.Errorf("subject %q", subject(t, m))
		}
		for _, want := range []string{"Teekanne\n  2 × 19,99 EUR = 39,98 EUR", "Versand\n  1 × 5,00 EUR = 5,00 EUR",
			"MwSt. 19 % (37,80 EUR): 7,18 EUR", "Bezahlter Gesamtbetrag: 44,98 EUR", "Transaktions-ID: " + txn.ID,
			"Zahlungsart: Banküberweisung", "help@shop.example"} {
			if !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", "\n"), want) {
				t.Errorf("text lacks %q:\n%s", want, m.Text)
			}
		}
		if !strings.Contains(m.HTML, `lang="de"`) || !strings.Contains(m.HTML, txn.ID) || !strings.Contains(m.HTML, "Teekanne") {
			t.Errorf("html part: %s", m.HTML)
		}
		rs := e.receipts(t, txn)
		if len(rs) != 1 || rs[0].Status != domain.ReceiptSent || rs[0].Attempts != 1 || rs[0].Kind != domain.ReceiptAutomatic ||
			rs[0].Language != "de" || rs[0].SentAt == nil {
			t.Fatalf("receipts %+v", rs)
		}

		// The success event again (a provider repeating itself, an event redelivered).
		ev := &domain.Event{OrganizationID: e.org.ID, Type: domain.TransactionEventType(domain.TxnSucceeded), TransactionID: &txn.ID,
			CheckoutID: &txn.CheckoutID, Version: 99, Status: string(domain.TxnSucceeded)}
		if err := s.AppendEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
		e.dispatch(t, txn)
		if rs := e.receipts(t, txn); len(rs) != 1 {
			t.Fatalf("a repeated success event made %d receipts", len(rs))
		}
		if n := receiptJobs(t, s, rs[0].ID); n != 1 {
			t.Fatalf("%d jobs for the receipt, want 1", n)
		}

		// The job again: by hand (River retrying it after its run recorded the send), and as
		// a new River job.
		if err := e.svc.Send(ctx, e.org.ID, rs[0].ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := queue.Insert(ctx, s, receipt.SendArgs{OrganizationID: e.org.ID, ReceiptID: rs[0].ID}, nil); err != nil {
			t.Fatal(err)
		}
		if n := e.jobs.Step(t); n != 1 {
			t.Fatalf("%d job runs, want 1", n)
		}
		if n := e.to(buyer); n != 1 {
			t.Fatalf("the buyer got %d receipts, want 1", n)
		}
		if rs := e.receipts(t, txn); rs[0].Attempts != 1 || rs[0].Status != domain.ReceiptSent {
			t.Fatalf("after the retries: %+v", rs[0])
		}
	})
}

// With the site's switch off, a success queues no receipt (the event is consumed all the
// same); turned on again (audited), the next success sends one.
func TestSiteSwitchOffSendsNone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := setup(t, s, mailtest.Options{})
		admin := domain.Actor{Type: domain.ActorUser, ID: "usr_admin", OrganizationID: e.org.ID, Role: domain.RoleAdmin}
		if err := e.svc.SetEnabled(ctx, admin, e.org.ID, e.site.ID, false); err != nil {
			t.Fatal(err)
		}
		buyer := "off-" + domain.RandomString(6) + "@example.com"
		txn := e.paid(t, domain.ModeLive, buyer, "en")
		e.dispatch(t, txn)
		if rs := e.receipts(t, txn); len(rs) != 0 {
			t.Fatalf("switch off, yet %d receipts", len(rs))
		}
		if n := e.jobs.Step(t); n != 0 {
			t.Fatalf("switch off, yet %d job runs", n)
		}
		if n := e.to(buyer); n != 0 {
			t.Fatalf("switch off, yet %d messages", n)
		}
		viewer := admin
		viewer.Role = domain.RoleViewer
		if err := e.svc.SetEnabled(ctx, viewer, e.org.ID, e.site.ID, true); domain.ErrorKind(err) != domain.KindForbidden {
			t.Fatalf("a viewer turned receipts on: %v", err)
		}
		if err := e.svc.SetEnabled(ctx, admin, e.org.ID, e.site.ID, true); err != nil {
			t.Fatal(err)
		}
		audit, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: e.org.ID, Action: "site.receipts", Limit: 10})
		if err != nil || len(audit) != 2 {
			t.Fatalf("audit %v %+v", err, audit)
		}
		txn2 := e.paid(t, domain.ModeLive, buyer, "en")
		e.dispatch(t, txn2)
		e.jobs.Step(t)
		if m := e.srv.NextTo(t, buyer); subject(t, m) != "Your receipt from Shop" {
			t.Fatalf("subject %q", subject(t, m))
		}
	})
}

// A resend is a new receipt the buyer gets once more, audited; a viewer, another organisation
// and a test-mode key cannot resend a live payment's receipt.
func TestResendSendsOneMoreAndAudits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := setup(t, s, mailtest.Options{})
		buyer := "again-" + domain.RandomString(6) + "@example.com"
		txn := e.paid(t, domain.ModeLive, buyer, "pt-BR")
		e.dispatch(t, txn)
		e.jobs.Step(t)
		first := e.srv.NextTo(t, buyer)
		editor := domain.Actor{Type: domain.ActorUser, ID: "usr_ed", Label: "ed@shop.example", OrganizationID: e.org.ID, Role: domain.RoleEditor}
		for _, bad := range []domain.Actor{
			{Type: domain.ActorUser, ID: "usr_v", OrganizationID: e.org.ID, Role: domain.RoleViewer},
			{Type: domain.ActorUser, ID: "usr_x", OrganizationID: "org_other", Role: domain.RoleAdmin},
			{Type: domain.ActorAPIKey, ID: "key_t", OrganizationID: e.org.ID, Mode: domain.ModeTest, Scopes: []string{"transaction:update"}},
		} {
			if _, err := e.svc.Resend(ctx, bad, e.org.ID, txn.ID); err == nil {
				t.Fatalf("%s %s resent a receipt", bad.Type, bad.Role)
			}
		}
		r, err := e.svc.Resend(ctx, editor, e.org.ID, txn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.jobs.Step(t); n != 1 {
			t.Fatalf("%d job runs, want 1", n)
		}
		again := e.srv.NextTo(t, buyer)
		if subject(t, again) != subject(t, first) || !strings.Contains(again.Text, "ID da transação: "+txn.ID) {
			t.Fatalf("resent: %q\n%s", subject(t, again), again.Text)
		}
		if n := e.to(buyer); n != 2 {
			t.Fatalf("the buyer got %d messages, want 2", n)
		}
		rs := e.receipts(t, txn)
		if len(rs) != 2 || rs[1].ID != r.ID || rs[1].Kind != domain.ReceiptResend || rs[1].Status != domain.ReceiptSent || rs[1].RequestedBy != "usr_ed" {
			t.Fatalf("receipts %+v", rs)
		}
		audit, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: e.org.ID, Action: "receipt.resend", TargetID: txn.ID, Limit: 10})
		if err != nil || len(audit) != 1 || audit[0].ActorID != "usr_ed" || audit[0].Details["receipt_id"] != r.ID {
			t.Fatalf("audit %v %+v", err, audit)
		}
		if strings.Contains(strings.ToLower(audit[0].ActorLabel+stringify(audit[0].Details)), buyer) {
			t.Fatal("the audit entry holds the buyer's address")
		}
	})
}

func stringify(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// Test-mode payments get receipts marked as test.
func TestTestModeReceiptIsMarked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		e := setup(t, s, mailtest.Options{})
		e.prov = storetest.Provider(t, s, e.org.ID, domain.ModeTest)
		buyer := "test-" + domain.RandomString(6) + "@example.com"
		txn := e.paid(t, domain.ModeTest, buyer, "")
		e.dispatch(t, txn)
		e.jobs.Step(t)
		m := e.srv.NextTo(t, buyer)
		// No page language recorded: the checkout's (French).
		if subject(t, m) != "[TEST] Votre reçu de Shop" || !strings.Contains(m.Text, "MODE TEST") {
			t.Fatalf("subject %q\n%s", subject(t, m), m.Text)
		}
	})
}

// A receipt found sending (the worker that claimed it died, perhaps after the mail server took
// it) is marked uncertain and not sent again; a recipient the server refuses for good fails
// the receipt without retries.
func TestInterruptedAndRefusedSends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := setup(t, s, mailtest.Options{RejectRcpt: func(a string) bool { return strings.HasPrefix(a, "refused-") }})
		buyer := "crash-" + domain.RandomString(6) + "@example.com"
		txn := e.paid(t, domain.ModeLive, buyer, "en")
		e.dispatch(t, txn)
		r := e.receipts(t, txn)[0]
		if _, claimed, err := s.ClaimReceipt(ctx, e.org.ID, r.ID); err != nil || !claimed {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		e.jobs.Step(t)
		if got := e.receipts(t, txn)[0]; got.Status != domain.ReceiptUncertain {
			t.Fatalf("status %s, want uncertain", got.Status)
		}
		if n := e.to(buyer); n != 0 {
			t.Fatalf("an interrupted receipt was sent again (%d)", n)
		}

		refused := "refused-" + domain.RandomString(6) + "@example.com"
		txn2 := e.paid(t, domain.ModeLive, refused, "en")
		e.dispatch(t, txn2)
		if n := e.jobs.Step(t); n != 1 {
			t.Fatalf("%d runs for a refused recipient, want 1 (no retry)", n)
		}
		if got := e.receipts(t, txn2)[0]; got.Status != domain.ReceiptFailed || got.LastError == "" || got.Attempts != 1 {
			t.Fatalf("refused: %+v", got)
		}
	})
}
