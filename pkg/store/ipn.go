package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// ipnDeliveryRow is the row of a domain.IPNDelivery (the same fields, converted one to the
// other; the row names its table and columns).
type ipnDeliveryRow struct {
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

	AllowPrivate bool `gorm:"column:allow_private"`

	ResendRequestedAt *time.Time
	ResendRequestedBy *string
}

// TableName tells GORM which table holds deliveries.
func (ipnDeliveryRow) TableName() string { return "ipn_deliveries" }

// ipnAttemptRow is the row of a domain.IPNAttempt (the same fields, converted one to the other).
type ipnAttemptRow struct {
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
func (ipnAttemptRow) TableName() string { return "ipn_attempts" }

func ipnDeliveries(rows []ipnDeliveryRow) []domain.IPNDelivery {
	if rows == nil {
		return nil
	}
	out := make([]domain.IPNDelivery, len(rows))
	for i, r := range rows {
		out[i] = domain.IPNDelivery(r)
	}
	return out
}

func ipnAttempts(rows []ipnAttemptRow) []domain.IPNAttempt {
	if rows == nil {
		return nil
	}
	out := make([]domain.IPNAttempt, len(rows))
	for i, r := range rows {
		out[i] = domain.IPNAttempt(r)
	}
	return out
}

// CreateIPNDelivery inserts a delivery for an event. An event that already has its delivery is
// not an error: created is false and d is left as given.
func (s *Store) CreateIPNDelivery(ctx context.Context, d *domain.IPNDelivery) (created bool, err error) {
	if d.ID == "" {
		d.ID = domain.NewID(domain.PrefixDelivery)
	}
	if d.Status == "" {
		d.Status = domain.IPNDeliveryPending
	}
	d.CreatedAt = UTC(d.CreatedAt)
	if d.CreatedAt.IsZero() {
		d.CreatedAt = Now()
	}
	d.UpdatedAt = d.CreatedAt
	d.NextAttemptAt = utcPtr(d.NextAttemptAt)
	r := ipnDeliveryRow(*d)
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "event_id"}}, DoNothing: true}).Create(&r)
	if res.Error != nil {
		return false, translate(res.Error, "notification")
	}
	return res.RowsAffected == 1, nil
}

// GetIPNDelivery returns one delivery by id (workers).
func (s *Store) GetIPNDelivery(ctx context.Context, id string) (*domain.IPNDelivery, error) {
	var r ipnDeliveryRow
	if err := s.q(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return nil, translate(err, "notification")
	}
	d := domain.IPNDelivery(r)
	return &d, nil
}

// ListIPNDeliveries returns a transaction's deliveries in event order; empty for another
// organisation's transaction.
func (s *Store) ListIPNDeliveries(ctx context.Context, orgID, txnID string) ([]domain.IPNDelivery, error) {
	var out []ipnDeliveryRow
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("event_version, created_at, id").Limit(1000).Find(&out).Error
	return ipnDeliveries(out), translate(err, "notifications")
}

// LatestIPNDelivery returns the delivery of a transaction's latest notified event; NOT_FOUND
// when the transaction has none (or belongs to another organisation).
func (s *Store) LatestIPNDelivery(ctx context.Context, orgID, txnID string) (*domain.IPNDelivery, error) {
	var r ipnDeliveryRow
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("event_version DESC, created_at DESC, id DESC").Take(&r).Error
	if err != nil {
		return nil, translate(err, "notification")
	}
	d := domain.IPNDelivery(r)
	return &d, nil
}

// ListIPNAttempts returns every attempt of a transaction's notifications, oldest first;
// empty for another organisation's transaction.
func (s *Store) ListIPNAttempts(ctx context.Context, orgID, txnID string) ([]domain.IPNAttempt, error) {
	var out []ipnAttemptRow
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).
		Order("started_at, delivery_id, attempt").Limit(5000).Find(&out).Error
	return ipnAttempts(out), translate(err, "notification attempts")
}

