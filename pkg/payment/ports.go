package payment

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/queue"
)

// Store is the storage the payment use cases need (pkg/store implements it; wiring hands it
// over as store.PortOf[payment.Store]). The Store InTx hands fn acts in that transaction.
//
// It is one port, not one per use case, on purpose: the payment use cases run inside one
// another's transactions (applying a provider outcome moves the transaction, records a refund
// or a dispute, appends events and queues jobs; a refund reads and moves the transaction it
// refunds; the providers read through the same store, providers.Store, while an outcome is
// applied), and InTx hands each of them the one transaction's store. Role interfaces would
// all have to be embedded here again for that, so splitting it would name the same methods
// twice without narrowing what any caller can reach. What other capabilities need of payment
// is narrow instead (integration/duda's Payments port, hooks and runtimesrv hold the service).
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Tx: jobs (a provider event's, a refund's) are queued on the transaction that makes them
	// necessary.
	queue.Tx
	// providers.Store: the providers read through the service's store.
	providers.Store

	AppendEvent(ctx context.Context, e *domain.Event) error
	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	ClaimRefundLock(ctx context.Context, txnID, token string, ttl time.Duration) (bool, error)
	CreateRefund(ctx context.Context, r *domain.Refund) error
	CreateTransaction(ctx context.Context, t *domain.Transaction) error
	RecordClientVATCheck(ctx context.Context, orgID, clientID, vatID string, status domain.VATIDStatus, at time.Time) error
	EndCheckout(ctx context.Context, orgID, id string, to domain.CheckoutStatus) (*domain.Checkout, error)
	FinishProviderEvent(ctx context.Context, id, status, errText string) error
	GetCheckoutBySession(ctx context.Context, sessionPublicID string) (*domain.Checkout, error)
	GetCheckoutByShortCode(ctx context.Context, code string) (*domain.Checkout, error)
	GetCheckoutForPage(ctx context.Context, code string, bySession bool) (*domain.Checkout, domain.PageStamps, error)
	GetOrganization(ctx context.Context, id string) (*domain.Organization, error)
	GetProviderByID(ctx context.Context, id string) (*domain.Provider, error)
	GetProviderEvent(ctx context.Context, id string) (*domain.ProviderEvent, error)
	GetRefundByProviderRef(ctx context.Context, txnID, ref string) (*domain.Refund, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	GetTransactionByID(ctx context.Context, id string) (*domain.Transaction, error)
	InsertProviderEvent(ctx context.Context, e *domain.ProviderEvent) (inserted bool, err error)
	ListCheckoutTransactions(ctx context.Context, orgID, checkoutID string) ([]domain.Transaction, error)
	ListExpiredOpenCheckouts(ctx context.Context, now time.Time, limit int) ([]domain.ExpiredCheckout, error)
	ListQueuedRefunds(ctx context.Context, before time.Time, limit int) ([]domain.QueuedRefunds, error)
	ListRefunds(ctx context.Context, orgID, txnID string) ([]domain.Refund, error)
	ListSiteProviders(ctx context.Context, orgID, siteID string) ([]domain.Provider, error)
	ListStaleOpenTransactions(ctx context.Context, t domain.ProviderType, before time.Time, limit int) ([]domain.OpenTransaction, error)
	ListTransactionEvents(ctx context.Context, orgID, txnID string) ([]domain.Event, error)
	ListTransactions(ctx context.Context, f domain.TransactionFilter) ([]domain.Transaction, error)
	ListUnsentRefunds(ctx context.Context, orgID, txnID string) ([]domain.Refund, error)
	LockTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	MarkReconciled(ctx context.Context, orgID, id string) error
	ReleaseRefundLock(ctx context.Context, txnID, token string) error
	SaveWebhookDelivery(ctx context.Context, d *domain.WebhookDelivery) error
	Stats(ctx context.Context, orgID string, mode domain.Mode, since ...time.Time) ([]domain.PaymentStats, error)
	SumAcceptedRefunds(ctx context.Context, txnID string) (int64, error)
	SumRefunds(ctx context.Context, txnID string) (int64, error)
	TransitionTransaction(ctx context.Context, tr domain.Transition) (*domain.Transaction, error)
	UpdateRefund(ctx context.Context, orgID, id string, from domain.RefundStatus, ch domain.RefundChanges) error
	UpdateTransactionFields(ctx context.Context, orgID, id string, ch domain.TransactionChanges, expect ...domain.TransactionStatus) error
}
