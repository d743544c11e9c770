package panel

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// Notifications are a transaction's merchant notifications (IPN): the attempts made and a
// manual resend. The IPN package provides them; the panel renders "no notifications yet" and
// no resend button when Deps.Notifications is nil. Both calls authorise the actor themselves
// (ipn:read, ipn:execute) and return NOT_FOUND for another organisation's transaction.
type Notifications interface {
	// ListAttempts returns every attempt of the transaction's notifications, oldest first.
	ListAttempts(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]NotificationAttempt, error)
	// Resend queues an immediate manual attempt of the transaction's latest notification.
	Resend(ctx context.Context, actor domain.Actor, orgID, txnID string) error
}

// NotificationAttempt is one HTTP request of a notification, as the transaction page shows it.
type NotificationAttempt struct {
	DeliveryID   string
	Attempt      int
	Trigger      string // scheduled or manual
	URL          string
	EventVersion int
	StartedAt    time.Time
	StatusCode   *int
	LatencyMS    int
	Error        string
	Success      bool
	// RequestBody is what was sent (signed JSON); ResponseExcerpt what came back.
	RequestBody     string
	ResponseExcerpt string
}