// ListDeliveryAttempts returns one delivery's attempts in attempt order.
func (s *Store) ListDeliveryAttempts(ctx context.Context, deliveryID string) ([]domain.IPNAttempt, error) {
	var out []ipnAttemptRow
	err := s.q(ctx).Where("delivery_id = ?", deliveryID).Order("attempt").Find(&out).Error
	return ipnAttempts(out), translate(err, "notification attempts")
}

// ipnHead returns the delivery of a transaction owed the next attempt, in event order: the first
// that is pending or has a resend request; nil when there is none.
//
// It also reports, read in the same statement, whether an earlier event of the transaction is
// still undispatched (its delivery may not exist yet) and whether an attempt of the transaction
// started at or after staleBefore is unfinished: on PostgreSQL each statement of a READ
// COMMITTED transaction sees the database as of its own start, so with separate statements
// another backend's commit in between would be seen half. The scale-out test saw a later
// delivery pass for the head (the earlier events dispatched between two reads), and the
// two-backend test an attempt made twice (the delivery read as pending, then its attempt read
// as finished once the other backend had recorded it delivered).
func (s *Store) ipnHead(ctx context.Context, txnID string, staleBefore time.Time) (*domain.IPNDelivery, bool, bool, error) {
	var rows []struct {
		Row          ipnDeliveryRow `gorm:"embedded"` // named: GORM skips an unexported embedded type
		Undispatched int64
		InFlight     int64
	}
	err := s.q(ctx).Raw(`SELECT d.*, (SELECT COUNT(*) FROM events ev WHERE ev.transaction_id = d.transaction_id
   AND ev.version > 0 AND ev.version < d.event_version AND ev.dispatched_at IS NULL) AS undispatched,
 (SELECT COUNT(*) FROM ipn_attempts a WHERE a.transaction_id = d.transaction_id
   AND a.finished_at IS NULL AND a.started_at >= ?) AS in_flight
 FROM ipn_deliveries d WHERE d.transaction_id = ? AND (d.status = ? OR d.resend_requested_at IS NOT NULL)
 ORDER BY d.event_version, d.created_at, d.id LIMIT 1`, UTC(staleBefore), txnID, domain.IPNDeliveryPending).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, false, false, translate(err, "notifications")
	}
	d := domain.IPNDelivery(rows[0].Row)
	return &d, rows[0].Undispatched > 0, rows[0].InFlight > 0, nil
}

// DueIPNHead returns the delivery of a transaction that is owed an attempt now: its head (see
// ipnHead) when a resend was asked for it or its next attempt is due at now, no attempt of the
// transaction started after staleBefore is unfinished and every earlier event of the
// transaction was dispatched. Otherwise it returns why (domain.IPNIdle, domain.IPNBusy: no delivery;
// domain.IPNBlocked: the delivery that waits for an earlier event's dispatch).
func (s *Store) DueIPNHead(ctx context.Context, txnID string, now, staleBefore time.Time) (*domain.IPNDelivery, string, error) {
	d, blocked, busy, err := s.ipnHead(ctx, txnID, staleBefore)
	if err != nil || d == nil {
		return nil, domain.IPNIdle, err
	}
	if d.ResendRequestedAt == nil && (d.Status != domain.IPNDeliveryPending || d.NextAttemptAt == nil || d.NextAttemptAt.After(now)) {
		return nil, domain.IPNIdle, nil
	}
	if busy {
		return nil, domain.IPNBusy, nil
	}
	if blocked {
		return d, domain.IPNBlocked, nil // d is owed its attempt as soon as the earlier event is dispatched
	}
	return d, "", nil
}

// LockIPNTransaction takes, inside a database transaction, the lock under which a transaction's
// notification attempts are claimed and recorded (PostgreSQL: an advisory lock on its id, held
// to the end of the database transaction; SQLite: nothing to do, the IMMEDIATE transaction holds
// the database's write lock). A claim therefore never runs beside the recording of the
// transaction's previous attempt: it sees it wholly or not at all.
func (s *Store) LockIPNTransaction(ctx context.Context, txnID string) error {
	if s.dialect != Postgres {
		return nil
	}
	return translate(s.q(ctx).Exec(`SELECT pg_advisory_xact_lock(72707370, hashtext(?))`, txnID).Error, "notification lock")
}

