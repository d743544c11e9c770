package store

import (
	"context"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
)

// CreateOrganization inserts an organisation. Its DataKey must already be set (wrapped).
func (s *Store) CreateOrganization(ctx context.Context, o *domain.Organization) error {
	now := Now()
	o.CreatedAt, o.UpdatedAt = now, now
	return translate(s.q(ctx).Create(o).Error, "organization")
}

// GetOrganization returns NOT_FOUND for an unknown id.
func (s *Store) GetOrganization(ctx context.Context, id string) (*domain.Organization, error) {
	var o domain.Organization
	if err := s.q(ctx).Where("id = ?", id).Take(&o).Error; err != nil {
		return nil, translate(err, "organization")
	}
	return &o, nil
}

// ListOrganizations lists every organisation by name (platform administrators only).
func (s *Store) ListOrganizations(ctx context.Context) ([]domain.Organization, error) {
	var out []domain.Organization
	return out, translate(s.q(ctx).Order("name, id").Limit(1000).Find(&out).Error, "organizations")
}

// CountOrganizations returns how many organisations exist.
func (s *Store) CountOrganizations(ctx context.Context) (int64, error) {
	var n int64
	return n, translate(s.q(ctx).Model(&domain.Organization{}).Count(&n).Error, "organizations")
}

// UpdateOrganization saves the editable fields of an organisation.
func (s *Store) UpdateOrganization(ctx context.Context, o *domain.Organization) error {
	o.UpdatedAt = Now()
	res := s.q(ctx).Model(&domain.Organization{}).Where("id = ?", o.ID).Updates(map[string]any{
		"name": o.Name, "support_email": o.SupportEmail, "seller_country": o.SellerCountry,
		"prices_include_tax": o.PricesIncludeTax, "oss_registered": o.OSSRegistered,
		"block_checkouts_on_dispute": o.BlockCheckoutsOnDispute, "updated_at": o.UpdatedAt,
	})
	if res.Error != nil {
		return translate(res.Error, "organization")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("organization")
	}
	return nil
}

// CreateUser inserts a user; a duplicate e-mail address is a CONFLICT.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	now := Now()
	u.Email = domain.NormalizeEmail(u.Email)
	u.CreatedAt, u.UpdatedAt = now, now
	return translate(s.q(ctx).Create(u).Error, "user")
}

// GetUser returns NOT_FOUND for an unknown id.
func (s *Store) GetUser(ctx context.Context, id string) (*domain.User, error) {
	var u domain.User
	if err := s.q(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, translate(err, "user")
	}
	return &u, nil
}

// GetUserByEmail looks a user up by (normalised) e-mail address.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (*domain.User, error) {
	var u domain.User
	if err := s.q(ctx).Where("email = ?", domain.NormalizeEmail(email)).Take(&u).Error; err != nil {
		return nil, translate(err, "user")
	}
	return &u, nil
}

// SetPassword replaces a user's password hash and clears any lockout. Sessions issued before
// now stop being valid.
func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	now := Now()
	res := s.q(ctx).Model(&domain.User{}).Where("id = ?", userID).Updates(map[string]any{
		"password_hash": hash, "password_changed_at": now, "failed_logins": 0, "locked_until": nil, "updated_at": now,
	})
	if res.Error != nil {
		return translate(res.Error, "user")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("user")
	}
	return nil
}

// EndSessions ends every session of a user (signing out everywhere) by moving the user's
// session version on; sessions carrying an older version are refused.
func (s *Store) EndSessions(ctx context.Context, userID string) error {
	res := s.q(ctx).Exec(`UPDATE users SET session_version = session_version + 1, updated_at = ? WHERE id = ?`, Now(), userID)
	if res.Error != nil {
		return translate(res.Error, "user")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("user")
	}
	return nil
}

// UpdateUserName changes a user's display name.
func (s *Store) UpdateUserName(ctx context.Context, userID, name string) error {
	return translate(s.q(ctx).Model(&domain.User{}).Where("id = ?", userID).Updates(map[string]any{"name": name, "updated_at": Now()}).Error, "user")
}

// LoginAttempt is the domain's (the tenancy use cases speak it).
type LoginAttempt = domain.LoginAttempt

// lockHorizon is how many consecutive failures ReserveLoginAttempt spells out of the lock
// schedule; beyond it the schedule's value at lockHorizon+1 applies.
const lockHorizon = 64

