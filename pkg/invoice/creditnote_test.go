package invoice_test

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tax"
)

// creditEnv is an organisation that invoices every checkout payment, with the outbox consumers
// of invoices and credit notes registered on a dispatcher.
type creditEnv struct {
	s     *store.Store
	svc   *invoice.Service
	d     *ipn.Dispatcher
	org   *domain.Organization
	site  *domain.Site
	prov  *domain.Provider
	actor domain.Actor
	hooks []func(context.Context, *store.Store, domain.Event) error
}

func newCreditEnv(t *testing.T, s *store.Store) *creditEnv {
	t.Helper()
	ctx := context.Background()
	e := &creditEnv{s: s, svc: newService(s), d: ipn.NewDispatcher(ipn.DispatcherOptions{Store: s}), org: storetest.Org(t, s)}
	e.prov = storetest.Provider(t, s, e.org.ID, domain.ModeLive)
	e.site = storetest.Site(t, s, e.org.ID, e.prov)
	e.actor = domain.Actor{Type: domain.ActorUser, ID: "usr_admin", OrganizationID: e.org.ID, Role: domain.RoleAdmin}
	e.hooks = []func(context.Context, *store.Store, domain.Event) error{
		func(ctx context.Context, tx *store.Store, ev domain.Event) error {
			return e.svc.Hook(ctx, store.PortOf[invoice.Store](tx), ev)
		},
		func(ctx context.Context, tx *store.Store, ev domain.Event) error {
			return e.svc.CreditHook(ctx, store.PortOf[invoice.Store](tx), ev)
		},
	}
	e.d.Register("invoice", e.hooks[0])
	e.d.Register("credit_note", e.hooks[1])
	set, err := e.svc.Settings(ctx, e.actor, e.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	set.AutoIssue = true
	set.CreditNoteLayout = domain.NumberLayout{Prefix: "GS-", Period: domain.PeriodNone, Reset: domain.ResetNever, Padding: 3}
	if _, err := e.svc.SaveSettings(ctx, e.actor, e.org.ID, *set); err != nil {
		t.Fatal(err)
	}
	return e
}

// payTwoRates records a checkout paid in full with lines at two rates (19 % and the 7 % of a
// book), the payment's tax written by the engine as the hosted page does, and dispatches the
// success: the payment's invoice is issued and settled.
func (e *creditEnv) payTwoRates(t *testing.T) (*domain.Transaction, *domain.Invoice) {
	t.Helper()
	ctx := context.Background()
	seven := int64(700)
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: e.org.ID, SiteID: e.site.ID, Mode: domain.ModeLive,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 5232, Currency: "EUR", Email: "erika@example.com", ExternalReference: "order-" + domain.RandomString(5), Language: "de",
		Origin: domain.OriginAPI, ExpiresAt: store.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Teekanne", Quantity: 2, UnitPrice: 1999, ItemType: domain.ItemGoods},
			{Name: "Teebuch", Quantity: 1, UnitPrice: 1234, ItemType: domain.ItemGoods, VATRate: &seven}}}
	if err := e.s.CreateCheckout(ctx, c); err != nil {
		t.Fatal(err)
	}
	r7 := tax.Rate(700)
	res, err := tax.Compute(tax.Input{Settings: tax.Settings{SellerCountry: "DE", PricesIncludeTax: true}, Currency: "EUR",
		Lines: []tax.Line{{Type: tax.SupplyGoods, Quantity: 2, UnitPrice: 1999}, {Type: tax.SupplyGoods, Quantity: 1, UnitPrice: 1234, Rate: &r7}},
		Buyer: tax.Buyer{BillingCountry: "DE", BillingSource: "billing_form", VATIDStatus: tax.VATIDNone}, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	b, _ := json.Marshal(res.Evidence)
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	txn := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: e.org.ID, CheckoutID: c.ID,
		SiteID: e.site.ID, ProviderID: e.prov.ID, ProviderType: e.prov.Type, Mode: domain.ModeLive, Currency: "EUR",
		NetAmount: res.TotalNet, TaxAmount: res.TotalTax, GrossAmount: res.TotalGross, Language: "de",
		BillingDetails: domain.BillingDetails{Name: "Erika Muster", Email: "erika@example.com", Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		TaxEvidence:    ev}
	if err := e.s.CreateTransaction(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID, To: domain.TxnSucceeded}); err != nil {
		t.Fatal(err)
	}
	dispatchAll(t, e.s, e.d, e.org.ID, txn.ID)
	inv, err := e.s.GetInvoiceBySourceTransaction(ctx, e.org.ID, txn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Tax.Breakdown) != 2 || inv.TotalGross != 5232 {
		t.Fatalf("the payment's invoice has %d rates and %d gross, want 2 and 5232: %+v", len(inv.Tax.Breakdown), inv.TotalGross, inv.Tax)
	}
	return txn, inv
}

