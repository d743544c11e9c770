package receipt

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
)

// Store is the storage receipts need (implemented over pkg/store by package receiptstore). A
// Store handed to InTx's callback or to Hook acts inside that database transaction.
type Store interface {
	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)

	// CreateReceipt records a receipt unless one with its dedupe key exists (created false).
	CreateReceipt(ctx context.Context, r *domain.Receipt) (created bool, err error)
	GetReceipt(ctx context.Context, orgID, id string) (*domain.Receipt, error)
	ListReceipts(ctx context.Context, orgID, transactionID string) ([]domain.Receipt, error)
	// ClaimReceipt moves a pending receipt to sending; claimed says whether this call did.
	ClaimReceipt(ctx context.Context, orgID, id string) (r *domain.Receipt, claimed bool, err error)
	// FinishReceipt records the end of an attempt of a receipt that is sending.
	FinishReceipt(ctx context.Context, orgID, id string, status domain.ReceiptStatus, errText string) (bool, error)
	SetSiteReceiptsDisabled(ctx context.Context, orgID, siteID string, disabled bool) error

	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	// InTx runs fn in one database transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
	// InsertJob queues a job (in the Store's transaction, if it acts in one).
	InsertJob(ctx context.Context, args river.JobArgs) error
}

// Message is one receipt e-mail: plain text with an HTML alternative.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer sends a message. Errors wrapping ErrTemporary are retried later; others are final.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// ErrTemporary marks a mailer's error as worth retrying (the server is unreachable or answered 4xx).
var ErrTemporary = errors.New("temporary mail failure")
