package dudafake

import (
	"context"
	"fmt"
	"sync"

	"paygate.dev/pkg/duda"
)

// TokenStore is an in-memory duda.TokenStore for tests.
type TokenStore struct {
	mu     sync.Mutex
	tokens map[string]duda.Tokens
	saves  int
}

// NewTokenStore returns an empty store.
func NewTokenStore() *TokenStore { return &TokenStore{tokens: map[string]duda.Tokens{}} }

// Put stores tokens for a site without counting as a Save (e.g. from an install payload).
func (s *TokenStore) Put(siteName string, t duda.Tokens) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[siteName] = t
}

// Get returns what is stored for a site.
func (s *TokenStore) Get(siteName string) (duda.Tokens, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[siteName]
	return t, ok
}

// Saves counts the Save calls (one per refresh).
func (s *TokenStore) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// Load implements duda.TokenStore; it wraps duda.ErrNoTokens for an unknown site.
func (s *TokenStore) Load(_ context.Context, siteName string) (duda.Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[siteName]
	if !ok {
		return duda.Tokens{}, fmt.Errorf("site %q: %w", siteName, duda.ErrNoTokens)
	}
	return t, nil
}

// Save implements duda.TokenStore.
func (s *TokenStore) Save(_ context.Context, siteName string, t duda.Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[siteName] = t
	s.saves++
	return nil
}
