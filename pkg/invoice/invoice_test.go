package invoice_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func editor(orgID string) domain.Actor {
	return domain.Actor{Type: domain.ActorUser, ID: "usr_editor", OrganizationID: orgID, Role: domain.RoleEditor}
}

func draftInput(mode domain.Mode) invoice.DraftInput {
	return invoice.DraftInput{Mode: mode, Currency: "EUR", Language: "de",
		Client: domain.Party{Name: "Erika Muster", Email: "erika@example.com", Line1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		Lines:  []invoice.LineInput{{Description: "Teekanne", Quantity: 2, UnitPrice: 1999, Type: "goods"}, {Description: "Versand", Quantity: 1, UnitPrice: 500, Type: "shipping"}}}
}

func newService(s *store.Store) *invoice.Service {
	return invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)})
}

// storeDocuments works the documents queue once, as the main backend does (svc's job kind),
// until the jobs queued so far (this package's tests share the database) have run.
func storeDocuments(t *testing.T, s *store.Store, svc *invoice.Service) {
	t.Helper()
	ws := river.NewWorkers()
	svc.RegisterWorkers(ws)
	queuetest.Stepper(t, s, map[string]int{queue.Documents: 1}, ws, queuetest.Options{}).Step(t)
}

// requireNoDocument fails unless no PDF is stored for the document yet.
func requireNoDocument(t *testing.T, s *store.Store, orgID string, kind domain.DocumentKind, id string) {
	t.Helper()
	if _, err := s.GetDocument(context.Background(), orgID, kind, id); !domain.IsNotFound(err) {
		t.Fatalf("the %s's PDF is stored before its job ran: %v", kind, err)
	}
}

// TestConcurrentIssuesGetGaplessNumbers issues 200 drafts of one organisation at once: they get
// the numbers 1…200, each once; a rolled-back issue gives its number back; test and live
// count apart.
func TestConcurrentIssuesGetGaplessNumbers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := storetest.Org(t, s)
		svc := newService(s)
		actor := editor(org.ID)
		const n = 200
		ids := make([]string, n)
		for i := range ids {
			inv, err := svc.CreateDraft(ctx, actor, org.ID, draftInput(domain.ModeLive))
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = inv.ID
		}
		var wg sync.WaitGroup
		numbers := make([]int64, n)
		errs := make([]error, n)
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				inv, err := svc.Issue(ctx, actor, org.ID, id)
				if err == nil {
					numbers[i] = *inv.SequenceValue
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("issue %d: %v", i, err)
			}
		}
		sort.Slice(numbers, func(a, b int) bool { return numbers[a] < numbers[b] })
		for i, got := range numbers {
			if got != int64(i+1) {
				t.Fatalf("sorted numbers[%d] = %d, want %d (gap or duplicate): %v", i, got, i+1, numbers)
			}
		}
		// Stored numbers are unique and formatted from the default layout.
		seen := map[string]bool{}
		for _, id := range ids {
			v, err := svc.Get(ctx, actor, org.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Invoice.Status != domain.InvoiceIssued || v.Invoice.Number == nil || seen[*v.Invoice.Number] {
				t.Fatalf("invoice %s: status %s number %v (dup %v)", id, v.Invoice.Status, v.Invoice.Number, v.Invoice.Number != nil && seen[*v.Invoice.Number])
			}
			seen[*v.Invoice.Number] = true
		}

		// A failed issue (its transaction rolled back after taking a number) consumes nothing.
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx *store.Store) error {
			if got, err := tx.NextDocumentNumber(ctx, org.ID, domain.ModeLive, domain.DocInvoice, ""); err != nil || got != n+1 {
				t.Errorf("inside the failing transaction: %d, %v", got, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rollback: %v", err)
		}
		next, err := svc.CreateDraft(ctx, actor, org.ID, draftInput(domain.ModeLive))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Issue(ctx, actor, org.ID, ids[0]); domain.ErrorCode(err) != domain.CodeInvoiceIssued {
			t.Fatalf("issuing an issued invoice again: %v", err)
		}
		inv, err := svc.Issue(ctx, actor, org.ID, next.ID)
		if err != nil {
			t.Fatal(err)
		}
		if *inv.SequenceValue != n+1 || *inv.Number != "INV-"+time.Now().UTC().Format("2006")+"-00201" {
			t.Fatalf("after the rollback: %d %s, want 201", *inv.SequenceValue, *inv.Number)
		}

		// Test mode counts apart, and its numbers say TEST.
		tinv, err := svc.CreateDraft(ctx, actor, org.ID, draftInput(domain.ModeTest))
		if err != nil {
			t.Fatal(err)
		}
		if tinv, err = svc.Issue(ctx, actor, org.ID, tinv.ID); err != nil {
			t.Fatal(err)
		}
		if *tinv.SequenceValue != 1 || *tinv.Number != "TEST-INV-"+time.Now().UTC().Format("2006")+"-00001" {
			t.Fatalf("test mode: %d %s", *tinv.SequenceValue, *tinv.Number)
		}
	})
}
