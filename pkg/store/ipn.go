package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// Merchant notification (IPN) delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// What made an IPN attempt.
const (
	AttemptScheduled = "scheduled"
	AttemptManual    = "manual"
)

// AttemptInterrupted is the error written on an attempt whose worker stopped (crashed, was
// killed, lost its lease) before recording the answer.
const AttemptInterrupted = "interrupted: the worker stopped before the attempt finished"

// IPNDelivery is one merchant notification: the body is built once, when the event is
// dispatched, and never changes; retries and manual resends send the same bytes.
type IPNDelivery struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	SiteID         string
	CheckoutID     string
	TransactionID  string
	EventID        string
	EventVersion   int
	URL            string `gorm:"column:url"`
	IPNVersion     int    `gorm:"column:ipn_version"`
	Body           string
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	LastStatusCode *int
	LastError      string
	DeliveredAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// AllowPrivate is the SSRF policy the target was accepted under, copied from the checkout
	// (Checkout.IPNAllowPrivate) when the delivery is created. The notifier sends to an internal
	// address only if this and its own IPN_ALLOW_PRIVATE_TARGETS both allow it. Rows from before
	// the column existed are false: the safe default.
	AllowPrivate bool `gorm:"column:allow_private"`
}

// TableName tells GORM which table holds deliveries.
func (IPNDelivery) TableName() string { return "ipn_deliveries" }

// IPNAttempt is one HTTP request of a delivery, as sent and as answered.
type IPNAttempt struct {
	ID              string `gorm:"primaryKey"`
	DeliveryID      string
	OrganizationID  string
	TransactionID   string
	Attempt         int
	TriggerKind     string
	StartedAt       time.Time
	RequestBody     string
	SignatureTS     string `gorm:"column:signature_ts"`
	StatusCode      *int
	ResponseExcerpt string
	LatencyMS       int `gorm:"column:latency_ms"`
	Error           string
	FinishedAt      *time.Time
}

// TableName tells GORM which table holds attempts.
func (IPNAttempt) TableName() string { return "ipn_attempts" }

// CreateIPNDelivery inserts a delivery for an event. An event that already has its delivery is
// not an error: created is false and d is left as given.
func (s *Store) CreateIPNDelivery(ctx context.Context, d *IPNDelivery) (created bool, err error) {
	if d.ID == "" {
		d.ID = domain.NewID(domain.PrefixDelivery)
	}
	if d.Status == "" {
		d.Status = DeliveryPending
	}
	d.CreatedAt = UTC(d.CreatedAt)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = Now()
	}
	d.UpdatedAt = d.CreatedAt
	d.NextAttemptAt = utcPtr(d.NextAttemptAt)
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "event_id"}}, DoNothing: true}).Create(d)
	if res.Error != nil {
		return false, translate(res.Error, "notification")
	}
	return res.RowsAffected == 1, nil
}

// GetIPNDelivery returns one delivery by id (workers).
func (s *Store) GetIPNDelivery(ctx context.Context, id string) (*IPNDelivery, error) {
	var d IPNDelivery
	if err := s.q(ctx).Where("id = ?", id).Take(&d).Error; err != nil {
		return nil, translate(err, "notification")
	}
	return &d, nil
}

// ListIPNDeliveries returns a transaction's deliveries in event order; empty for another
// organisation's transaction.
func (s *Store) ListIPNDeliveries(ctx context.Context, orgID, txnID string) ([]IPNDelivery, error) {
	var out []IPNDelivery
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("event_version, created_at, id").Limit(1000).Find(&out).Error
	return out, translate(err, "notifications")
}

// LatestIPNDelivery returns the delivery of a transaction's latest notified event; NOT_FOUND
// when the transaction has none (or belongs to another organisation).
func (s *Store) LatestIPNDelivery(ctx context.Context, orgID, txnID string) (*IPNDelivery, error) {
	var d IPNDelivery
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("event_version DESC, created_at DESC, id DESC").Take(&d).Error
	if err != nil {
		return nil, translate(err, "notification")
	}
	return &d, nil
}

// ListIPNAttempts returns every attempt of a transaction's notifications, oldest first;
// empty for another organisation's transaction.
func (s *Store) ListIPNAttempts(ctx context.Context, orgID, txnID string) ([]IPNAttempt, error) {
	var out []IPNAttempt
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("started_at, delivery_id, attempt").Limit(5000).Find(&out).Error
	return out, translate(err, "notification attempts")
}

// ListDeliveryAttempts returns one delivery's attempts in attempt order.
func (s *Store) ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]IPNAttempt, error) {
	var out []IPNAttempt
	err := s.q(ctx).Where("delivery_id = ?", deliveryID).Order("attempt").Find(&out).Error
	return out, translate(err, "notification attempts")
}