// ClaimIPNAttempt takes a transaction's next notification attempt, if one is owed now: under the
// transaction's lock (PostgreSQL: an advisory lock on its id; SQLite: the IMMEDIATE transaction's
// write lock) it finds the delivery (DueIPNHead), records the attempt before it is sent — its
// number claimed once, unique per delivery — counts it on the delivery and closes the
// transaction's unfinished attempts started before staleBefore as interrupted (their worker
// died). a gets the delivery's ids, body and trigger (manual when a resend was asked for).
//
// An unfinished attempt younger than staleBefore is the transaction's lock: while one is in
// flight nothing is claimed (domain.IPNBusy), so one transaction's notifications go out one at a time,
// in event order, whatever number of workers look. It returns the delivery, or nil and why not.
func (s *Store) ClaimIPNAttempt(ctx context.Context, txnID string, now, staleBefore time.Time, a *domain.IPNAttempt) (*domain.IPNDelivery, string, error) {
	var d *domain.IPNDelivery
	var why string
	err := s.InTx(ctx, func(tx *Store) error {
		if err := tx.LockIPNTransaction(ctx, txnID); err != nil {
			return err
		}
		var err error
		if d, why, err = tx.DueIPNHead(ctx, txnID, now, staleBefore); err != nil || why != "" {
			d = nil
			return err
		}
		if a.ID == "" {
			a.ID = domain.NewID(domain.PrefixAttempt)
		}
		a.DeliveryID, a.OrganizationID, a.TransactionID, a.RequestBody = d.ID, d.OrganizationID, d.TransactionID, d.Body
		a.TriggerKind = domain.IPNAttemptScheduled
		if d.ResendRequestedAt != nil {
			a.TriggerKind = domain.IPNAttemptManual
		}
		a.StartedAt = UTC(a.StartedAt)
		a.FinishedAt = nil
		var last int
		if err := tx.db.Raw(`SELECT COALESCE(MAX(attempt), 0) FROM ipn_attempts WHERE delivery_id = ?`, d.ID).Scan(&last).Error; err != nil {
			return translate(err, "notification attempts")
		}
		a.Attempt = last + 1
		row := ipnAttemptRow(*a)
		if err := tx.db.Create(&row).Error; err != nil {
			return translate(err, "notification attempt")
		}
		if err := tx.db.Model(&ipnAttemptRow{}).
			Where("transaction_id = ? AND finished_at IS NULL AND started_at < ? AND id <> ?", d.TransactionID, UTC(staleBefore), a.ID).
			Updates(map[string]any{"error": domain.IPNAttemptInterrupted, "finished_at": a.StartedAt}).Error; err != nil {
			return translate(err, "notification attempts")
		}
		d.Attempts = a.Attempt
		return translate(tx.db.Model(&ipnDeliveryRow{}).Where("id = ?", d.ID).
			Updates(map[string]any{"attempts": a.Attempt, "updated_at": Now()}).Error, "notification")
	})
	if err != nil {
		return nil, "", err
	}
	return d, why, nil
}

// RequestIPNResend asks for a manual attempt of a delivery (delivered, pending or failed): it is
// made in the transaction's order, so earlier pending deliveries of the transaction are made due
// at once. A request already waiting keeps its time.
func (s *Store) RequestIPNResend(ctx context.Context, deliveryID, requestedBy string, at time.Time) error {
	at = UTC(at)
	return s.InTx(ctx, func(tx *Store) error {
		d, err := tx.GetIPNDelivery(ctx, deliveryID)
		if err != nil {
			return err
		}
		var by *string
		if requestedBy != "" {
			by = &requestedBy
		}
		if err := tx.db.Model(&ipnDeliveryRow{}).Where("id = ? AND resend_requested_at IS NULL", d.ID).
			Updates(map[string]any{"resend_requested_at": at, "resend_requested_by": by, "updated_at": Now()}).Error; err != nil {
			return translate(err, "notification")
		}
		return translate(tx.db.Model(&ipnDeliveryRow{}).
			Where("transaction_id = ? AND status = ? AND event_version < ? AND next_attempt_at > ?", d.TransactionID, domain.IPNDeliveryPending, d.EventVersion, at).
			Updates(map[string]any{"next_attempt_at": at, "updated_at": Now()}).Error, "notifications")
	})
}

