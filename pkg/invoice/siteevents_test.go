package invoice_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// siteEvents registers on e's dispatcher the site-events consumer as pkg/app wires it
// (invoice.Service.SiteEvent, then ipn.Notifier.Enqueue) and records every event it is handed,
// so a test can hand them to it again (a redelivery).
type siteEvents struct {
	hook ipn.Hook
	mu   sync.Mutex
	seen []domain.Event
}

func newSiteEvents(e *creditEnv) *siteEvents {
	n := ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](e.s)})
	se := &siteEvents{}
	se.hook = func(ctx context.Context, tx ipn.Store, ev domain.Event) error {
		d, err := e.svc.SiteEvent(ctx, store.Rebind[invoice.Store, ipn.Store](tx), ev)
		if err != nil || d == nil {
			return err
		}
		return n.Enqueue(ctx, tx, d)
	}
	e.d.Register("site_events", func(ctx context.Context, tx ipn.Store, ev domain.Event) error {
		se.mu.Lock()
		se.seen = append(se.seen, ev)
		se.mu.Unlock()
		return se.hook(ctx, tx, ev)
	})
	return se
}

// drain dispatches until the outbox is empty.
func drain(t *testing.T, d *ipn.Dispatcher) {
	t.Helper()
	for range 50 {
		n, err := d.DispatchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the outbox did not drain")
}

func (se *siteEvents) saw(invoiceID, typ string) bool {
	se.mu.Lock()
	defer se.mu.Unlock()
	for _, ev := range se.seen {
		if ev.Type == typ && ev.Data["invoiceId"] == invoiceID {
			return true
		}
	}
	return false
}

type eventBody struct {
	ID   string         `json:"id"`
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

// An invoiced payment of a site with an events URL, then a partial refund: the invoice's
// notifications are invoice.issued, invoice.paid and credit_note.issued, in that order, to the
// events URL, each carrying its object as the Admin API renders it; handing every event to
// the consumer again adds nothing (once per event).
func TestSiteEventsOncePerEventInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCreditEnv(t, s)
		url := "https://shop.example.com/paygate-events"
		e.site.EventsURL = &url
		if err := s.UpdateSite(ctx, e.site); err != nil {
			t.Fatal(err)
		}
		se := newSiteEvents(e)
		txn, inv := e.payTwoRates(t)
		e.refund(t, txn, 1000)
		drain(t, e.d)

		check := func() []domain.IPNDelivery {
			t.Helper()
			ds, err := s.ListIPNDeliveries(ctx, e.org.ID, inv.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{invoice.EventInvoiceIssued, invoice.EventInvoicePaid, invoice.EventCreditNoteIssued}
			if len(ds) != len(want) {
				t.Fatalf("%d deliveries for the invoice, want %d", len(ds), len(want))
			}
			for i, d := range ds {
				var b eventBody
				if err := json.Unmarshal([]byte(d.Body), &b); err != nil {
					t.Fatal(err)
				}
				if b.Type != want[i] || d.EventVersion != i+1 || d.EventID != b.ID || d.URL != url || d.SiteID != e.site.ID ||
					d.IPNVersion != domain.SiteEventsVersion || d.CheckoutID != "" {
					t.Fatalf("delivery %d: %s v%d to %s (site %s, version %d), want %s v%d to %s", i, b.Type, d.EventVersion, d.URL, d.SiteID, d.IPNVersion, want[i], i+1, url)
				}
				object, id := "invoice", inv.ID
				if b.Type == invoice.EventCreditNoteIssued {
					notes, err := s.ListInvoiceCreditNotes(ctx, e.org.ID, inv.ID)
					if err != nil || len(notes) != 1 {
						t.Fatalf("credit notes: %v, %v", notes, err)
					}
					object, id = "credit_note", notes[0].ID
					if b.Data["invoiceId"] != inv.ID {
						t.Fatalf("the credit note's event names invoice %v, want %s", b.Data["invoiceId"], inv.ID)
					}
				}
				if b.Data["object"] != object || b.Data["id"] != id {
					t.Fatalf("%s carries %v %v, want %s %s", b.Type, b.Data["object"], b.Data["id"], object, id)
				}
			}
			return ds
		}
		before := check()
		se.mu.Lock()
		seen := append([]domain.Event(nil), se.seen...)
		se.mu.Unlock()
		for _, ev := range seen {
			if err := s.InTx(ctx, func(tx *store.Store) error { return se.hook(ctx, store.PortOf[ipn.Store](tx), ev) }); err != nil {
				t.Fatal(err)
			}
		}
		after := check()
		for i := range before {
			if before[i].ID != after[i].ID {
				t.Fatalf("delivery %d changed on redelivery: %s, then %s", i, before[i].ID, after[i].ID)
			}
		}
		// The transaction's own notifications are untouched (no ipnUrl on this checkout: none).
		if ds, err := s.ListIPNDeliveries(ctx, e.org.ID, txn.ID); err != nil || len(ds) != 0 {
			t.Fatalf("the transaction has %d notifications (%v), want none", len(ds), err)
		}
	})
}

// Events of an invoice without a site, or of a site without an events URL, are not delivered.
func TestSiteEventsNeedASiteWithAnEventsURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := newCreditEnv(t, s)
		se := newSiteEvents(e)
		bare := storetest.Site(t, s, e.org.ID, e.prov)
		for name, siteID := range map[string]*string{"NoSite": nil, "NoEventsURL": &bare.ID} {
			t.Run(name, func(t *testing.T) {
				in := draftInput(domain.ModeLive)
				in.SiteID = siteID
				inv, err := e.svc.CreateDraft(ctx, e.actor, e.org.ID, in)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.Issue(ctx, e.actor, e.org.ID, inv.ID); err != nil {
					t.Fatal(err)
				}
				drain(t, e.d)
				if !se.saw(inv.ID, invoice.EventInvoiceIssued) {
					t.Fatal("the consumer was not handed the invoice.issued event")
				}
				if ds, err := s.ListIPNDeliveries(ctx, e.org.ID, inv.ID); err != nil || len(ds) != 0 {
					t.Fatalf("%d deliveries (%v), want none", len(ds), err)
				}
			})
		}
	})
}
