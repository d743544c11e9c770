package store

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// The Duda records are the domain's (package domain); these names keep the store's callers as they were.
type (
	DudaConnection    = domain.DudaConnection
	DudaSite          = domain.DudaSite
	DudaSession       = domain.DudaSession
	DudaRefund        = domain.DudaRefund
	DudaLifecycleCall = domain.DudaLifecycleCall
)

// States of a Duda site's gateway registration and of a refund notification, and who cancelled.
const (
	DudaGatewayRegistered  = domain.DudaGatewayRegistered
	DudaGatewayRetrying    = domain.DudaGatewayRetrying
	DudaGatewayFailed      = domain.DudaGatewayFailed
	DudaRefundReceived     = domain.DudaRefundReceived
	DudaRefundRecorded     = domain.DudaRefundRecorded
	DudaRefundRejected     = domain.DudaRefundRejected
	DudaCancelledByShopper = domain.DudaCancelledByShopper
)

// ---------------------------------------------------------------------------------------------
// Connections.

// CreateDudaConnection inserts a connection; its credentials must already be sealed.
func (s *Store) CreateDudaConnection(ctx context.Context, c *DudaConnection) error {
	now := Now()
	c.CreatedAt, c.UpdatedAt = now, now
	return translate(s.q(ctx).Create(c).Error, "Duda connection")
}

// GetDudaConnection returns NOT_FOUND for an unknown connection or another organisation's.
func (s *Store) GetDudaConnection(ctx context.Context, orgID, id string) (*DudaConnection, error) {
	var c DudaConnection
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&c).Error; err != nil {
		return nil, translate(err, "Duda connection")
	}
	return named(ctx, &c), nil
}

// GetDudaConnectionByID looks a connection up by id alone: Duda's calls name only the connection.
func (s *Store) GetDudaConnectionByID(ctx context.Context, id string) (*DudaConnection, error) {
	var c DudaConnection
	if err := s.q(ctx).Where("id = ?", id).Take(&c).Error; err != nil {
		return nil, translate(err, "Duda connection")
	}
	return named(ctx, &c), nil
}

// ListDudaConnections lists an organisation's connections, oldest first.
func (s *Store) ListDudaConnections(ctx context.Context, orgID string) ([]DudaConnection, error) {
	var out []DudaConnection
	return out, translate(s.q(ctx).Where("organization_id = ?", orgID).Order("id").Find(&out).Error, "Duda connections")
}

// UpdateDudaConnection saves a connection's site, app identity, (sealed) credentials and enabled flag.
func (s *Store) UpdateDudaConnection(ctx context.Context, c *DudaConnection) error {
	c.UpdatedAt = Now()
	res := s.q(ctx).Model(&DudaConnection{}).Where("id = ? AND organization_id = ?", c.ID, c.OrganizationID).
		Select("site_id", "app_uuid", "app_user", "credentials", "enabled", "updated_at").Updates(c)
	if res.Error != nil {
		return translate(res.Error, "Duda connection")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("Duda connection")
	}
	return nil
}

// DeleteDudaConnection removes a connection that is installed on no Duda site and never made a
// checkout (CONFLICT otherwise: uninstall the app, or disable the connection).
func (s *Store) DeleteDudaConnection(ctx context.Context, orgID, id string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if _, err := tx.GetDudaConnection(ctx, orgID, id); err != nil {
			return err
		}
		var installed, sessions int64
		if err := tx.db.Model(&DudaSite{}).Where("connection_id = ? AND installed_at IS NOT NULL AND uninstalled_at IS NULL", id).Count(&installed).Error; err != nil {
			return translate(err, "Duda sites")
		}
		if installed > 0 {
			return domain.Conflict(domain.CodeInvalidState, "the app is still installed on %d Duda site(s); uninstall it there first, or disable the connection", installed)
		}
		if err := tx.db.Model(&DudaSession{}).Where("connection_id = ?", id).Count(&sessions).Error; err != nil {
			return translate(err, "Duda sessions")
		}
		if sessions > 0 {
			return domain.Conflict(domain.CodeInvalidState, "the connection has %d checkout(s) from Duda; disable it instead of deleting it", sessions)
		}
		res := tx.db.Where("id = ? AND organization_id = ?", id, orgID).Delete(&DudaConnection{})
		if res.Error != nil {
			return translate(res.Error, "Duda connection")
		}
		return nil
	})
}

// ---------------------------------------------------------------------------------------------
// Sites.