// ReserveLoginAttempt counts a sign-in attempt as failed before its password is checked, and
// checks the lock, in one statement: it adds one to the failure count and engages the lock
// lockFor(count) says, unless the account is locked at now. However many attempts race, each is
// counted once and every one after the count reached the schedule's first lock finds the account
// locked, so at most that many passwords are ever checked. A correct password then calls
// RecordLoginSuccess, which resets the count.
func (s *Store) ReserveLoginAttempt(ctx context.Context, userID string, now time.Time, lockFor func(failures int) time.Duration) (LoginAttempt, error) {
	now = UTC(now)
	// The lock for the new count, as one CASE: consecutive counts with the same lock share a branch.
	param := "?"
	if s.dialect == Postgres {
		param = "CAST(? AS TIMESTAMP)" // a CASE of bare parameters would be text on PostgreSQL
	}
	lockAt := func(n int) any {
		if d := lockFor(n); d > 0 {
			return UTC(now.Add(d))
		}
		return nil
	}
	var sql strings.Builder
	var args []any
	sql.WriteString(`UPDATE users SET failed_logins = failed_logins + 1, updated_at = ?, locked_until = CASE`)
	args = append(args, Now())
	for n := 1; n <= lockHorizon; n++ {
		if n < lockHorizon && lockFor(n+1) == lockFor(n) {
			continue // the same lock as the next count: one branch covers both
		}
		if lockFor(n) > 0 {
			sql.WriteString(" WHEN failed_logins + 1 <= ? THEN " + param)
			args = append(args, n, lockAt(n))
		} else {
			sql.WriteString(" WHEN failed_logins + 1 <= ? THEN NULL")
			args = append(args, n)
		}
	}
	if d := lockFor(lockHorizon + 1); d > 0 {
		sql.WriteString(" ELSE " + param + " END")
		args = append(args, lockAt(lockHorizon+1))
	} else {
		sql.WriteString(" ELSE NULL END")
	}
	sql.WriteString(` WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?) RETURNING failed_logins, locked_until`)
	args = append(args, userID, now)

	var rows []struct {
		FailedLogins int
		LockedUntil  *time.Time
	}
	if err := s.q(ctx).Raw(sql.String(), args...).Scan(&rows).Error; err != nil {
		return LoginAttempt{}, translate(err, "user")
	}
	if len(rows) == 1 {
		return LoginAttempt{Allowed: true, Failures: rows[0].FailedLogins, LockedUntil: utcPtr(rows[0].LockedUntil)}, nil
	}
	// Locked (or no such user): say until when.
	u, err := s.GetUser(ctx, userID)
	if err != nil {
		return LoginAttempt{}, err
	}
	return LoginAttempt{Failures: u.FailedLogins, LockedUntil: utcPtr(u.LockedUntil)}, nil
}

// RecordLoginSuccess resets the failure count and notes the sign-in time.
func (s *Store) RecordLoginSuccess(ctx context.Context, userID string) error {
	now := Now()
	return translate(s.q(ctx).Model(&domain.User{}).Where("id = ?", userID).Updates(map[string]any{
		"failed_logins": 0, "locked_until": nil, "last_login_at": now, "updated_at": now,
	}).Error, "user")
}

// AddMembership puts a user into an organisation; an existing membership is a CONFLICT.
func (s *Store) AddMembership(ctx context.Context, m *domain.Membership) error {
	now := Now()
	m.CreatedAt, m.UpdatedAt = now, now
	return translate(s.q(ctx).Create(m).Error, "membership")
}

// GetMembership returns NOT_FOUND when the user is not a member of the organisation.
func (s *Store) GetMembership(ctx context.Context, orgID, userID string) (*domain.Membership, error) {
	var m domain.Membership
	if err := s.q(ctx).Where("organization_id = ? AND user_id = ?", orgID, userID).Take(&m).Error; err != nil {
		return nil, translate(err, "membership")
	}
	return &m, nil
}

// SetMembershipRole changes a member's role.
func (s *Store) SetMembershipRole(ctx context.Context, orgID, userID string, role domain.Role) error {
	res := s.q(ctx).Model(&domain.Membership{}).Where("organization_id = ? AND user_id = ?", orgID, userID).
		Updates(map[string]any{"role": role, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "membership")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("membership")
	}
	return nil
}

