package invoice

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/document"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
)

// KindDocument is the job kind that renders an issued invoice's or credit note's PDF and stores
// it. The issuing transaction queues it, so it exists exactly when the document does; the issue
// itself never waits for a render (about 7 ms of CPU, and concurrent issues queue on their
// sequence's row, on SQLite on its one writer).
const KindDocument = "invoice.document"

// documentAttempts bounds a document's storing: about four hours with the default backoff. A
// PDF still missing after that (or before its job ran) is stored by its first download.
const documentAttempts = 12

// DocumentArgs is a KindDocument job: the document whose PDF to store.
type DocumentArgs struct {
	OrganizationID string              `json:"organizationId"`
	Document       domain.DocumentKind `json:"document"`
	ID             string              `json:"id"`
}

// Kind implements river.JobArgs.
func (DocumentArgs) Kind() string { return KindDocument }

// InsertOpts: the documents queue (worked by the main backend); one unfinished job per
// document.
func (DocumentArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Documents, MaxAttempts: documentAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}}
}

// queueDocument queues the storing of an issued document's PDF, in tx (its issuing
// transaction).
func queueDocument(ctx context.Context, tx Store, orgID string, kind domain.DocumentKind, id string) error {
	_, err := queue.Insert(ctx, tx, DocumentArgs{OrganizationID: orgID, Document: kind, ID: id}, nil)
	return err
}

type documentWorker struct {
	river.WorkerDefaults[DocumentArgs]
	s *Service
}

func (w *documentWorker) NextRetry(job *river.Job[DocumentArgs]) time.Time {
	return queue.Retry(nil, job.Attempt)
}

func (w *documentWorker) Work(ctx context.Context, job *river.Job[DocumentArgs]) error {
	_, err := w.s.storeDocument(ctx, job.Args.OrganizationID, job.Args.Document, job.Args.ID)
	if domain.IsNotFound(err) {
		return river.JobCancel(err)
	}
	return err
}

// RegisterWorkers adds the document job kind to ws (the main backend works it).
func (s *Service) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[DocumentArgs](ws, &documentWorker{s: s})
}

// storeDocument returns an issued document's stored PDF, rendering and storing it first if it
// has none: its job does that right after the issue, a download that comes first does it
// itself. The PDF says what the document said at issue (an invoice's payment state then:
// issueBalance), so whichever stores it stores the same content, once (insert-only: the one
// that loses the race reads the winner's bytes). The render runs outside any transaction.
func (s *Service) storeDocument(ctx context.Context, orgID string, kind domain.DocumentKind, id string) (*domain.Document, error) {
	d, err := s.store.GetDocument(ctx, orgID, kind, id)
	if err == nil || !domain.IsNotFound(err) {
		return d, err
	}
	v, err := s.issuedView(ctx, orgID, kind, id)
	if err != nil {
		return nil, err
	}
	pdf, err := document.Render(v)
	if err != nil {
		return nil, domain.Internal(err, "render %s %s", kind, id)
	}
	d = &domain.Document{OrganizationID: orgID, Kind: kind, DocumentID: id, ContentType: ContentTypePDF, Bytes: pdf}
	err = s.store.SaveDocument(ctx, d)
	if domain.ErrorCode(err) == domain.CodeDocumentStored {
		return s.store.GetDocument(ctx, orgID, kind, id)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// issuedView is what an issued document's PDF says.
func (s *Service) issuedView(ctx context.Context, orgID string, kind domain.DocumentKind, id string) (document.View, error) {
	switch kind {
	case domain.DocInvoice:
		inv, err := s.store.GetInvoice(ctx, orgID, id)
		if err != nil {
			return document.View{}, err
		}
		if inv.Status != domain.InvoiceIssued {
			return document.View{}, domain.Conflict(domain.CodeInvoiceNotIssued, "a draft has no stored document")
		}
		bal, err := issueBalance(ctx, s.store, inv)
		if err != nil {
			return document.View{}, err
		}
		return s.invoiceDocument(ctx, s.store, inv, &bal)
	case domain.DocCreditNote:
		cn, err := s.store.GetCreditNote(ctx, orgID, id)
		if err != nil {
			return document.View{}, err
		}
		inv, err := s.store.GetInvoice(ctx, orgID, cn.InvoiceID)
		if err != nil {
			return document.View{}, err
		}
		return s.creditNoteDocument(ctx, s.store, cn, inv.SiteID)
	}
	return document.View{}, domain.Internal(fmt.Errorf("unknown document kind %q", kind), "store document %s", id)
}

// issueBalance is an issued invoice's payment state at its issue, which its PDF prints: an
// invoice issued for a checkout payment was paid by it (the settlement recorded in the issuing
// transaction); any other was open (its settlements and credit notes all come after).
func issueBalance(ctx context.Context, tx Store, inv *domain.Invoice) (domain.InvoiceBalance, error) {
	var paid int64
	if inv.SourceTransactionID != nil {
		st, err := tx.GetSettlementByTransaction(ctx, inv.OrganizationID, *inv.SourceTransactionID)
		switch {
		case err == nil && st.InvoiceID == inv.ID:
			paid = st.Amount
		case err != nil && !domain.IsNotFound(err):
			return domain.InvoiceBalance{}, err
		}
	}
	return domain.ComputeBalance(inv.TotalGross, paid, 0, 0), nil
}
