package invoice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// newClient records a client of the organisation (as a checkout or the API would).
func newClient(t *testing.T, s *store.Store, orgID string, mode domain.Mode, email string) *domain.Client {
	t.Helper()
	now := store.Now()
	c := &domain.Client{ID: domain.NewID(domain.PrefixClient), OrganizationID: orgID, Mode: mode, CreatedAt: now, UpdatedAt: now}
	name, company, vat := "Erika Muster", "Muster AG", "DE 123.456.789"
	addr := domain.Address{Address1: "Hauptstr. 1", Address2: "Hinterhaus", City: "Berlin", Postcode: "10115", Country: "DE"}
	if err := (domain.ClientInput{Email: &email, Name: &name, Company: &company, BillingAddress: &addr, VATID: &vat}).Apply(c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// paidBy records a checkout (linked to linked's client when given) paid by a successful
// transaction of a buyer with the e-mail, and answers the invoice the hook issues for it.
func paidBy(t *testing.T, s *store.Store, svc *invoice.Service, site *domain.Site, prov *domain.Provider, email string, linked *string) *domain.Invoice {
	t.Helper()
	ctx := context.Background()
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: site.OrganizationID, SiteID: site.ID, Mode: prov.Mode,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 1999, Currency: "EUR", Email: email, Language: "de", Origin: domain.OriginAPI, ExpiresAt: store.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Teekanne", Quantity: 1, UnitPrice: 1999, ItemType: domain.ItemGoods}}, LinkedClientID: linked}
	if err := s.CreateCheckout(ctx, c); err != nil {
		t.Fatal(err)
	}
	txn := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: site.OrganizationID, CheckoutID: c.ID,
		SiteID: site.ID, ProviderID: prov.ID, ProviderType: prov.Type, Mode: prov.Mode, Currency: "EUR", GrossAmount: 1999,
		BillingDetails: domain.BillingDetails{Name: "Erika Muster", Email: email, Country: "DE"}}
	if err := s.CreateTransaction(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: site.OrganizationID, TransactionID: txn.ID, To: domain.TxnSucceeded}); err != nil {
		t.Fatal(err)
	}
	e := domain.Event{OrganizationID: site.OrganizationID, TransactionID: &txn.ID, Type: domain.TransactionEventType(domain.TxnSucceeded)}
	if err := s.InTx(ctx, func(tx *store.Store) error { return svc.Hook(ctx, store.PortOf[invoice.Store](tx), e) }); err != nil {
		t.Fatal(err)
	}
	inv, err := s.GetInvoiceBySourceTransaction(ctx, site.OrganizationID, txn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func clientIDOf(inv *domain.Invoice) string {
	if inv.ClientID == nil {
		return ""
	}
	return *inv.ClientID
}

// TestPaymentInvoicesNameTheBuyersClient: the automatic invoice of a checkout payment names the
// client the checkout linked, else the organisation's client of the payment's mode with the
// buyer's e-mail (any case), else none; never the merchant's own clientId text.
func TestPaymentInvoicesNameTheBuyersClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		prov := storetest.Provider(t, s, org.ID, domain.ModeLive)
		site := storetest.Site(t, s, org.ID, prov)
		svc := newService(s)
		actor := domain.Actor{Type: domain.ActorUser, ID: "usr_admin", OrganizationID: org.ID, Role: domain.RoleAdmin}
		set, err := svc.Settings(ctx, actor, org.ID)
		if err != nil {
			t.Fatal(err)
		}
		set.AutoIssue = true
		if _, err := svc.SaveSettings(ctx, actor, org.ID, *set); err != nil {
			t.Fatal(err)
		}
		linked := newClient(t, s, org.ID, domain.ModeLive, "linked@example.com")
		erika := newClient(t, s, org.ID, domain.ModeLive, "erika@example.com")
		newClient(t, s, org.ID, domain.ModeTest, "erika-test@example.com")

		if got := clientIDOf(paidBy(t, s, svc, site, prov, "erika@example.com", &linked.ID)); got != linked.ID {
			t.Fatalf("linked checkout: client %q, want %q", got, linked.ID)
		}
		if got := clientIDOf(paidBy(t, s, svc, site, prov, "Erika@Example.com", nil)); got != erika.ID {
			t.Fatalf("by e-mail: client %q, want %q", got, erika.ID)
		}
		if got := clientIDOf(paidBy(t, s, svc, site, prov, "erika-test@example.com", nil)); got != "" {
			t.Fatalf("another mode's client: %q, want none", got)
		}
		if got := clientIDOf(paidBy(t, s, svc, site, prov, "nobody@example.com", nil)); got != "" {
			t.Fatalf("unknown buyer: %q, want none", got)
		}
	})
}

