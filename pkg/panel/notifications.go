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
	// Resend queues an immediate manual attempt of the transaction's latest notification
	// (an earlier one still pending is made due now first: notifications keep their order).
	Resend(ctx context.Context, actor domain.Actor, orgID, txnID string) error
	// ListDeliveries returns the transaction's notifications in event order.
	ListDeliveries(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]NotificationDelivery, error)
}

// NotificationDelivery is one notification (one event of the transaction) and where it stands.
type NotificationDelivery struct {
	ID            string
	EventVersion  int
	EventType     string
	Status        string // pending, delivered, failed
	Attempts      int
	NextAttemptAt *time.Time
	LastError     string
}

// NotificationsView is what a page shows of one key's notifications (a transaction's IPNs, an
// invoice's events): the attempts, the queue, and whether this server has notifications.
type NotificationsView struct {
	Notifier bool
	Attempts []NotificationAttempt
	Queue    notificationQueue
}

// loadNotifications reads key's notifications for the page; an actor without ipn:read sees
// none, and so does a key that has none yet (an invoice whose site got no event).
func (p *Panel) loadNotifications(ctx context.Context, r *request, key string) (NotificationsView, error) {
	var v NotificationsView
	if p.d.Notifications == nil {
		return v, nil
	}
	v.Notifier = true
	quiet := func(err error) bool { return domain.ErrorKind(err) == domain.KindForbidden || domain.IsNotFound(err) }
	var err error
	if v.Attempts, err = p.d.Notifications.ListAttempts(ctx, r.Actor, r.OrgID(), key); err != nil && !quiet(err) {
		return v, err
	}
	ds, err := p.d.Notifications.ListDeliveries(ctx, r.Actor, r.OrgID(), key)
	if err != nil && !quiet(err) {
		return v, err
	}
	v.Queue = queueOf(ds)
	return v, nil
}

// notificationQueue is what the transaction page says about queued notifications: the ones
// still pending, and the earliest of them when it failed before and holds later ones back.
type notificationQueue struct {
	Pending []NotificationDelivery
	// Blocking is the earliest pending notification when it has failed at least once and a
	// later one waits behind it (nil otherwise).
	Blocking *NotificationDelivery
	Waiting  int
}

func queueOf(ds []NotificationDelivery) notificationQueue {
	var q notificationQueue
	for _, d := range ds {
		if d.Status == "pending" {
			q.Pending = append(q.Pending, d)
		}
	}
	if len(q.Pending) > 1 && q.Pending[0].Attempts > 0 {
		q.Blocking, q.Waiting = &q.Pending[0], len(q.Pending)-1
	}
	return q
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
