package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// Sign-in lockout: after FreeAttempts failures, each further failure locks the account for a
// doubling period (1 min, 2 min, 4 min ... at most MaxLockout).
const (
	FreeAttempts = 5
	MaxLockout   = time.Hour
)

// LockoutFor is the lock after the n-th consecutive failure.
func LockoutFor(failures int) time.Duration {
	if failures < FreeAttempts {
		return 0
	}
	d := time.Minute << min(failures-FreeAttempts, 10)
	if d > MaxLockout {
		d = MaxLockout
	}
	return d
}

// SignIn checks an e-mail address and password. A wrong password and an unknown address give
// the same UNAUTHORIZED answer and take the same time; a locked account is told when to retry.
//
// The attempt is counted, and the lock checked, in one statement before the password is
// verified (store.ReserveLoginAttempt): however many attempts race, at most FreeAttempts wrong
// passwords are evaluated before the lock engages. A correct password resets the count.
func (s *Service) SignIn(ctx context.Context, email, password string) (*domain.User, error) {
	bad := &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized, Message: "wrong e-mail address or password"}
	u, err := s.store.GetUserByEmail(ctx, email)
	if domain.IsNotFound(err) {
		auth.BurnPasswordCheck(password)
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	att, err := s.store.ReserveLoginAttempt(ctx, u.ID, now, LockoutFor)
	if err != nil {
		return nil, err
	}
	if !att.Allowed {
		return nil, AccountLocked(now, att.LockedUntil)
	}
	if u.PasswordHash == "" || auth.CheckPassword(u.PasswordHash, password) != nil {
		return nil, bad
	}
	if err := s.store.RecordLoginSuccess(ctx, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// CodeAccountLocked is the error code of a sign-in refused because of the lockout.
const CodeAccountLocked = "ACCOUNT_LOCKED"

// AccountLocked is the RATE_LIMITED error of a locked account: it says when to retry, and
// carries the wait (RetryAfter) for the Retry-After header.
func AccountLocked(now time.Time, until *time.Time) error {
	wait := time.Second
	if until != nil && until.Sub(now) > wait {
		wait = until.Sub(now)
	}
	wait = wait.Round(time.Second)
	return &domain.Error{Kind: domain.KindRateLimited, Code: CodeAccountLocked, RetryAfter: wait,
		Message: fmt.Sprintf("too many failed sign-ins: try again in %s", wait)}
}

// SignOut ends every session of the signed-in user (all browsers and bearer tokens): their
// tokens stop being accepted at once, not when they expire.
func (s *Service) SignOut(ctx context.Context, actor domain.Actor) error {
	if actor.Type != domain.ActorUser {
		return domain.Forbidden(domain.CodeForbidden, "only dashboard sessions can sign out")
	}
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.EndSessions(ctx, actor.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "user.sign_out", "user", actor.ID, nil)
	})
}

// CreateUserInput creates a dashboard user directly (bootstrap and platform administrators).
type CreateUserInput struct {
	Email         string
	Name          string
	Password      string
	PlatformAdmin bool
}

// CreateUser creates a user with a password. Only the system and platform administrators may.
func (s *Service) CreateUser(ctx context.Context, actor domain.Actor, in CreateUserInput) (*domain.User, error) {
	if actor.Type != domain.ActorSystem && !actor.PlatformAdmin {
		return nil, domain.Forbidden(domain.CodeForbidden, "only platform administrators can create users directly")
	}
	if err := domain.ValidateEmail("email", in.Email); err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(in.Password)
	if err != nil {
		return nil, domain.Invalid("password", "%s", err.Error())
	}
	now := s.now().UTC()
	u := &domain.User{ID: domain.NewID(domain.PrefixUser), Email: in.Email, Name: in.Name, PasswordHash: hash, PlatformAdmin: in.PlatformAdmin, PasswordChangedAt: &now}
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "user.create", "user", u.ID, map[string]any{"email": u.Email, "platformAdmin": u.PlatformAdmin})
	})
	return u, err
}

// Invitation is the result of inviting someone: the link is also sent by the mailer.
type Invitation struct {
	User    domain.User
	Role    domain.Role
	Link    string // empty when the user already had an account
	Expires time.Time
	// Mailed says the link was handed to the mail server, or will be by its job (the server
	// was unreachable); false when mail is disabled or the server refused it (the invitation
	// stands: the inviter can pass the link on).
	Mailed bool
}

