package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// IdempotencyKeys is the store behind the idempotency layer's port (idempotency.Store): the
// same records as the methods of Store, as domain values. Bind it to a transaction by building
// it on the transaction's Store.
type IdempotencyKeys struct{ S *Store }

func (r *IdempotencyRecord) domain() *domain.IdempotencyRecord {
	if r == nil {
		return nil
	}
	d := &domain.IdempotencyRecord{OrganizationID: r.OrganizationID, Key: r.IdemKey, RequestHash: r.RequestHash,
		Completed: r.State == "completed", Body: r.ResponseBody, ContentType: r.ContentType, LockedUntil: r.LockedUntil, ExpiresAt: r.ExpiresAt}
	if r.StatusCode != nil {
		d.StatusCode = *r.StatusCode
	}
	return d
}

// Lookup returns the key's record, or nil.
func (k IdempotencyKeys) Lookup(ctx context.Context, orgID, key string) (*domain.IdempotencyRecord, error) {
	rec, err := k.S.GetIdempotency(ctx, orgID, key)
	return rec.domain(), err
}

// Claim takes the key for a request in a commit of its own (BeginIdempotency): claimed, or
// the record that stands in the way.
func (k IdempotencyKeys) Claim(ctx context.Context, orgID, key, hash string, lease, ttl time.Duration) (bool, *domain.IdempotencyRecord, error) {
	outcome, rec, err := k.S.BeginIdempotency(ctx, orgID, key, hash, lease, ttl)
	if err != nil || outcome == IdemStarted {
		return err == nil, nil, err
	}
	return false, rec.domain(), nil
}

// Renew extends the lease of a claim still held for the request with this hash: false when
// the claim is gone (completed, released or taken over).
func (k IdempotencyKeys) Renew(ctx context.Context, orgID, key, hash string, lease time.Duration) (bool, error) {
	res := k.S.q(ctx).Model(&IdempotencyRecord{}).
		Where("organization_id = ? AND idem_key = ? AND request_hash = ? AND state = 'in_flight'", orgID, key, hash).
		Update("locked_until", Now().Add(lease))
	return res.RowsAffected == 1, translate(res.Error, "idempotency key")
}

// Complete stores the answer of a claimed key.
func (k IdempotencyKeys) Complete(ctx context.Context, orgID, key string, status int, body []byte, contentType string) error {
	return k.S.CompleteIdempotency(ctx, orgID, key, status, body, contentType)
}

// Release forgets a claim.
func (k IdempotencyKeys) Release(ctx context.Context, orgID, key string) error {
	return k.S.ReleaseIdempotency(ctx, orgID, key)
}

// Lock takes the key for the current transaction (LockIdempotency).
func (k IdempotencyKeys) Lock(ctx context.Context, orgID, key string) (bool, *domain.IdempotencyRecord, error) {
	ok, rec, err := k.S.LockIdempotency(ctx, orgID, key)
	return ok, rec.domain(), err
}

// DeleteStale removes the key's record if it is expired or a dead claim.
func (k IdempotencyKeys) DeleteStale(ctx context.Context, orgID, key string) error {
	return k.S.DeleteStaleIdempotency(ctx, orgID, key)
}

// Save stores a finished request's answer under a key it holds (Lock) or that has no record.
func (k IdempotencyKeys) Save(ctx context.Context, orgID, key, hash string, status int, body []byte, contentType string, ttl time.Duration) error {
	return k.S.SaveIdempotency(ctx, orgID, key, hash, status, body, contentType, ttl)
}