// UpsertDudaSite records an install: a new row for a site never seen on this connection, else
// the same row with the new endpoint, tokens and install data, installed again (its gateway id
// is kept, so a reinstall can reuse the gateway). site is reloaded with what is stored.
func (s *Store) UpsertDudaSite(ctx context.Context, site *DudaSite) error {
	now := Now()
	if site.ID == "" {
		site.ID = domain.NewID(domain.PrefixDudaSite)
	}
	if site.InstallData == "" {
		site.InstallData = "{}"
	}
	site.TokenExpiresAt = utcPtr(site.TokenExpiresAt)
	site.InstalledAt, site.UninstalledAt = &now, nil
	site.CreatedAt, site.UpdatedAt = now, now
	err := s.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "connection_id"}, {Name: "site_name"}},
		DoUpdates: clause.AssignmentColumns([]string{"api_endpoint", "tokens", "token_expires_at", "install_data", "installed_at", "uninstalled_at", "updated_at"}),
	}).Create(site).Error
	if err != nil {
		return translate(err, "Duda site")
	}
	stored, err := s.GetDudaSite(ctx, site.ConnectionID, site.SiteName)
	if err != nil {
		return err
	}
	*site = *stored
	return nil
}

// GetDudaSite returns a connection's site by Duda site name (installed or not); NOT_FOUND when
// the app was never installed there.
func (s *Store) GetDudaSite(ctx context.Context, connectionID, siteName string) (*DudaSite, error) {
	var out DudaSite
	if err := s.q(ctx).Where("connection_id = ? AND site_name = ?", connectionID, siteName).Take(&out).Error; err != nil {
		return nil, translate(err, "Duda site")
	}
	return &out, nil
}

// GetDudaSiteByID returns a site by id (workers).
func (s *Store) GetDudaSiteByID(ctx context.Context, id string) (*DudaSite, error) {
	var out DudaSite
	if err := s.q(ctx).Where("id = ?", id).Take(&out).Error; err != nil {
		return nil, translate(err, "Duda site")
	}
	return &out, nil
}

// ListDudaSites lists the sites of a connection, oldest first.
func (s *Store) ListDudaSites(ctx context.Context, orgID, connectionID string) ([]DudaSite, error) {
	var out []DudaSite
	err := s.q(ctx).Where("organization_id = ? AND connection_id = ?", orgID, connectionID).Order("created_at, id").Find(&out).Error
	return out, translate(err, "Duda sites")
}

// SetDudaSiteTokens stores a site's refreshed (sealed) tokens, while it is installed.
func (s *Store) SetDudaSiteTokens(ctx context.Context, id, sealed string, expiresAt *time.Time) error {
	res := s.q(ctx).Model(&DudaSite{}).Where("id = ? AND uninstalled_at IS NULL", id).
		Updates(map[string]any{"tokens": sealed, "token_expires_at": utcPtr(expiresAt), "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "Duda site")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeInvalidState, "the app is not installed on this Duda site")
	}
	return nil
}

// SetDudaSiteGateway stores the id of the payment gateway registered on an installed site (which
// makes its registration state registered).
func (s *Store) SetDudaSiteGateway(ctx context.Context, id, gatewayID string) error {
	res := s.q(ctx).Model(&DudaSite{}).Where("id = ? AND uninstalled_at IS NULL", id).
		Updates(map[string]any{"gateway_id": gatewayID, "gateway_state": DudaGatewayRegistered, "gateway_error": "", "gateway_next_attempt_at": nil, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "Duda site")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeInvalidState, "the app is not installed on this Duda site")
	}
	return nil
}

// SetDudaSiteGatewayState records where registering the gateway of an installed site stands:
// the state, Duda's last refusal (empty once registered), the attempts so far and the next
// one (nil unless retrying).
func (s *Store) SetDudaSiteGatewayState(ctx context.Context, id, state, errText string, attempts int, next *time.Time) error {
	res := s.q(ctx).Model(&DudaSite{}).Where("id = ? AND uninstalled_at IS NULL", id).Updates(map[string]any{
		"gateway_state": state, "gateway_error": errText, "gateway_attempts": attempts, "gateway_next_attempt_at": utcPtr(next), "updated_at": Now(),
	})
	if res.Error != nil {
		return translate(res.Error, "Duda site")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeInvalidState, "the app is not installed on this Duda site")
	}
	return nil
}

// MarkDudaSiteUninstalled records an uninstall: the tokens, the gateway id and its
// registration state are wiped.
func (s *Store) MarkDudaSiteUninstalled(ctx context.Context, id string) error {
	now := Now()
	return translate(s.q(ctx).Model(&DudaSite{}).Where("id = ?", id).Updates(map[string]any{
		"tokens": "", "token_expires_at": nil, "gateway_id": "", "uninstalled_at": now, "updated_at": now,
		"gateway_state": "", "gateway_error": "", "gateway_attempts": 0, "gateway_next_attempt_at": nil,
	}).Error, "Duda site")
}

// ---------------------------------------------------------------------------------------------
// Lifecycle calls.

