package auth

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
)

var tokenRE = regexp.MustCompile(`^sk_(test|live)_(key_[0-9a-z]{26})\.([0-9A-Za-z]{40,64})$`)

// FormatToken writes an API key as merchants paste it: sk_<mode>_<keyId>.<secret>.
func FormatToken(mode domain.Mode, keyID, secret string) string {
	return "sk_" + string(mode) + "_" + keyID + "." + secret
}

// ParseToken splits a token into mode, key id and secret; ok is false for anything malformed.
func ParseToken(token string) (mode domain.Mode, keyID, secret string, ok bool) {
	m := tokenRE.FindStringSubmatch(token)
	if m == nil {
		return "", "", "", false
	}
	return domain.Mode(m[1]), m[2], m[3], true
}

// NewSecret returns a fresh API key secret (48 base62 characters, ~285 bits).
func NewSecret() string { return domain.RandomString(48) }

// KeyAuthenticator checks API keys. Looked-up keys are cached briefly, and "last used" times
// are collected in memory and written in batches by Flush, so authenticating a request never
// writes to the database.
type KeyAuthenticator struct {
	store *store.Store
	keys  *secrets.Keyring
	ttl   time.Duration
	now   func() time.Time
	log   *slog.Logger

	mu       sync.Mutex
	cache    map[string]cachedKey
	lastUsed map[string]time.Time
}

type cachedKey struct {
	key     domain.APIKey
	fetched time.Time
}

// NewKeyAuthenticator caches keys for ttl (0 disables the cache).
func NewKeyAuthenticator(s *store.Store, keys *secrets.Keyring, ttl time.Duration, log *slog.Logger) *KeyAuthenticator {
	return &KeyAuthenticator{store: s, keys: keys, ttl: ttl, now: time.Now, log: log, cache: map[string]cachedKey{}, lastUsed: map[string]time.Time{}}
}

// Authenticate turns a bearer token into an API-key actor. Errors are UNAUTHORIZED with a
// message saying what is wrong (malformed, unknown, revoked, expired), never which part of a
// valid-looking key failed.
func (a *KeyAuthenticator) Authenticate(ctx context.Context, token string) (domain.Actor, error) {
	mode, keyID, secret, ok := ParseToken(token)
	if !ok {
		return domain.Actor{}, unauthorized("the API key is malformed (expected sk_test_<keyId>.<secret> or sk_live_...)")
	}
	k, err := a.lookup(ctx, keyID)
	if err != nil {
		if domain.IsNotFound(err) {
			return domain.Actor{}, unauthorized("unknown API key")
		}
		return domain.Actor{}, err
	}
	if !secrets.EqualHash(k.SecretHash, a.keys.HashAPISecret(secret)) || k.Mode != mode {
		return domain.Actor{}, unauthorized("unknown API key")
	}
	now := a.now()
	if k.RevokedAt != nil {
		return domain.Actor{}, unauthorized("the API key has been revoked")
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return domain.Actor{}, unauthorized("the API key has expired")
	}
	a.mu.Lock()
	a.lastUsed[k.ID] = now
	a.mu.Unlock()
	label := k.Name
	if label == "" {
		label = k.ID
	}
	return domain.Actor{Type: domain.ActorAPIKey, ID: k.ID, Label: label, OrganizationID: k.OrganizationID, Scopes: k.Scopes, Mode: k.Mode}, nil
}

func (a *KeyAuthenticator) lookup(ctx context.Context, keyID string) (domain.APIKey, error) {
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		c, ok := a.cache[keyID]
		a.mu.Unlock()
		if ok && now.Sub(c.fetched) < a.ttl {
			return c.key, nil
		}
	}
	k, err := a.store.GetAPIKey(ctx, keyID)
	if err != nil {
		return domain.APIKey{}, err
	}
	if a.ttl > 0 {
		a.mu.Lock()
		if len(a.cache) > 10000 {
			a.cache = map[string]cachedKey{}
		}
		a.cache[keyID] = cachedKey{key: *k, fetched: now}
		a.mu.Unlock()
	}
	return *k, nil
}

// Forget drops a key from this process's cache (after a revoke or rotation here).
func (a *KeyAuthenticator) Forget(keyID string) {
	a.mu.Lock()
	delete(a.cache, keyID)
	a.mu.Unlock()
}

// Flush writes the collected last-used times.
func (a *KeyAuthenticator) Flush(ctx context.Context) error {
	a.mu.Lock()
	pending := a.lastUsed
	a.lastUsed = map[string]time.Time{}
	a.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return a.store.TouchAPIKeys(ctx, pending)
}

// Run flushes last-used times every interval until ctx ends, then once more.
func (a *KeyAuthenticator) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.Flush(fctx); err != nil {
				a.log.Warn("flush API key usage", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := a.Flush(ctx); err != nil {
				a.log.Warn("flush API key usage", "error", err)
			}
		}
	}
}

func unauthorized(msg string) error {
	return &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized, Message: msg}
}

// BearerToken extracts the token of an "Authorization: Bearer ..." header.
func BearerToken(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}
