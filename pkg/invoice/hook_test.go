package invoice_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tax"
)

// paid records a checkout of two lines paid by a transaction whose tax evidence the engine
// wrote (as the hosted page does), and its success (the transition writes the outbox event).
func paid(t *testing.T, s *store.Store, site *domain.Site, prov *domain.Provider, mode domain.Mode) *domain.Transaction {
	t.Helper()
	ctx := context.Background()
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: mode,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 4498, Currency: "EUR", Email: "erika@example.com", ExternalReference: "order-" + domain.RandomString(5), Language: "de",
		Origin: domain.OriginAPI, ExpiresAt: store.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Teekanne", Quantity: 2, UnitPrice: 1999, ItemType: domain.ItemGoods},
			{Name: "Versand", Quantity: 1, UnitPrice: 500, ItemType: domain.ItemShipping}}}
	if err := s.CreateCheckout(ctx, c); err != nil {
		t.Fatal(err)
	}
	res, err := tax.Compute(tax.Input{Settings: tax.Settings{SellerCountry: "DE", PricesIncludeTax: true}, Currency: "EUR",
		Lines: []tax.Line{{Type: tax.SupplyGoods, Quantity: 2, UnitPrice: 1999}, {Type: tax.SupplyShipping, Quantity: 1, UnitPrice: 500}},
		Buyer: tax.Buyer{BillingCountry: "DE", BillingSource: "billing_form", VATIDStatus: tax.VATIDNone}, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	b, _ := json.Marshal(res.Evidence)
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	txn := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: site.OrganizationID, CheckoutID: c.ID,
		SiteID: site.ID, ProviderID: prov.ID, ProviderType: prov.Type, Mode: mode, Currency: "EUR",
		NetAmount: res.TotalNet, TaxAmount: res.TotalTax, GrossAmount: res.TotalGross, Language: "fr",
		BillingDetails: domain.BillingDetails{Name: "Erika Muster", Email: "erika@example.com", Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		TaxEvidence:    ev}
	if err := s.CreateTransaction(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: site.OrganizationID, TransactionID: txn.ID, To: domain.TxnSucceeded}); err != nil {
		t.Fatal(err)
	}
	return txn
}

func dispatchAll(t *testing.T, s *store.Store, d *ipn.Dispatcher, orgID, txnID string) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		if _, err := d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		evs, err := s.ListTransactionEvents(ctx, orgID, txnID)
		if err != nil {
			t.Fatal(err)
		}
		done := len(evs) > 0
		for _, ev := range evs {
			done = done && ev.DispatchedAt != nil
		}
		if done {
			return
		}
	}
	t.Fatal("the transaction's events were not dispatched")
}

// TestEveryCheckoutPaymentIsInvoicedOnce: with the organisation's setting on, a successful
// checkout payment gets an issued invoice carrying the payment's lines and tax, settled (paid)
// by it, once whatever the redeliveries; with the setting off, none.
func TestEveryCheckoutPaymentIsInvoicedOnce(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		prov := storetest.Provider(t, s, org.ID, domain.ModeLive)
		site := storetest.Site(t, s, org.ID, prov)
		svc := newService(s)
		d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s)})
		hook := func(ctx context.Context, tx ipn.Store, e domain.Event) error {
			return svc.Hook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
		}
		d.Register("invoice", hook)
		actor := domain.Actor{Type: domain.ActorUser, ID: "usr_admin", OrganizationID: org.ID, Role: domain.RoleAdmin}

		off := paid(t, s, site, prov, domain.ModeLive)
		dispatchAll(t, s, d, org.ID, off.ID)
		if _, err := s.GetInvoiceBySourceTransaction(ctx, org.ID, off.ID); !domain.IsNotFound(err) {
			t.Fatalf("setting off: %v", err)
		}

		set, err := svc.Settings(ctx, actor, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		set.AutoIssue = true
		set.InvoiceLayout = domain.NumberLayout{Prefix: "RE-", Period: domain.PeriodNone, Reset: domain.ResetNever, Padding: 4}
		if _, err := svc.SaveSettings(ctx, actor, org.ID, *set); err != nil {
			t.Fatal(err)
		}
		txn := paid(t, s, site, prov, domain.ModeLive)
		dispatchAll(t, s, d, org.ID, txn.ID)
		inv, err := s.GetInvoiceBySourceTransaction(ctx, org.ID, txn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Status != domain.InvoiceIssued || *inv.Number != "RE-0001" || inv.TotalGross != txn.GrossAmount || inv.TotalTax != txn.TaxAmount ||
			inv.TotalNet != txn.NetAmount || len(inv.Lines) != 2 || inv.Client.Name != "Erika Muster" || inv.Language != "fr" || inv.Seller.Company != org.Name {
			t.Fatalf("automatic invoice: %+v", inv)
		}
		var lineTax int64
		for _, l := range inv.Lines {
			lineTax += l.Tax
		}
		if lineTax != inv.TotalTax || len(inv.Tax.Breakdown) == 0 || inv.Tax.Evidence["sellerCountry"] != "DE" {
			t.Fatalf("tax snapshot: lines %d total %d, %+v", lineTax, inv.TotalTax, inv.Tax)
		}
		v, err := svc.Get(ctx, actor, org.ID, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v.Balance.State != domain.PaymentPaid || v.Balance.Outstanding != 0 || len(v.Settlements) != 1 {
			t.Fatalf("balance: %+v", v.Balance)
		}
		// Its PDF, stored by the job its issue queued, in the buyer's language, paid.
		requireNoDocument(t, s, org.ID, domain.DocInvoice, inv.ID)
		storeDocuments(t, s, svc)
		doc, err := s.GetDocument(ctx, org.ID, domain.DocInvoice, inv.ID)
		if err != nil {
			t.Fatalf("the automatic invoice's PDF: %v", err)
		}
		requireText(t, "the automatic invoice", pdfText(t, doc.Bytes), "FACTURE", "RE-0001", "Erika Muster", "Payée")

		// The event again (a redelivery): nothing more.
		evs, err := s.ListTransactionEvents(ctx, org.ID, txn.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if err := store.PortOf[ipn.Store](s).InTx(ctx, func(tx ipn.Store) error { return hook(ctx, tx, e) }); err != nil {
				t.Fatal(err)
			}
		}
		list, err := svc.List(ctx, actor, org.ID, domain.InvoiceFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 {
			t.Fatalf("%d invoices after a redelivery, want 1", len(list))
		}
	})
}