// refund records a refund of amount of txn and its success as the payment use cases do (the
// refund succeeded, the transaction's move names it), and dispatches the events.
func (e *creditEnv) refund(t *testing.T, txn *domain.Transaction, amount int64) *domain.Refund {
	t.Helper()
	ctx := context.Background()
	r := &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: e.org.ID, TransactionID: txn.ID, Amount: amount, Currency: txn.Currency,
		Reason: "customer returned goods", Status: domain.RefundPending, Source: "api", CreatedBy: "test"}
	err := e.s.InTx(ctx, func(tx *store.Store) error {
		if err := tx.CreateRefund(ctx, r); err != nil {
			return err
		}
		if err := tx.UpdateRefund(ctx, e.org.ID, r.ID, domain.RefundPending, domain.RefundChanges{Status: domain.Ptr(domain.RefundSucceeded)}); err != nil {
			return err
		}
		t, err := tx.LockTransaction(ctx, e.org.ID, txn.ID)
		if err != nil {
			return err
		}
		refunded := t.RefundedAmount + amount
		kind := domain.OutcomePartiallyRefunded
		if refunded == t.GrossAmount {
			kind = domain.OutcomeRefunded
		}
		_, err = tx.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID, Kind: kind,
			Changes: domain.TransactionChanges{RefundedAmount: &refunded}, EventData: map[string]any{"refundId": r.ID, "amount": amount, "refundedAmount": refunded}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	dispatchAll(t, e.s, e.d, e.org.ID, txn.ID)
	return r
}

// redeliver runs both consumers again on every event of the transaction (a redelivery).
func (e *creditEnv) redeliver(t *testing.T, txnID string) {
	t.Helper()
	ctx := context.Background()
	evs, err := e.s.ListTransactionEvents(ctx, e.org.ID, txnID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		for _, h := range e.hooks {
			if err := e.s.InTx(ctx, func(tx *store.Store) error { return h(ctx, tx, ev) }); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkNote checks a note's inner sums: lines add up to its totals and its breakdown, net plus
// tax is gross.
func checkNote(t *testing.T, cn *domain.CreditNote) {
	t.Helper()
	var ln, lt, lg, bn, bt int64
	for _, l := range cn.Lines {
		ln, lt, lg = ln+l.Net, lt+l.Tax, lg+l.Gross
		if l.Net+l.Tax != l.Gross {
			t.Fatalf("%s: line %+v: net + tax is not gross", cn.Number, l)
		}
	}
	for _, b := range cn.Tax.Breakdown {
		bn, bt = bn+b.TaxableBase, bt+b.TaxAmount
	}
	if ln != cn.TotalNet || lt != cn.TotalTax || lg != cn.TotalGross || bn != cn.TotalNet || bt != cn.TotalTax || cn.TotalNet+cn.TotalTax != cn.TotalGross {
		t.Fatalf("%s: lines %d/%d/%d, breakdown %d/%d, totals %d/%d/%d do not add up", cn.Number, ln, lt, lg, bn, bt, cn.TotalNet, cn.TotalTax, cn.TotalGross)
	}
}

func invoiceJSON(t *testing.T, s *store.Store, orgID, id string) string {
	t.Helper()
	inv, err := s.GetInvoice(context.Background(), orgID, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(inv)
	return string(b)
}

// TestPartialRefundYieldsCreditNoteThatOffsetsExactly: a partial refund of an invoiced payment
// (two rates, an amount whose split rounds) yields a credit note whose totals and tax offset
// exactly: 1000 of 5232 is 764 at 19 % (tax 122) and 236 at 7 % (tax 15), its lines and
// breakdown adding up to its totals. A redelivery makes no second note. Refunding the rest
// yields a second note; the two add up to the invoice's breakdown cent for cent, and the
// invoice row never changed while its balance says refunded.
func TestPartialRefundYieldsCreditNoteThatOffsetsExactly(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCreditEnv(t, s)
		txn, inv := e.payTwoRates(t)
		before := invoiceJSON(t, s, e.org.ID, inv.ID)

		r1 := e.refund(t, txn, 1000)
		cn, err := s.GetCreditNoteBySourceRefund(ctx, e.org.ID, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkNote(t, cn)
		if cn.Kind != domain.CreditRefund || cn.Number != "GS-001" || cn.InvoiceID != inv.ID || cn.InvoiceNumber != *inv.Number ||
			cn.TotalGross != 1000 || cn.Seller != inv.Seller || cn.Client != inv.Client || cn.Currency != "EUR" || cn.Mode != domain.ModeLive {
			t.Fatalf("refund note: %+v", cn)
		}
		got := map[int64][2]int64{}
		for _, b := range cn.Tax.Breakdown {
			got[b.Rate] = [2]int64{b.TaxableBase + b.TaxAmount, b.TaxAmount}
		}
		if got[1900] != [2]int64{764, 122} || got[700] != [2]int64{236, 15} {
			t.Fatalf("split per rate (gross, tax): %v, want 19%%: 764/122, 7%%: 236/15", got)
		}
		v, err := e.svc.Get(ctx, e.actor, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentPartiallyRefunded || v.Balance.Credited != 1000 || v.Balance.Refunded != 1000 || v.Balance.Outstanding != 0 || len(v.CreditNotes) != 1 {
			t.Fatalf("balance after a partial refund: %+v", v.Balance)
		}

		e.redeliver(t, txn.ID)
		notes, err := e.svc.ListCreditNotes(ctx, e.actor, e.org.ID, domain.CreditNoteFilter{InvoiceID: inv.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 {
			t.Fatalf("%d credit notes after a redelivery, want 1", len(notes))
		}

		e.refund(t, txn, 4232)
		notes, err = s.ListInvoiceCreditNotes(ctx, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 2 || notes[1].Number != "GS-002" || notes[1].TotalGross != 4232 {
			t.Fatalf("after the second refund: %+v", notes)
		}
		checkNote(t, &notes[1])
		sum := map[int64][2]int64{}
		for _, n := range notes {
			for _, b := range n.Tax.Breakdown {
				x := sum[b.Rate]
				sum[b.Rate] = [2]int64{x[0] + b.TaxableBase, x[1] + b.TaxAmount}
			}
		}
		for _, b := range inv.Tax.Breakdown {
			if sum[b.Rate] != [2]int64{b.TaxableBase, b.TaxAmount} {
				t.Fatalf("rate %d: the notes credit %v, the invoice has %d/%d", b.Rate, sum[b.Rate], b.TaxableBase, b.TaxAmount)
			}
		}
		v, err = e.svc.Get(ctx, e.actor, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentRefunded || v.Balance.Credited != 5232 || v.Balance.Outstanding != 0 {
			t.Fatalf("balance after refunding all: %+v", v.Balance)
		}
		if invoiceJSON(t, s, e.org.ID, inv.ID) != before {
			t.Fatal("the invoice row changed")
		}
		evs, err := s.ListOrganizationEvents(ctx, e.org.ID, invoice.EventCreditNoteIssued)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Data["number"] != "GS-001" || evs[0].Data["invoiceId"] != inv.ID || evs[0].Status != "refund" {
			t.Fatalf("credit_note.issued events: %+v", evs)
		}
	})
}

// TestLostDisputeYieldsOneChargebackNote: a payment lost to a dispute (the move to disputed,
// then the dispute's closing reported again) gets one chargeback note for the disputed amount,
// and the invoice's balance counts it as money given back.
func TestLostDisputeYieldsOneChargebackNote(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCreditEnv(t, s)
		txn, inv := e.payTwoRates(t)
		lost := "lost"
		if _, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID, Kind: domain.OutcomeDisputeLost,
			Changes: domain.TransactionChanges{DisputeStatus: &lost}, EventData: map[string]any{"disputeId": "dp_1", "disputeStatus": "lost", "amount": 5232}}); err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvent(ctx, &domain.Event{OrganizationID: e.org.ID, Type: domain.EventDisputeClosed, CheckoutID: &txn.CheckoutID, TransactionID: &txn.ID,
			Status: string(domain.TxnDisputed), Data: map[string]any{"disputeId": "dp_1", "disputeStatus": "lost", "amount": 5232}}); err != nil {
			t.Fatal(err)
		}
		dispatchAll(t, s, e.d, e.org.ID, txn.ID)
		e.redeliver(t, txn.ID)
		notes, err := s.ListInvoiceCreditNotes(ctx, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 {
			t.Fatalf("%d notes for a lost dispute, want 1", len(notes))
		}
		cn := notes[0]
		checkNote(t, &cn)
		if cn.Kind != domain.CreditChargeback || cn.TotalGross != 5232 || cn.TotalTax != inv.TotalTax || len(cn.Lines) != len(inv.Lines) ||
			cn.SourceDisputeID == nil || *cn.SourceDisputeID != "dp_1" || *cn.SourceTransactionID != txn.ID {
			t.Fatalf("chargeback note: %+v", cn)
		}
		v, err := e.svc.Get(ctx, e.actor, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentRefunded || v.Balance.Refunded != 5232 {
			t.Fatalf("balance after a lost dispute: %+v", v.Balance)
		}
	})
}

// TestDirectCreditOfAnUnpaidInvoice: an issued invoice nobody paid is credited in part, then
// in full; more than is left is refused (422 CREDIT_EXCEEDS_CREDITABLE), a draft cannot be
// credited (409 INVOICE_NOT_ISSUED), nor an invoice with nothing left (409
// INVOICE_FULLY_CREDITED), nor the paid invoice of a payment (refund it instead).
func TestDirectCreditOfAnUnpaidInvoice(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCreditEnv(t, s)
		actor := editor(e.org.ID)
		draft, err := e.svc.CreateDraft(ctx, actor, e.org.ID, draftInput(domain.ModeLive))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Credit(ctx, actor, e.org.ID, draft.ID, invoice.CreditInput{}); domain.ErrorCode(err) != domain.CodeInvoiceNotIssued {
			t.Fatalf("crediting a draft: %v", err)
		}
		inv, err := e.svc.Issue(ctx, actor, e.org.ID, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		before := invoiceJSON(t, s, e.org.ID, inv.ID)
		part := int64(1001)
		cn, err := e.svc.Credit(ctx, actor, e.org.ID, inv.ID, invoice.CreditInput{Amount: &part, Reason: "goodwill"})
		if err != nil {
			t.Fatal(err)
		}
		checkNote(t, cn)
		if cn.Kind != domain.CreditDirect || cn.TotalGross != 1001 || cn.Reason != "goodwill" || cn.Number != "GS-001" {
			t.Fatalf("direct credit: %+v", cn)
		}
		v, err := e.svc.Get(ctx, actor, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentPartiallyCredited || v.Balance.Outstanding != inv.TotalGross-1001 || v.Balance.Refunded != 0 {
			t.Fatalf("balance after a partial credit: %+v", v.Balance)
		}
		over := inv.TotalGross - 1000
		if _, err := e.svc.Credit(ctx, actor, e.org.ID, inv.ID, invoice.CreditInput{Amount: &over}); domain.ErrorCode(err) != domain.CodeCreditExceedsCreditable {
			t.Fatalf("over-crediting: %v", err)
		}
		rest, err := e.svc.Credit(ctx, actor, e.org.ID, inv.ID, invoice.CreditInput{})
		if err != nil {
			t.Fatal(err)
		}
		checkNote(t, rest)
		if rest.TotalGross != inv.TotalGross-1001 || cn.TotalTax+rest.TotalTax != inv.TotalTax || cn.TotalNet+rest.TotalNet != inv.TotalNet {
			t.Fatalf("the two credits (%+v, %+v) do not add up to the invoice's totals %d/%d", cn, rest, inv.TotalNet, inv.TotalTax)
		}
		v, err = e.svc.Get(ctx, actor, e.org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentCredited || v.Balance.Outstanding != 0 {
			t.Fatalf("balance after crediting all: %+v", v.Balance)
		}
		if _, err := e.svc.Credit(ctx, actor, e.org.ID, inv.ID, invoice.CreditInput{}); domain.ErrorCode(err) != domain.CodeInvoiceFullyCredited {
			t.Fatalf("crediting a credited invoice: %v", err)
		}
		if invoiceJSON(t, s, e.org.ID, inv.ID) != before {
			t.Fatal("the invoice row changed")
		}
		_, paidInv := e.payTwoRates(t)
		if _, err := e.svc.Credit(ctx, actor, e.org.ID, paidInv.ID, invoice.CreditInput{}); domain.ErrorCode(err) != domain.CodeInvoiceFullyCredited {
			t.Fatalf("crediting a paid invoice directly: %v", err)
		}
		viewer := domain.Actor{Type: domain.ActorUser, ID: "usr_viewer", OrganizationID: e.org.ID, Role: domain.RoleViewer}
		if _, err := e.svc.Credit(ctx, viewer, e.org.ID, inv.ID, invoice.CreditInput{}); err == nil || domain.ErrorCode(err) == domain.CodeInvoiceFullyCredited {
			t.Fatalf("a viewer credits: %v", err)
		}
	})
}

// TestConcurrentCreditNotesGetGaplessNumbers: 30 direct credits of one invoice at once (they
// queue behind the invoice's lock) and of 10 other invoices get the credit note numbers 1…40,
// each once, and together credit exactly what they asked for.
func TestConcurrentCreditNotesGetGaplessNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		svc := newService(s)
		actor := editor(org.ID)
		issue := func() *domain.Invoice {
			d, err := svc.CreateDraft(ctx, actor, org.ID, draftInput(domain.ModeLive))
			if err != nil {
				t.Fatal(err)
			}
			inv, err := svc.Issue(ctx, actor, org.ID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			return inv
		}
		shared := issue()
		targets := make([]string, 0, 40)
		for range 30 {
			targets = append(targets, shared.ID)
		}
		for range 10 {
			targets = append(targets, issue().ID)
		}
		var wg sync.WaitGroup
		numbers := make([]int64, len(targets))
		errs := make([]error, len(targets))
		for i, id := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				amount := int64(100)
				cn, err := svc.Credit(ctx, actor, org.ID, id, invoice.CreditInput{Amount: &amount})
				if err == nil {
					numbers[i] = cn.SequenceValue
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("credit %d: %v", i, err)
			}
		}
		sort.Slice(numbers, func(a, b int) bool { return numbers[a] < numbers[b] })
		for i, n := range numbers {
			if n != int64(i+1) {
				t.Fatalf("numbers %v: want 1…%d without gap or duplicate", numbers, len(numbers))
			}
		}
		v, err := svc.Get(ctx, actor, org.ID, shared.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.Credited != 3000 || len(v.CreditNotes) != 30 {
			t.Fatalf("the shared invoice: %d credited in %d notes, want 3000 in 30", v.Balance.Credited, len(v.CreditNotes))
		}
	})
}