// RememberDudaLifecycleCall records a signed lifecycle call as processed: false when it already
// was (a replay). Calls remembered before forgetBefore are dropped first (their signatures are
// stale by then, so a replay of them is refused anyway).
func (s *Store) RememberDudaLifecycleCall(ctx context.Context, c *DudaLifecycleCall, forgetBefore time.Time) (bool, error) {
	if err := s.q(ctx).Where("created_at < ?", UTC(forgetBefore)).Delete(&DudaLifecycleCall{}).Error; err != nil {
		return false, translate(err, "Duda lifecycle calls")
	}
	c.CreatedAt = Now()
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "connection_id"}, {Name: "digest"}}, DoNothing: true}).Create(c)
	if res.Error != nil {
		return false, translate(res.Error, "Duda lifecycle call")
	}
	return res.RowsAffected == 1, nil
}

// ForgetDudaLifecycleCall drops a remembered call whose processing failed, so that it may be
// delivered again.
func (s *Store) ForgetDudaLifecycleCall(ctx context.Context, connectionID, digest string) error {
	return translate(s.q(ctx).Where("connection_id = ? AND digest = ?", connectionID, digest).Delete(&DudaLifecycleCall{}).Error, "Duda lifecycle call")
}

// ---------------------------------------------------------------------------------------------
// Sessions.

// CreateDudaSession links a Duda payment session to its checkout. A second checkout for the
// same session is a conflict on duda_sessions_session_key.
func (s *Store) CreateDudaSession(ctx context.Context, d *DudaSession) error {
	now := Now()
	d.CreatedAt, d.UpdatedAt = now, now
	return translate(s.q(ctx).Create(d).Error, "Duda session")
}

// GetDudaSession returns the Duda session of a checkout; NOT_FOUND when the checkout did not
// come from Duda.
func (s *Store) GetDudaSession(ctx context.Context, checkoutID string) (*DudaSession, error) {
	var d DudaSession
	if err := s.q(ctx).Where("checkout_id = ?", checkoutID).Take(&d).Error; err != nil {
		return nil, translate(err, "Duda session")
	}
	return &d, nil
}

// GetDudaSessionBySessionID finds the checkout made for a connection's Duda payment session.
func (s *Store) GetDudaSessionBySessionID(ctx context.Context, connectionID, sessionID string) (*DudaSession, error) {
	var d DudaSession
	if err := s.q(ctx).Where("connection_id = ? AND session_id = ?", connectionID, sessionID).Take(&d).Error; err != nil {
		return nil, translate(err, "Duda session")
	}
	return &d, nil
}

// ListDudaSessionsNotProcessed lists the sessions of a Duda site made before createdBefore and
// not yet confirmed PROCESSED (by checkout id, at most limit, after the checkout id after):
// those whose outcome may still be owed to Duda.
func (s *Store) ListDudaSessionsNotProcessed(ctx context.Context, dudaSiteID string, createdBefore time.Time, after string, limit int) ([]DudaSession, error) {
	var out []DudaSession
	err := s.q(ctx).Where("duda_site_id = ? AND created_at < ? AND confirmed_state <> ? AND checkout_id > ?", dudaSiteID, UTC(createdBefore), "PROCESSED", after).
		Order("checkout_id").Limit(limit).Find(&out).Error
	return out, translate(err, "Duda sessions")
}

// WithDudaSessionLocked runs fn with a checkout's Duda session locked against every other
// caller of WithDudaSessionLocked for it, so that confirmations of one session never overlap.
// On PostgreSQL fn runs in a database transaction that holds the session's row (FOR UPDATE) and
// gets that transaction; on SQLite (one process) it runs under a lock in memory and gets s.
func (s *Store) WithDudaSessionLocked(ctx context.Context, checkoutID string, fn func(tx *Store, sess *DudaSession) error) error {
	if s.dialect == Postgres {
		return s.InTx(ctx, func(tx *Store) error {
			var d DudaSession
			if err := tx.q(ctx).Where("checkout_id = ?", checkoutID).Clauses(forUpdate()).Take(&d).Error; err != nil {
				return translate(err, "Duda session")
			}
			return fn(tx, &d)
		})
	}
	unlock, err := dudaSessionLocks.lock(ctx, s.dsn+"\x00"+checkoutID)
	if err != nil {
		return err
	}
	defer unlock()
	sess, err := s.GetDudaSession(ctx, checkoutID)
	if err != nil {
		return err
	}
	return fn(s, sess)
}

// dudaSessionLocks serialise the confirmations of a session on SQLite, by database and checkout.
var dudaSessionLocks keyedLocks

// keyedLocks serialises work per key inside this process.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch      chan struct{}
	waiters int
}