// ClearIPNResend ends a delivery's resend request once a manual attempt started at startedAt
// has its answer (a request made after that attempt started stays).
func (s *Store) ClearIPNResend(ctx context.Context, deliveryID string, startedAt time.Time) error {
	return translate(s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ? AND resend_requested_at <= ?", deliveryID, UTC(startedAt)).
		Updates(map[string]any{"resend_requested_at": nil, "resend_requested_by": nil, "updated_at": Now()}).Error, "notification")
}

// DueIPNHeads finds, across transactions, the deliveries owed an attempt now (DueIPNHead's
// rule), oldest due first: the notifier's sweep queues a job for each (recovering attempts
// whose worker died, retries that came due, resends, and deliveries from before an upgrade).
func (s *Store) DueIPNHeads(ctx context.Context, now, staleBefore time.Time, limit int) ([]domain.IPNDelivery, error) {
	now, staleBefore = UTC(now), UTC(staleBefore)
	var out []ipnDeliveryRow
	err := s.q(ctx).Raw(`SELECT d.* FROM ipn_deliveries d
 WHERE (d.status = 'pending' OR d.resend_requested_at IS NOT NULL)
   AND (d.resend_requested_at IS NOT NULL OR d.next_attempt_at <= ?)
   AND NOT EXISTS (SELECT 1 FROM ipn_deliveries e WHERE e.transaction_id = d.transaction_id
       AND (e.status = 'pending' OR e.resend_requested_at IS NOT NULL) AND e.event_version < d.event_version)
   AND NOT EXISTS (SELECT 1 FROM ipn_attempts a WHERE a.transaction_id = d.transaction_id
       AND a.finished_at IS NULL AND a.started_at >= ?)
   AND NOT EXISTS (SELECT 1 FROM events ev WHERE ev.transaction_id = d.transaction_id
       AND ev.version > 0 AND ev.version < d.event_version AND ev.dispatched_at IS NULL)
 ORDER BY COALESCE(d.resend_requested_at, d.next_attempt_at), d.id LIMIT ?`, now, staleBefore, limit).Scan(&out).Error
	return ipnDeliveries(out), translate(err, "notifications")
}

// QueuedRiverTransactions returns the transactionId argument of the River jobs of a queue that
// wait to run (available, scheduled, retrying) or were fetched after fetchedAfter (a worker
// claims its attempt at once, so such a job is about to): the notifier's sweep leaves those
// transactions alone. A job running for longer is not counted: its worker may be dead.
//
// River writes attempted_at from its own clock in its own format per database, so the
// comparison is made here, on the few running jobs, rather than in SQL.
func (s *Store) QueuedRiverTransactions(ctx context.Context, queue string, fetchedAfter time.Time) (map[string]bool, error) {
	var rows []struct {
		ID          string
		State       string
		AttemptedAt *time.Time
	}
	err := s.q(ctx).Raw(`SELECT args ->> 'transactionId' AS id, state, attempted_at FROM river_job
 WHERE state IN ('available', 'pending', 'retryable', 'scheduled', 'running') AND queue = ?`, queue).Scan(&rows).Error
	if err != nil {
		return nil, translate(err, "river jobs")
	}
	out := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.State != "running" || (r.AttemptedAt != nil && r.AttemptedAt.After(fetchedAfter)) {
			out[r.ID] = true
		}
	}
	return out, nil
}

