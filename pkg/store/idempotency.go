package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// IdempotencyRecord is a stored answer to a request sent with an Idempotency-Key.
type IdempotencyRecord struct {
	OrganizationID string `gorm:"primaryKey"`
	IdemKey        string `gorm:"primaryKey;column:idem_key"`
	RequestHash    string
	State          string // in_flight | completed
	StatusCode     *int
	ResponseBody   *string
	ContentType    string
	LockedUntil    *time.Time
	CreatedAt      time.Time
	CompletedAt    *time.Time
	ExpiresAt      time.Time
}

// TableName tells GORM which table holds idempotency records.
func (IdempotencyRecord) TableName() string { return "idempotency_keys" }

// Idempotency outcomes of BeginIdempotency.
const (
	IdemStarted  = "started"   // the caller owns the key and must complete or release it
	IdemReplay   = "replay"    // a stored answer exists: send it again
	IdemReused   = "reused"    // same key, different request
	IdemInFlight = "in_flight" // another request with the key is still running
)

// BeginIdempotency claims an idempotency key for a request, or finds what happened to it.
// The claim commits on its own (cheaply: on PostgreSQL without waiting for the WAL flush, which
// is safe because the completion that follows is durable and is ordered after it) so a
// concurrent request with the same key sees it in flight. A claim whose lease ran out (its
// process died) can be taken over; an expired record is replaced.
func (s *Store) BeginIdempotency(ctx context.Context, orgID, key, hash string, lease, ttl time.Duration) (string, *IdempotencyRecord, error) {
	var outcome string
	var rec IdempotencyRecord
	err := s.InTx(ctx, func(tx *Store) error {
		if tx.dialect == Postgres {
			if err := tx.db.Exec(`SET LOCAL synchronous_commit TO OFF`).Error; err != nil {
				return err
			}
		}
		now := Now()
		res := tx.db.Exec(`INSERT INTO idempotency_keys (organization_id, idem_key, request_hash, state, locked_until, created_at, expires_at)
			VALUES (?, ?, ?, 'in_flight', ?, ?, ?) ON CONFLICT (organization_id, idem_key) DO NOTHING`,
			orgID, key, hash, now.Add(lease), now, now.Add(ttl))
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			outcome = IdemStarted
			return nil
		}
		q := tx.db.Where("organization_id = ? AND idem_key = ?", orgID, key)
		if tx.dialect == Postgres {
			q = q.Clauses(forUpdate())
		}
		if err := q.Take(&rec).Error; err != nil {
			return err
		}
		claim := func() error {
			outcome = IdemStarted
			return tx.db.Model(&IdempotencyRecord{}).Where("organization_id = ? AND idem_key = ?", orgID, key).
				Updates(map[string]any{"request_hash": hash, "state": "in_flight", "locked_until": now.Add(lease), "status_code": nil,
					"response_body": nil, "completed_at": nil, "created_at": now, "expires_at": now.Add(ttl)}).Error
		}
		switch {
		case !rec.ExpiresAt.After(now):
			return claim()
		case rec.RequestHash != hash:
			outcome = IdemReused
		case rec.State == "completed":
			outcome = IdemReplay
		case rec.LockedUntil != nil && rec.LockedUntil.After(now):
			outcome = IdemInFlight
		default:
			return claim()
		}
		return nil
	})
	if err != nil {
		return "", nil, translate(err, "idempotency key")
	}
	return outcome, &rec, nil
}

// CompleteIdempotency stores the answer for a claimed key. Call it in the transaction that
// makes the request's changes, so the answer exists exactly when the effect does.
func (s *Store) CompleteIdempotency(ctx context.Context, orgID, key string, status int, body []byte, contentType string) error {
	b := string(body)
	now := Now()
	res := s.q(ctx).Model(&IdempotencyRecord{}).Where("organization_id = ? AND idem_key = ? AND state = 'in_flight'", orgID, key).
		Updates(map[string]any{"state": "completed", "status_code": status, "response_body": b, "content_type": contentType, "completed_at": now, "locked_until": nil})
	if res.Error != nil {
		return translate(res.Error, "idempotency key")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeIdempotencyInFlight, "the idempotency key was taken over by another request")
	}
	return nil
}

// ReleaseIdempotency forgets a claim whose request failed in a way worth retrying.
func (s *Store) ReleaseIdempotency(ctx context.Context, orgID, key string) error {
	return translate(s.q(ctx).Where("organization_id = ? AND idem_key = ? AND state = 'in_flight'", orgID, key).
		Delete(&IdempotencyRecord{}).Error, "idempotency key")
}

// DeleteExpiredIdempotency removes records past their retention.
func (s *Store) DeleteExpiredIdempotency(ctx context.Context, now time.Time, limit int) (int64, error) {
	res := s.q(ctx).Exec(`DELETE FROM idempotency_keys WHERE organization_id || ':' || idem_key IN (
		SELECT organization_id || ':' || idem_key FROM idempotency_keys WHERE expires_at < ? LIMIT ?)`, UTC(now), limit)
	return res.RowsAffected, translate(res.Error, "idempotency keys")
}