// lock takes the key's lock, or gives up when ctx ends.
func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.waiters++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		if l.waiters--; l.waiters == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// CancelDudaCheckoutByShopper ends an open Duda checkout as cancelled by the shopper on the
// payment page, in one transaction with the session's note of who cancelled.
func (s *Store) CancelDudaCheckoutByShopper(ctx context.Context, orgID, checkoutID string) error {
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.SetDudaSessionCancelledBy(ctx, checkoutID, DudaCancelledByShopper); err != nil {
			return err
		}
		_, err := tx.EndCheckout(ctx, orgID, checkoutID, domain.CheckoutCancelled)
		return err
	})
}

// SetDudaSessionCancelledBy records who cancelled a Duda checkout.
func (s *Store) SetDudaSessionCancelledBy(ctx context.Context, checkoutID, by string) error {
	res := s.q(ctx).Model(&DudaSession{}).Where("checkout_id = ?", checkoutID).Updates(map[string]any{"cancelled_by": by, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "Duda session")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("Duda session")
	}
	return nil
}

// SetDudaSessionConfirmed records what was confirmed to Duda and the return URL it answered
// (an empty returnURL keeps the one stored).
func (s *Store) SetDudaSessionConfirmed(ctx context.Context, checkoutID, state string, transactionID *string, returnURL string) error {
	set := map[string]any{"confirmed_state": state, "confirmed_transaction_id": transactionID, "updated_at": Now()}
	if returnURL != "" {
		set["return_url"] = returnURL
	}
	res := s.q(ctx).Model(&DudaSession{}).Where("checkout_id = ?", checkoutID).Updates(set)
	if res.Error != nil {
		return translate(res.Error, "Duda session")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("Duda session")
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Refund notifications.

// InsertDudaRefund keeps a refund notification (status received) unless one with the same key
// exists: then r is overwritten with the stored one and created is false.
func (s *Store) InsertDudaRefund(ctx context.Context, r *DudaRefund) (created bool, err error) {
	now := Now()
	r.CreatedAt, r.UpdatedAt = now, now
	if r.Status == "" {
		r.Status = DudaRefundReceived
	}
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "connection_id"}, {Name: "refund_key"}}, DoNothing: true}).Create(r)
	if res.Error != nil {
		return false, translate(res.Error, "Duda refund")
	}
	if res.RowsAffected == 1 {
		return true, nil
	}
	stored, err := s.GetDudaRefund(ctx, r.ConnectionID, r.RefundKey)
	if err != nil {
		return false, err
	}
	*r = *stored
	return false, nil
}

// GetDudaRefund returns one refund notification by its key.
func (s *Store) GetDudaRefund(ctx context.Context, connectionID, key string) (*DudaRefund, error) {
	var r DudaRefund
	if err := s.q(ctx).Where("connection_id = ? AND refund_key = ?", connectionID, key).Take(&r).Error; err != nil {
		return nil, translate(err, "Duda refund")
	}
	return &r, nil
}

// ClaimDudaRefund takes over a notification still received whose last handling began before
// staleBefore (a crashed or failed attempt): it reports whether this caller now handles it.
// updated_at serves as the claim, so two deliveries of one refund are never applied at once.
func (s *Store) ClaimDudaRefund(ctx context.Context, connectionID, key string, staleBefore time.Time) (bool, error) {
	res := s.q(ctx).Model(&DudaRefund{}).
		Where("connection_id = ? AND refund_key = ? AND status = ? AND updated_at < ?", connectionID, key, DudaRefundReceived, UTC(staleBefore)).
		Update("updated_at", Now())
	return res.RowsAffected == 1, translate(res.Error, "Duda refund")
}

// ReleaseDudaRefund gives up the claim on a notification left received after a failure that
// may pass (the next delivery handles it at once).
func (s *Store) ReleaseDudaRefund(ctx context.Context, connectionID, key, errText string) error {
	return translate(s.q(ctx).Model(&DudaRefund{}).
		Where("connection_id = ? AND refund_key = ? AND status = ?", connectionID, key, DudaRefundReceived).
		Updates(map[string]any{"error": errText, "updated_at": time.Unix(0, 0).UTC()}).Error, "Duda refund")
}

// FinishDudaRefund moves a received notification to recorded (with its refund) or rejected.
func (s *Store) FinishDudaRefund(ctx context.Context, connectionID, key, status string, refundID *string, errText string) error {
	res := s.q(ctx).Model(&DudaRefund{}).
		Where("connection_id = ? AND refund_key = ? AND status = ?", connectionID, key, DudaRefundReceived).
		Updates(map[string]any{"status": status, "refund_id": refundID, "error": errText, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "Duda refund")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeInvalidState, "the Duda refund was already handled")
	}
	return nil
}