// NextIPNAttemptAt returns when the next attempt of any notification is due (now for a resend
// request); NOT_FOUND when none is owed.
func (s *Store) NextIPNAttemptAt(ctx context.Context, now time.Time) (time.Time, error) {
	var n int64
	if err := s.q(ctx).Model(&ipnDeliveryRow{}).Where("resend_requested_at IS NOT NULL").Count(&n).Error; err != nil {
		return time.Time{}, translate(err, "notifications")
	}
	if n > 0 {
		return UTC(now), nil
	}
	var d ipnDeliveryRow
	err := s.q(ctx).Select("id, next_attempt_at").Where("status = ? AND next_attempt_at IS NOT NULL", domain.IPNDeliveryPending).
		Order("next_attempt_at").Take(&d).Error
	if err != nil {
		return time.Time{}, translate(err, "notification")
	}
	return *d.NextAttemptAt, nil
}

// FinishIPNAttempt writes what an attempt got back (status code, excerpt, latency, error).
// It overwrites an "interrupted" mark: a late answer is the truth.
func (s *Store) FinishIPNAttempt(ctx context.Context, a *domain.IPNAttempt, at time.Time) error {
	at = UTC(at)
	a.FinishedAt = &at
	res := s.q(ctx).Model(&ipnAttemptRow{}).Where("id = ?", a.ID).Updates(map[string]any{
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
	res := s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ? AND status <> ?", id, domain.IPNDeliveryDelivered).Updates(map[string]any{
		"status": domain.IPNDeliveryDelivered, "delivered_at": at, "next_attempt_at": nil,
		"last_status_code": statusCode, "last_error": "", "updated_at": Now(),
	})
	if res.Error != nil {
		return false, translate(res.Error, "notification")
	}
	if res.RowsAffected > 0 {
		return true, nil
	}
	// Already delivered: keep the first delivery time, note the latest answer.
	return false, translate(s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ?", id).
		Updates(map[string]any{"last_status_code": statusCode, "last_error": "", "updated_at": Now()}).Error, "notification")
}

// ScheduleIPNRetry records a failed attempt of a pending delivery and when the next one is due.
// A delivery no longer pending is left alone (another worker finished it).
func (s *Store) ScheduleIPNRetry(ctx context.Context, id string, next time.Time, statusCode *int, errText string) error {
	res := s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ? AND status = ?", id, domain.IPNDeliveryPending).Updates(map[string]any{
		"next_attempt_at": UTC(next), "last_status_code": statusCode, "last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return translate(res.Error, "notification")
}

// NoteIPNAttempt records the outcome of an attempt that changes neither the status nor the
// schedule (a manual resend that failed).
func (s *Store) NoteIPNAttempt(ctx context.Context, id string, statusCode *int, errText string) error {
	res := s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ?", id).Updates(map[string]any{
		"last_status_code": statusCode, "last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return translate(res.Error, "notification")
}

// FailIPNDelivery gives a pending delivery up for good. It reports whether it was still pending.
func (s *Store) FailIPNDelivery(ctx context.Context, id string, statusCode *int, errText string) (bool, error) {
	res := s.q(ctx).Model(&ipnDeliveryRow{}).Where("id = ? AND status = ?", id, domain.IPNDeliveryPending).Updates(map[string]any{
		"status": domain.IPNDeliveryFailed, "next_attempt_at": nil, "last_status_code": statusCode,
		"last_error": clip(errText, 1000), "updated_at": Now(),
	})
	return res.RowsAffected > 0, translate(res.Error, "notification")
}

// IPNStats measures the notification backlog (metrics, at scrape time).
func (s *Store) IPNStats(ctx context.Context) (domain.IPNQueueStats, error) {
	var st domain.IPNQueueStats
	if err := s.q(ctx).Model(&ipnDeliveryRow{}).Where("status = ?", domain.IPNDeliveryPending).Count(&st.PendingDeliveries).Error; err != nil {
		return st, translate(err, "notifications")
	}
	if st.PendingDeliveries > 0 {
		var d []ipnDeliveryRow
		if err := s.q(ctx).Select("id, created_at").Where("status = ?", domain.IPNDeliveryPending).Order("created_at").Limit(1).Find(&d).Error; err != nil {
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

// clip shortens s to at most n bytes without splitting a UTF-8 character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