// StartIPNAttempt records that an attempt is about to be sent, before it is sent: it takes the
// delivery's next attempt number (a.Attempt is set) and counts it on the delivery. Unfinished
// attempts of the delivery started before staleBefore are closed as interrupted (their worker
// died). Returns CONFLICT (constraint ipn_attempts_delivery_attempt_key) when another worker
// took the same number first.
func (s *Store) StartIPNAttempt(ctx context.Context, a *IPNAttempt, staleBefore time.Time) error {
	if a.ID == "" {
		a.ID = domain.NewID(domain.PrefixAttempt)
	}
	if a.TriggerKind == "" {
		a.TriggerKind = AttemptScheduled
	}
	a.StartedAt = UTC(a.StartedAt)
	a.FinishedAt = nil
	return s.InTx(ctx, func(tx *Store) error {
		var last int
		if err := tx.db.Raw(`SELECT COALESCE(MAX(attempt), 0) FROM ipn_attempts WHERE delivery_id = ?`, a.DeliveryID).Scan(&last).Error; err != nil {
			return translate(err, "notification attempts")
		}
		a.Attempt = last + 1
		if err := tx.db.Create(a).Error; err != nil {
			return translate(err, "notification attempt")
		}
		if err := tx.db.Model(&IPNAttempt{}).
			Where("delivery_id = ? AND finished_at IS NULL AND started_at < ? AND id <> ?", a.DeliveryID, UTC(staleBefore), a.ID).
			Updates(map[string]any{"error": AttemptInterrupted, "finished_at": a.StartedAt}).Error; err != nil {
			return translate(err, "notification attempts")
		}
		res := tx.db.Model(&IPNDelivery{}).Where("id = ?", a.DeliveryID).
			Updates(map[string]any{"attempts": a.Attempt, "updated_at": Now()})
		if res.Error != nil {
			return translate(res.Error, "notification")
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("notification")
		}
		return nil
	})
}

// FinishIPNAttempt writes what an attempt got back (status code, excerpt, latency, error).
// It overwrites an "interrupted" mark: a late answer is the truth.
func (s *Store) FinishIPNAttempt(ctx context.Context, a *IPNAttempt, at time.Time) error {
	at = UTC(at)
	a.FinishedAt = &at
	res := s.q(ctx).Model(&IPNAttempt{}).Where("id = ?", a.ID).Updates(map[string]any{
		"status_code": a.StatusCode, "response_excerpt": a.ResponseExcerpt, "latency_ms": a.LatencyMS,
		"error": clip(a.Error, 1000), "finished_at": at,
	})
	return translate(res.Error, "notification attempt")
}

// MarkIPNDelivered records that the merchant accepted the notification (HTTP 200). A delivery
// that had failed for good becomes delivered (a manual resend got through). It reports whether
// the status changed.
func (s *Store) MarkIPNDelivered(ctx context.Context, id string, statusCode int, at time.Time) (bool, error) {
	at = UTC(at)
	res := s.q(ctx).Model(&IPNDelivery{}).Where("id = ? AND status <> ?", id, DeliveryDelivered).Updates(map[string]any{
		"status": DeliveryDelivered, "delivered_at": at, "next_attempt_at": nil,
		"last_status_code": statusCode, "last_error": "", "updated_at": Now(),
	})
	if res.Error != nil {
		return false, translate(res.Error, "notification")
	}
	if res.RowsAffected > 0 {
		return true, nil
	}
	// Already delivered: keep the first delivery time, note the latest answer.
	return false, translate(s.q(ctx).Model(&IPNDelivery{}).Where("id = ?", id).
		Updates(map[string]any{"last_status_code": statusCode, "last_error": "", "updated_at": Now()}).Error, "notification")
}