// RemoveMembership takes a user out of an organisation.
func (s *Store) RemoveMembership(ctx context.Context, orgID, userID string) error {
	res := s.q(ctx).Where("organization_id = ? AND user_id = ?", orgID, userID).Delete(&domain.Membership{})
	if res.Error != nil {
		return translate(res.Error, "membership")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("membership")
	}
	return nil
}

// CountAdmins counts an organisation's administrators (the last one cannot leave).
func (s *Store) CountAdmins(ctx context.Context, orgID string) (int64, error) {
	var n int64
	err := s.q(ctx).Model(&domain.Membership{}).Where("organization_id = ? AND role = ?", orgID, domain.RoleAdmin).Count(&n).Error
	return n, translate(err, "membership")
}

// Member is the domain's (the use cases and the HTTP layer speak it).
type Member = domain.Member

// ListMembers lists an organisation's members by e-mail address.
func (s *Store) ListMembers(ctx context.Context, orgID string) ([]Member, error) {
	var ms []domain.Membership
	if err := s.q(ctx).Where("organization_id = ?", orgID).Find(&ms).Error; err != nil {
		return nil, translate(err, "members")
	}
	if len(ms) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ms))
	roles := map[string]domain.Role{}
	for i, m := range ms {
		ids[i] = m.UserID
		roles[m.UserID] = m.Role
	}
	var users []domain.User
	if err := s.q(ctx).Where("id IN ?", ids).Order("email").Find(&users).Error; err != nil {
		return nil, translate(err, "members")
	}
	out := make([]Member, len(users))
	for i, u := range users {
		out[i] = Member{User: u, Role: roles[u.ID]}
	}
	return out, nil
}

// UserOrganization is the domain's (the use cases and the HTTP layer speak it).
type UserOrganization = domain.UserOrganization

// ListUserOrganizations lists the organisations a user is a member of, by name.
func (s *Store) ListUserOrganizations(ctx context.Context, userID string) ([]UserOrganization, error) {
	var ms []domain.Membership
	if err := s.q(ctx).Where("user_id = ?", userID).Find(&ms).Error; err != nil {
		return nil, translate(err, "organizations")
	}
	if len(ms) == 0 {
		return nil, nil
	}
	ids := make([]string, len(ms))
	roles := map[string]domain.Role{}
	for i, m := range ms {
		ids[i] = m.OrganizationID
		roles[m.OrganizationID] = m.Role
	}
	var orgs []domain.Organization
	if err := s.q(ctx).Where("id IN ?", ids).Order("name, id").Find(&orgs).Error; err != nil {
		return nil, translate(err, "organizations")
	}
	out := make([]UserOrganization, len(orgs))
	for i, o := range orgs {
		out[i] = UserOrganization{Organization: o, Role: roles[o.ID]}
	}
	return out, nil
}

// CreatePasswordReset stores the hash of a one-time reset token.
func (s *Store) CreatePasswordReset(ctx context.Context, userID, tokenHash string, expiresAt time.Time) error {
	return translate(s.q(ctx).Exec(`INSERT INTO password_resets (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)`,
		tokenHash, userID, UTC(expiresAt), Now()).Error, "password reset")
}

// ConsumePasswordReset marks a reset token used and returns its user. An unknown, used or
// expired token is NOT_FOUND; a token can be consumed once even under concurrent use.
func (s *Store) ConsumePasswordReset(ctx context.Context, tokenHash string) (string, error) {
	var userID string
	err := s.InTx(ctx, func(tx *Store) error {
		now := Now()
		res := tx.db.Exec(`UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, now, tokenHash, now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return domain.NotFound("reset link")
		}
		return tx.db.Raw(`SELECT user_id FROM password_resets WHERE token_hash = ?`, tokenHash).Scan(&userID).Error
	})
	return userID, translate(err, "reset link")
}

// LockForSetup serialises one-time setup (the demo seed) between processes starting at once:
// inside InTx, it waits until no other transaction holds the lock called name, and holds it
// until this transaction ends. On PostgreSQL it is a transaction-level advisory lock; on SQLite
// the transaction already holds the database's write lock, which serialises it with every
// other writer.
func (s *Store) LockForSetup(ctx context.Context, name string) error {
	if !s.inTx {
		return domain.Internal(nil, "LockForSetup outside a transaction")
	}
	if s.dialect != Postgres {
		return nil
	}
	return translate(s.q(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended(?, 72707369))`, "setup:"+name).Error, "setup lock")
}