// TestDraftClientIDNamesAClient: a draft's clientId must be one of the organisation's clients
// in the invoice's mode (422 CLIENT_NOT_FOUND on field clientId, nothing written); without a
// client block the draft takes the client's; a given block is kept; relinking a draft without a
// block takes the new client's.
func TestDraftClientIDNamesAClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		other := storetest.Org(t, s)
		svc := newService(s)
		actor := domain.Actor{Type: domain.ActorUser, ID: "usr_admin", OrganizationID: org.ID, Role: domain.RoleAdmin}
		erika := newClient(t, s, org.ID, domain.ModeLive, "erika@example.com")
		maxC := newClient(t, s, org.ID, domain.ModeLive, "max@example.com")
		testOne := newClient(t, s, org.ID, domain.ModeTest, "erika@example.com")
		foreign := newClient(t, s, other.ID, domain.ModeLive, "erika@example.com")
		draft := func(clientID string, party domain.Party) invoice.DraftInput {
			return invoice.DraftInput{Mode: domain.ModeLive, Currency: "EUR", ClientID: &clientID, Client: party,
				Lines: []invoice.LineInput{{Description: "Beratung", Quantity: 1, UnitPrice: 11900, Type: "digital_service"}}}
		}

		for _, id := range []string{"cli_unknown", testOne.ID, foreign.ID} {
			_, err := svc.CreateDraft(ctx, actor, org.ID, draft(id, domain.Party{}))
			var de *domain.Error
			if !errors.As(err, &de) || de.Code != domain.CodeClientNotFound || de.Kind != domain.KindUnprocessable || de.Field != "clientId" {
				t.Fatalf("clientId %s: %v", id, err)
			}
		}
		if list, err := svc.List(ctx, actor, org.ID, domain.InvoiceFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("refused drafts were written: %d, %v", len(list), err)
		}

		inv, err := svc.CreateDraft(ctx, actor, org.ID, draft(erika.ID, domain.Party{}))
		if err != nil {
			t.Fatal(err)
		}
		want := domain.Party{Name: "Erika Muster", Company: "Muster AG", Email: "erika@example.com", Line1: "Hauptstr. 1", Line2: "Hinterhaus",
			City: "Berlin", PostalCode: "10115", Country: "DE", VATID: "DE123456789"}
		if clientIDOf(inv) != erika.ID || inv.Client != want {
			t.Fatalf("snapshot from the client: %q %+v", clientIDOf(inv), inv.Client)
		}
		got, err := s.GetInvoice(ctx, org.ID, inv.ID)
		if err != nil || got.Client != want || clientIDOf(got) != erika.ID {
			t.Fatalf("stored: %+v, %v", got, err)
		}

		given := domain.Party{Name: "Buchhaltung Muster", Country: "AT"}
		kept, err := svc.CreateDraft(ctx, actor, org.ID, draft(erika.ID, given))
		if err != nil || kept.Client != given {
			t.Fatalf("a given block is kept: %+v, %v", kept, err)
		}

		relinked, err := svc.UpdateDraft(ctx, actor, org.ID, inv.ID, invoice.DraftPatch{ClientID: &maxC.ID})
		if err != nil || clientIDOf(relinked) != maxC.ID || relinked.Client.Email != "max@example.com" {
			t.Fatalf("relinked: %+v, %v", relinked, err)
		}
		unknown := "cli_unknown"
		if _, err := svc.UpdateDraft(ctx, actor, org.ID, inv.ID, invoice.DraftPatch{ClientID: &unknown}); domain.ErrorCode(err) != domain.CodeClientNotFound {
			t.Fatalf("update to an unknown client: %v", err)
		}
	})
}