// LockIdempotency takes, for the current transaction, the right to run the request with this
// key and returns the key's record, if any. locked false means another request with the key is
// running now. On PostgreSQL the right is a transaction-scoped advisory lock, taken in the same
// statement as the lookup; SQLite runs one writer at a time, so it always has it.
func (s *Store) LockIdempotency(ctx context.Context, orgID, key string) (locked bool, rec *IdempotencyRecord, err error) {
	var rows []struct {
		Locked bool
		IdempotencyRecord
	}
	q := `SELECT true AS locked, k.* FROM idempotency_keys k WHERE k.organization_id = ? AND k.idem_key = ?`
	args := []any{orgID, key}
	if s.dialect == Postgres {
		q = `SELECT l.locked, k.* FROM (SELECT pg_try_advisory_xact_lock(hashtextextended(?, 7)) AS locked) l
			LEFT JOIN idempotency_keys k ON k.organization_id = ? AND k.idem_key = ?`
		args = []any{orgID + "/" + key, orgID, key}
	}
	if err := s.q(ctx).Raw(q, args...).Find(&rows).Error; err != nil { // Find, not Scan: see createCheckoutPostgres
		return false, nil, translate(err, "idempotency key")
	}
	if len(rows) == 0 { // SQLite, no record
		return true, nil, nil
	}
	if rows[0].IdemKey == "" { // PostgreSQL, no record
		return rows[0].Locked, nil, nil
	}
	r := rows[0].IdempotencyRecord
	return rows[0].Locked, &r, nil
}

// DeleteStaleIdempotency removes the key's record if it is stale: expired, or a claim whose
// process died (its lease ran out). A record that is not stale, such as a fresh answer another
// request wrote after this one read the stale record, stays.
func (s *Store) DeleteStaleIdempotency(ctx context.Context, orgID, key string) error {
	now := Now()
	return translate(s.q(ctx).Where("organization_id = ? AND idem_key = ? AND (expires_at <= ? OR (state = 'in_flight' AND (locked_until IS NULL OR locked_until <= ?)))",
		orgID, key, now, now).Delete(&IdempotencyRecord{}).Error, "idempotency key")
}

// SaveIdempotency stores the answer of a request run under LockIdempotency.
func (s *Store) SaveIdempotency(ctx context.Context, orgID, key, hash string, status int, body []byte, contentType string, ttl time.Duration) error {
	now := Now()
	b := string(body)
	return translate(s.q(ctx).Create(&IdempotencyRecord{OrganizationID: orgID, IdemKey: key, RequestHash: hash, State: "completed",
		StatusCode: &status, ResponseBody: &b, ContentType: contentType, CreatedAt: now, CompletedAt: &now, ExpiresAt: now.Add(ttl)}).Error, "idempotency key")
}

// IdempotencyClaim is the domain's (use cases carry it without knowing the store).
type IdempotencyClaim = domain.IdempotencyClaim

// Outcomes of writing with a claim. Neither wrote anything.
var (
	// ErrIdempotencyAnswered: the key already has a record (look it up and answer from it).
	ErrIdempotencyAnswered = domain.ErrIdempotencyAnswered
	// ErrIdempotencyBusy: another request holds the key right now.
	ErrIdempotencyBusy = domain.ErrIdempotencyBusy
)

// GetIdempotency returns the key's record, or nil if it has none.
func (s *Store) GetIdempotency(ctx context.Context, orgID, key string) (*IdempotencyRecord, error) {
	var recs []IdempotencyRecord
	if err := s.q(ctx).Where("organization_id = ? AND idem_key = ?", orgID, key).Limit(1).Find(&recs).Error; err != nil {
		return nil, translate(err, "idempotency key")
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return &recs[0], nil
}

// insertClaim writes a claim's answer unless the key already has a record (SQLite path of
// CreateCheckoutAnswered; SQLite runs one writer at a time, so no request can hold the key).
func (s *Store) insertClaim(ctx context.Context, claim *IdempotencyClaim, now time.Time) error {
	res := s.q(ctx).Exec(`INSERT INTO idempotency_keys (organization_id, idem_key, request_hash, state, status_code, response_body, content_type, created_at, completed_at, expires_at)
		VALUES (?, ?, ?, 'completed', ?, ?, ?, ?, ?, ?) ON CONFLICT (organization_id, idem_key) DO NOTHING`,
		claim.OrganizationID, claim.Key, claim.Hash, claim.Status, string(claim.Body), claim.ContentType, now, now, now.Add(claim.TTL))
	if res.Error != nil {
		return translate(res.Error, "idempotency key")
	}
	if res.RowsAffected == 0 {
		return ErrIdempotencyAnswered
	}
	return nil
}
