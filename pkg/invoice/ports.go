package invoice

import (
	"context"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
)

// Store is the storage the invoice use cases need (pkg/store implements it; wiring hands it
// over as store.PortOf[invoice.Store]). The Store InTx hands fn acts in that transaction.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Tx: the job that stores an issued document's PDF is queued in its issuing transaction.
	queue.Tx

	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	// GetClient and FindClientByEmail find the client an invoice names (FindClientByEmail
	// answers nil when the organisation has no client of the mode with the e-mail).
	GetClient(ctx context.Context, orgID, id string) (*domain.Client, error)
	FindClientByEmail(ctx context.Context, orgID string, mode domain.Mode, email string) (*domain.Client, error)
	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	// AppendEvent writes an outbox event in the store's transaction (invoice.issued, invoice.paid).
	AppendEvent(ctx context.Context, e *domain.Event) error

	GetInvoiceSettings(ctx context.Context, orgID string) (*domain.InvoiceSettings, error)
	SaveInvoiceSettings(ctx context.Context, set *domain.InvoiceSettings) error
	// NextDocumentNumber allocates a sequence's next number inside the calling transaction.
	NextDocumentNumber(ctx context.Context, orgID string, mode domain.Mode, kind domain.DocumentKind, period string) (int64, error)
	// PeekDocumentNumber is the number NextDocumentNumber would give now, allocating nothing.
	PeekDocumentNumber(ctx context.Context, orgID string, mode domain.Mode, kind domain.DocumentKind, period string) (int64, error)
	ListAudit(ctx context.Context, f domain.AuditFilter) ([]domain.AuditEntry, error)

	CreateInvoice(ctx context.Context, inv *domain.Invoice) error
	GetInvoice(ctx context.Context, orgID, id string) (*domain.Invoice, error)
	LockInvoice(ctx context.Context, orgID, id string) (*domain.Invoice, error)
	GetInvoiceBySourceTransaction(ctx context.Context, orgID, transactionID string) (*domain.Invoice, error)
	ListInvoices(ctx context.Context, f domain.InvoiceFilter) ([]domain.Invoice, error)
	UpdateDraftInvoice(ctx context.Context, inv *domain.Invoice) error
	DeleteDraftInvoice(ctx context.Context, orgID, id string) error
	MarkInvoiceIssued(ctx context.Context, inv *domain.Invoice) error

	AddSettlement(ctx context.Context, st *domain.Settlement) (created bool, err error)
	ListSettlements(ctx context.Context, orgID, invoiceID string) ([]domain.Settlement, error)
	CreatePaymentLink(ctx context.Context, l *domain.InvoicePaymentLink) error
	GetPaymentLink(ctx context.Context, orgID, checkoutID string) (*domain.InvoicePaymentLink, error)
	ListPaymentLinks(ctx context.Context, orgID, invoiceID string) ([]domain.InvoicePaymentLink, error)
	GetSettlementByTransaction(ctx context.Context, orgID, transactionID string) (*domain.Settlement, error)

	// Credit notes (creditnote.go); the refund a refund note is issued for.
	GetRefund(ctx context.Context, orgID, id string) (*domain.Refund, error)
	CreateCreditNote(ctx context.Context, cn *domain.CreditNote) error
	GetCreditNote(ctx context.Context, orgID, id string) (*domain.CreditNote, error)
	GetCreditNoteBySourceRefund(ctx context.Context, orgID, refundID string) (*domain.CreditNote, error)
	GetChargebackCreditNote(ctx context.Context, orgID, transactionID string) (*domain.CreditNote, error)
	ListInvoiceCreditNotes(ctx context.Context, orgID, invoiceID string) ([]domain.CreditNote, error)
	ListCreditNotes(ctx context.Context, f domain.CreditNoteFilter) ([]domain.CreditNote, error)

	// SaveDocument stores a rendered document once (CONFLICT DOCUMENT_STORED when it exists).
	SaveDocument(ctx context.Context, d *domain.Document) error
	GetDocument(ctx context.Context, orgID string, kind domain.DocumentKind, id string) (*domain.Document, error)
}

// Mailer sends an invoice's or credit note's e-mail (pkg/mail adapts the platform's mailer).
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// Mail is an e-mail with files attached.
type Mail struct {
	To, Subject, Text string
	Attachments       []Attachment
}

// Attachment is a file sent with a Mail.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Checkouts creates the checkout of a payment link, in the caller's transaction (wiring hands
// a checkout service bound to it).
type Checkouts interface {
	CreateCheckout(ctx context.Context, actor domain.Actor, orgID, siteID string, in checkout.CheckoutInput) (*domain.Checkout, error)
}