// ScheduleIPNRetry records a failed attempt of a pending delivery and when the next one is due.
// A delivery no longer pending is left alone (another worker finished it).
func (s *Store) ScheduleIPNRetry(ctx context.Context, id string, next time.Time, statusCode *int, errText string) error {
	res := s.q(ctx).Model(&IPNDelivery{}).Where("id = ? AND status = ?", id, DeliveryPending).Updates(map[string]any{
		"next_attempt_at": UTC(next), "last_status_code": statusCode, "last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return translate(res.Error, "notification")
}

// NoteIPNAttempt records the outcome of an attempt that changes neither the status nor the
// schedule (a manual resend that failed).
func (s *Store) NoteIPNAttempt(ctx context.Context, id string, statusCode *int, errText string) error {
	res := s.q(ctx).Model(&IPNDelivery{}).Where("id = ?", id).Updates(map[string]any{
		"last_status_code": statusCode, "last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return translate(res.Error, "notification")
}

// FailIPNDelivery gives a pending delivery up for good. It reports whether it was still pending.
func (s *Store) FailIPNDelivery(ctx context.Context, id string, statusCode *int, errText string) (bool, error) {
	res := s.q(ctx).Model(&IPNDelivery{}).Where("id = ? AND status = ?", id, DeliveryPending).Updates(map[string]any{
		"status": DeliveryFailed, "next_attempt_at": nil, "last_status_code": statusCode,
		"last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return res.RowsAffected > 0, translate(res.Error, "notification")
}

// PendingIPNPredecessor tells whether an earlier notification of the same transaction must go
// first: blocked is true when a delivery with a lower event version is still pending (returned
// as pred, the earliest one) or an earlier event of the transaction is not dispatched yet
// (pred is nil then).
func (s *Store) PendingIPNPredecessor(ctx context.Context, d *IPNDelivery) (pred *IPNDelivery, blocked bool, err error) {
	var earlier []IPNDelivery
	err = s.q(ctx).Where("transaction_id = ? AND event_version < ? AND status = ?", d.TransactionID, d.EventVersion, DeliveryPending).
		Order("event_version").Limit(1).Find(&earlier).Error
	if err != nil {
		return nil, false, translate(err, "notifications")
	}
	if len(earlier) > 0 {
		return &earlier[0], true, nil
	}
	var n int64
	err = s.q(ctx).Model(&domain.Event{}).
		Where("transaction_id = ? AND version > 0 AND version < ? AND dispatched_at IS NULL", d.TransactionID, d.EventVersion).Count(&n).Error
	if err != nil {
		return nil, false, translate(err, "events")
	}
	return nil, n > 0, nil
}

// NextPendingIPNDelivery returns the first pending delivery of a transaction after event
// version v; NOT_FOUND when there is none.
func (s *Store) NextPendingIPNDelivery(ctx context.Context, txnID string, v int) (*IPNDelivery, error) {
	var d IPNDelivery
	err := s.q(ctx).Where("transaction_id = ? AND event_version > ? AND status = ?", txnID, v, DeliveryPending).
		Order("event_version").Take(&d).Error
	if err != nil {
		return nil, translate(err, "notification")
	}
	return &d, nil
}

// IPNQueueStats describes the notification backlog.
type IPNQueueStats struct {
	PendingDeliveries  int64
	OldestPending      *time.Time // creation of the oldest pending delivery
	UndispatchedEvents int64
	OldestUndispatched *time.Time // creation of the oldest event not yet dispatched
}

// IPNStats measures the notification backlog (metrics, at scrape time).
func (s *Store) IPNStats(ctx context.Context) (IPNQueueStats, error) {
	var st IPNQueueStats
	if err := s.q(ctx).Model(&IPNDelivery{}).Where("status = ?", DeliveryPending).Count(&st.PendingDeliveries).Error; err != nil {
		return st, translate(err, "notifications")
	}
	if st.PendingDeliveries > 0 {
		var d []IPNDelivery
		if err := s.q(ctx).Select("id, created_at").Where("status = ?", DeliveryPending).Order("created_at").Limit(1).Find(&d).Error; err != nil {
			return st, translate(err, "notifications")
		}
		if len(d) > 0 {
			st.OldestPending = &d[0].CreatedAt
		}
	}
	if err := s.q(ctx).Model(&domain.Event{}).Where("dispatched_at IS NULL").Count(&st.UndispatchedEvents).Error; err != nil {
		return st, translate(err, "events")
	}
	if st.UndispatchedEvents > 0 {
		var e []domain.Event
		if err := s.q(ctx).Select("id, created_at").Where("dispatched_at IS NULL").Order("created_at").Limit(1).Find(&e).Error; err != nil {
			return st, translate(err, "events")
		}
		if len(e) > 0 {
			st.OldestUndispatched = &e[0].CreatedAt
		}
	}
	return st, nil
}

// LockUndispatchedEvents returns up to limit outbox events not yet dispatched, oldest first.
// Call it first inside InTx: on PostgreSQL the rows stay locked (FOR UPDATE SKIP LOCKED) until
// the transaction ends, so concurrent dispatchers take disjoint batches; on SQLite it takes the
// database's write lock, so the transaction excludes other writers and its writes cannot fail
// with SQLITE_BUSY.
// Events named in skip are left out (the caller found they fail).
func (s *Store) LockUndispatchedEvents(ctx context.Context, limit int, skip []string) ([]domain.Event, error) {
	q := s.q(ctx).Where("dispatched_at IS NULL").Order("created_at, id").Limit(limit)
	if len(skip) > 0 {
		q = q.Where("id NOT IN ?", skip)
	}
	if s.dialect == Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	var out []domain.Event
	return out, translate(q.Find(&out).Error, "events")
}

// MarkEventsDispatched records that events were handed to every dispatcher hook.
func (s *Store) MarkEventsDispatched(ctx context.Context, ids []string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return translate(s.q(ctx).Model(&domain.Event{}).Where("id IN ? AND dispatched_at IS NULL", ids).
		Update("dispatched_at", UTC(at)).Error, "events")
}
