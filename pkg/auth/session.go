package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"paygate.dev/pkg/domain"
)

// SessionClaims are a dashboard session's JWT claims.
type SessionClaims struct {
	// Org is the organisation the user works in (switchable by platform administrators).
	Org string `json:"org,omitempty"`
	// PwdAt is when the password was last set (µs); sessions issued before a change stop working.
	PwdAt int64 `json:"pwd,omitempty"`
	// Version is the user's session version when the session was issued; signing out moves the
	// user's on, ending every session issued before.
	Version int `json:"sv,omitempty"`
	jwt.RegisteredClaims
}

// Sessions issues and verifies short-lived HS256 session tokens.
type Sessions struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewSessions creates a session issuer.
func NewSessions(key []byte, ttl time.Duration) *Sessions {
	return &Sessions{key: key, ttl: ttl, now: time.Now}
}

// TTL is how long a session token lives.
func (s *Sessions) TTL() time.Duration { return s.ttl }

const issuer = "paygate-admin"

// Issue creates a token for a user working in org, at session version 0 (IssueFor takes the
// user's).
func (s *Sessions) Issue(userID, org string, pwdAt *time.Time) (string, time.Time, error) {
	return s.issue(userID, org, pwdAt, 0)
}

func (s *Sessions) issue(userID, org string, pwdAt *time.Time, version int) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	c := SessionClaims{Org: org, Version: version, RegisteredClaims: jwt.RegisteredClaims{
		Subject: userID, Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
	}}
	if pwdAt != nil {
		c.PwdAt = pwdAt.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	return tok, exp, err
}

// IssueFor creates a token for user u working in org, bound to u's password change and session
// version (see Current).
func (s *Sessions) IssueFor(u *domain.User, org string) (string, time.Time, error) {
	return s.issue(u.ID, org, u.PasswordChangedAt, u.SessionVersion)
}

// ErrBadSession is returned for a missing, forged or expired session token.
var ErrBadSession = errors.New("invalid or expired session")

// Verify checks a token's signature, algorithm, issuer and expiry.
func (s *Sessions) Verify(token string) (*SessionClaims, error) {
	var c SessionClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(issuer), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	if err != nil || c.Subject == "" {
		return nil, ErrBadSession
	}
	return &c, nil
}

// Why a verified session token is no longer valid for its user.
var (
	ErrSessionPasswordChanged = errors.New("session ended by a password change")
	ErrSessionSignedOut       = errors.New("session ended by signing out")
)

// Current checks a verified session against its user, as every place that accepts a session
// must (the Admin Panel's cookie, the Admin API's bearer token): it is refused when issued
// before the user's password was last set, or at a session version the user has left by
// signing out.
func Current(c *SessionClaims, u *domain.User) error {
	if u.PasswordChangedAt != nil && c.PwdAt < u.PasswordChangedAt.UnixMicro() {
		return ErrSessionPasswordChanged
	}
	if c.Version != u.SessionVersion {
		return ErrSessionSignedOut
	}
	return nil
}

// NeedsRenewal reports whether less than half of a session's life is left.
func (s *Sessions) NeedsRenewal(c *SessionClaims) bool {
	return c.ExpiresAt != nil && c.ExpiresAt.Sub(s.now()) < s.ttl/2
}
