package ipn

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
)

// Store is the storage the notifier and the outbox dispatcher need (pkg/store implements it;
// wiring hands it over as store.PortOf[ipn.Store]). The Store InTx hands fn acts in that
// transaction.
//
// It is also the transaction every Hook is handed: a hook of another capability turns it into
// its own port in the same transaction (wiring does, with store.Rebind), so no hook sees more
// of the store than its capability declares.
type Store interface {
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Tx: a delivery's job is queued on the transaction that makes it necessary.
	queue.Tx

	Audit(ctx context.Context, actor domain.Actor, action, targetType, targetID string, details map[string]any) error
	GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error)
	GetCheckout(ctx context.Context, orgID, id string) (*domain.Checkout, error)
	GetSite(ctx context.Context, orgID, id string) (*domain.Site, error)
	GetSiteByID(ctx context.Context, id string) (*domain.Site, error)

	// The outbox (the dispatcher).
	LockUndispatchedEvents(ctx context.Context, limit int, skip []string) ([]domain.Event, error)
	MarkEventsDispatched(ctx context.Context, ids []string, at time.Time) error

	// Deliveries and their attempts (the notifier).
	CreateIPNDelivery(ctx context.Context, d *domain.IPNDelivery) (created bool, err error)
	ListIPNDeliveries(ctx context.Context, orgID, txnID string) ([]domain.IPNDelivery, error)
	LatestIPNDelivery(ctx context.Context, orgID, txnID string) (*domain.IPNDelivery, error)
	ListIPNAttempts(ctx context.Context, orgID, txnID string) ([]domain.IPNAttempt, error)
	DueIPNHead(ctx context.Context, txnID string, now, staleBefore time.Time) (*domain.IPNDelivery, string, error)
	DueIPNHeads(ctx context.Context, now, staleBefore time.Time, limit int) ([]domain.IPNDelivery, error)
	LockIPNTransaction(ctx context.Context, txnID string) error
	ClaimIPNAttempt(ctx context.Context, txnID string, now, staleBefore time.Time, a *domain.IPNAttempt) (*domain.IPNDelivery, string, error)
	FinishIPNAttempt(ctx context.Context, a *domain.IPNAttempt, at time.Time) error
	RequestIPNResend(ctx context.Context, deliveryID, requestedBy string, at time.Time) error
	ClearIPNResend(ctx context.Context, deliveryID string, startedAt time.Time) error
	MarkIPNDelivered(ctx context.Context, id string, statusCode int, at time.Time) (bool, error)
	ScheduleIPNRetry(ctx context.Context, id string, next time.Time, statusCode *int, errText string) error
	NoteIPNAttempt(ctx context.Context, id string, statusCode *int, errText string) error
	FailIPNDelivery(ctx context.Context, id string, statusCode *int, errText string) (bool, error)
	// QueuedRiverTransactions: the transactions whose delivery job waits or was just fetched
	// (the sweep leaves them alone).
	QueuedRiverTransactions(ctx context.Context, queue string, fetchedAfter time.Time) (map[string]bool, error)
	IPNStats(ctx context.Context) (domain.IPNQueueStats, error)
}
