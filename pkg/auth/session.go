package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SessionClaims are a dashboard session's JWT claims.
type SessionClaims struct {
	// Org is the organisation the user works in (switchable by platform administrators).
	Org string `json:"org,omitempty"`
	// PwdAt is when the password was last set (µs); sessions issued before a change stop working.
	PwdAt int64 `json:"pwd,omitempty"`
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

// Issue creates a token for a user working in org.
func (s *Sessions) Issue(userID, org string, pwdAt *time.Time) (string, time.Time, error) {
	now := s.now()
	exp := now.Add(s.ttl)
	c := SessionClaims{Org: org, RegisteredClaims: jwt.RegisteredClaims{
		Subject: userID, Issuer: issuer, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp), NotBefore: jwt.NewNumericDate(now.Add(-time.Minute)),
	}}
	if pwdAt != nil {
		c.PwdAt = pwdAt.UTC().Truncate(time.Microsecond).UnixMicro()
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	return tok, exp, err
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

// NeedsRenewal reports whether less than half of a session's life is left.
func (s *Sessions) NeedsRenewal(c *SessionClaims) bool {
	return c.ExpiresAt != nil && c.ExpiresAt.Sub(s.now()) < s.ttl/2
}