// InviteMember adds a person to the actor's organisation with a role. A new address gets an
// account without a password and a one-time link (valid 7 days) to choose one.
func (s *Service) InviteMember(ctx context.Context, actor domain.Actor, orgID, email string, role domain.Role) (*Invitation, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "user", "create"); err != nil {
		return nil, err
	}
	var bad domain.Invalids // every mistake at once, for the invite form
	if strings.TrimSpace(email) == "" {
		bad.Add("email", "email is required")
	} else {
		_ = bad.Collect(domain.ValidateEmail("email", email)) // only ever a field's error
	}
	if !role.Valid() {
		bad.Add("role", "role must be admin, editor or viewer")
	}
	if bad.Failed() {
		return nil, bad.Err()
	}
	inv := &Invitation{Role: role}
	var token string
	var job int64
	err := s.store.InTx(ctx, func(tx Store) error {
		token, job = "", 0
		u, err := tx.GetUserByEmail(ctx, email)
		if domain.IsNotFound(err) {
			u = &domain.User{ID: domain.NewID(domain.PrefixUser), Email: email}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			token = domain.RandomString(40)
			inv.Expires = s.now().Add(7 * 24 * time.Hour)
			if err := tx.CreatePasswordReset(ctx, u.ID, hashToken(token), inv.Expires); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if err := tx.AddMembership(ctx, &domain.Membership{OrganizationID: orgID, UserID: u.ID, Role: role}); err != nil {
			return err
		}
		inv.User = *u
		a := actor
		a.OrganizationID = orgID
		if err := tx.Audit(ctx, a, "user.invite", "user", u.ID, map[string]any{"email": u.Email, "role": role}); err != nil {
			return err
		}
		if token != "" {
			inv.Link = s.hosts.AdminURL() + "/reset-password?token=" + token
			if !s.mailDisabled() {
				var err error
				job, err = s.queueMail(ctx, tx, "invitation", invitationMail(inv))
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if job != 0 {
		inv.Mailed = s.send(ctx, "invitation", invitationMail(inv), job) == nil
	}
	return inv, nil
}

// ChangeMemberRole changes a member's role. The last administrator cannot be demoted.
func (s *Service) ChangeMemberRole(ctx context.Context, actor domain.Actor, orgID, userID string, role domain.Role) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "user", "update"); err != nil {
		return err
	}
	if !role.Valid() {
		return domain.Invalid("role", "role must be admin, editor or viewer")
	}
	return s.store.InTx(ctx, func(tx Store) error {
		m, err := tx.GetMembership(ctx, orgID, userID)
		if err != nil {
			return err
		}
		if m.Role == domain.RoleAdmin && role != domain.RoleAdmin {
			if n, err := tx.CountAdmins(ctx, orgID); err != nil {
				return err
			} else if n <= 1 {
				return domain.Conflict(domain.CodeInvalidState, "the organisation needs at least one administrator")
			}
		}
		if err := tx.SetMembershipRole(ctx, orgID, userID, role); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "user.role_change", "user", userID, map[string]any{"from": m.Role, "to": role})
	})
}

// RemoveMember takes a person out of the organisation. The last administrator cannot leave.
func (s *Service) RemoveMember(ctx context.Context, actor domain.Actor, orgID, userID string) error {
	if err := auth.InOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "user", "delete"); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx Store) error {
		m, err := tx.GetMembership(ctx, orgID, userID)
		if err != nil {
			return err
		}
		if m.Role == domain.RoleAdmin {
			if n, err := tx.CountAdmins(ctx, orgID); err != nil {
				return err
			} else if n <= 1 {
				return domain.Conflict(domain.CodeInvalidState, "the organisation needs at least one administrator")
			}
		}
		if err := tx.RemoveMembership(ctx, orgID, userID); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "user.remove", "user", userID, map[string]any{"role": m.Role})
	})
}

// ListMembers lists the organisation's members.
func (s *Service) ListMembers(ctx context.Context, actor domain.Actor, orgID string) ([]domain.Member, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "user", "read"); err != nil {
		return nil, err
	}
	return s.store.ListMembers(ctx, orgID)
}

// RequestPasswordReset sends a one-time link (valid one hour) to a user, if the address is known.
// It answers the same whether or not it is, so it cannot be used to find accounts. Without
// e-mail (MAIL_DISABLED) it answers ErrMailDisabled for every address.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if s.mailDisabled() {
		return ErrMailDisabled
	}
	u, err := s.store.GetUserByEmail(ctx, email)
	if domain.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	token := domain.RandomString(40)
	link := s.hosts.AdminURL() + "/reset-password?token=" + token
	var job int64
	err = s.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreatePasswordReset(ctx, u.ID, hashToken(token), s.now().Add(time.Hour)); err != nil {
			return err
		}
		job, err = s.queueMail(ctx, tx, "password_reset", resetMail(u.Email, link))
		return err
	})
	if err != nil {
		return err
	}
	if err := s.send(ctx, "password_reset", resetMail(u.Email, link), job); err != nil {
		return domain.Unavailable(CodeMailFailed, err, "the e-mail could not be sent: try again in a few minutes")
	}
	return nil
}

// ResetPassword consumes a one-time link and sets the new password (which also unlocks the account).
func (s *Service) ResetPassword(ctx context.Context, token, password string) (*domain.User, error) {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return nil, domain.Invalid("password", "%s", err.Error())
	}
	var u *domain.User
	err = s.store.InTx(ctx, func(tx Store) error {
		userID, err := tx.ConsumePasswordReset(ctx, hashToken(token))
		if err != nil {
			return domain.Unprocessable("INVALID_RESET_LINK", "the link is invalid, used or expired: ask for a new one")
		}
		if err := tx.SetPassword(ctx, userID, hash); err != nil {
			return err
		}
		u, err = tx.GetUser(ctx, userID)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, domain.Actor{Type: domain.ActorUser, ID: u.ID, Label: u.Email}, "user.password_reset", "user", u.ID, nil)
	})
	return u, err
}

// UserActor builds the actor of a signed-in user working in orgID; a user who is not a member
// (and not a platform administrator) gets FORBIDDEN.
func (s *Service) UserActor(ctx context.Context, u *domain.User, orgID string) (domain.Actor, error) {
	a := domain.Actor{Type: domain.ActorUser, ID: u.ID, Label: u.Email, OrganizationID: orgID, PlatformAdmin: u.PlatformAdmin}
	if orgID == "" {
		return a, nil
	}
	m, err := s.store.GetMembership(ctx, orgID, u.ID)
	switch {
	case err == nil:
		a.Role = m.Role
	case domain.IsNotFound(err) && u.PlatformAdmin:
		a.Role = domain.RoleAdmin
	case domain.IsNotFound(err):
		return domain.Actor{}, domain.Forbidden(domain.CodeForbidden, "you are not a member of this organisation")
	default:
		return domain.Actor{}, err
	}
	return a, nil
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}
