package receiptstore_test

import (
	"context"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/receipt/receiptstore"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// env is one organisation with a live site, the receipt service sending through a real SMTP
// client to the loopback server, the outbox dispatcher with the receipt consumer alone, and a
// River client working the email queue when stepped.
type env struct {
	s    *store.Store
	svc  *receipt.Service
	srv  *mailtest.Server
	d    *ipn.Dispatcher
	jobs *queuetest.Runner
	org  *domain.Organization
	site *domain.Site
	prov *domain.Provider
}

func setup(t *testing.T, s *store.Store, o mailtest.Options) *env {
	t.Helper()
	srv := mailtest.Start(t, o)
	smtp, err := mail.NewSMTP(srv.Config("Receipts <receipts@paygate.test>"), nil)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := receipt.New(receipt.Options{Store: receiptstore.New(s), Mailer: mail.ReceiptMailer(smtp)})
	if err != nil {
		t.Fatal(err)
	}
	d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s)})
	d.Register("receipt", receiptstore.Hook(svc))
	ws := river.NewWorkers()
	svc.RegisterWorkers(ws)
	e := &env{s: s, svc: svc, srv: srv, d: d, jobs: queuetest.Stepper(t, s, map[string]int{queue.Email: 1}, ws, queuetest.Options{})}
	e.org = storetest.Org(t, s)
	e.org.SupportEmail = "help@shop.example"
	if err := s.UpdateOrganization(context.Background(), e.org); err != nil {
		t.Fatal(err)
	}
	e.prov = storetest.Provider(t, s, e.org.ID, domain.ModeLive)
	e.site = storetest.Site(t, s, e.org.ID, e.prov)
	return e
}

// paid creates a checkout with two items and an attempt whose buyer paid on a page in lang
// (the checkout's own language is French), and records its success: the transition writes
// the success event in its transaction.
func (e *env) paid(t *testing.T, mode domain.Mode, buyer, lang string) *domain.Transaction {
	t.Helper()
	ctx := context.Background()
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: e.org.ID, SiteID: e.site.ID, Mode: mode,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: 4498, Currency: "EUR", ExternalReference: "order-" + domain.RandomString(5), Language: "fr",
		Origin: domain.OriginAPI, ExpiresAt: store.Now().Add(24 * time.Hour),
		Items: []domain.Item{{Name: "Teekanne", Quantity: 2, UnitPrice: 1999, ItemType: domain.ItemGoods},
			{Name: "Versand", Quantity: 1, UnitPrice: 500, ItemType: domain.ItemShipping}}}
	if err := e.s.CreateCheckout(ctx, c); err != nil {
		t.Fatal(err)
	}
	txn := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: e.org.ID, CheckoutID: c.ID,
		SiteID: e.site.ID, ProviderID: e.prov.ID, ProviderType: e.prov.Type, Mode: mode, Currency: "EUR",
		NetAmount: 3780, TaxAmount: 718, GrossAmount: 4498, Language: lang,
		BillingDetails: domain.BillingDetails{Name: "Erika Muster", Email: buyer},
		TaxEvidence: map[string]any{"sellerCountry": "DE", "currency": "EUR", "treatment": "domestic",
			"rates": []any{map[string]any{"rate": 19, "rateCode": "DE-standard", "taxableBase": 3780, "taxAmount": 718}}}}
	if err := e.s.CreateTransaction(ctx, txn); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID, To: domain.TxnSucceeded}); err != nil {
		t.Fatal(err)
	}
	return txn
}

// dispatch runs the outbox until the transaction's events are all dispatched.
func (e *env) dispatch(t *testing.T, txn *domain.Transaction) {
	t.Helper()
	ctx := context.Background()
	for range 20 {
		if _, err := e.d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
		evs, err := e.s.ListTransactionEvents(ctx, e.org.ID, txn.ID)
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

func (e *env) receipts(t *testing.T, txn *domain.Transaction) []domain.Receipt {
	t.Helper()
	rs, err := e.s.ListReceipts(context.Background(), e.org.ID, txn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// to counts the messages the server accepted for addr.
func (e *env) to(addr string) int {
	n := 0
	for _, m := range e.srv.All() {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, addr) {
				n++
			}
		}
	}
	return n
}

// subject is a message's decoded Subject.
func subject(t *testing.T, m mailtest.Message) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func receiptJobs(t *testing.T, s *store.Store, receiptID string) int {
	t.Helper()
	jobs, err := s.ListRiverJobs(context.Background(), receipt.KindSend, 100000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if strings.Contains(j.Args, receiptID) {
			n++
		}
	}
	return n
}
