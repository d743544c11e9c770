package domain

import (
	"strings"
	"time"
)

// APIKey is an organisation's secret key for the REST API. Only a keyed hash of the secret is stored.
type APIKey struct {
	ID             string `gorm:"primaryKey"`
	OrganizationID string
	Name           string
	Mode           Mode
	SecretHash     string
	SecretHint     string
	Scopes         []string `gorm:"serializer:json"`
	CreatedBy      string
	CreatedAt      time.Time
	LastUsedAt     *time.Time
	ExpiresAt      *time.Time
	RevokedAt      *time.Time
	RotatedFrom    *string
}

// TableName tells the store which table holds API keys.
func (APIKey) TableName() string { return "api_keys" }

// Active reports whether the key can authenticate at time now.
func (k *APIKey) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt))
}

// Resources and actions that scopes name.
var (
	ScopeResources = []string{"checkout", "transaction", "refund", "site", "provider", "api_key", "organization", "user", "audit", "ipn", "duda", "export", "client", "client_hold", "invoice"}
	ScopeActions   = []string{"create", "read", "update", "delete", "execute"}
)

// ValidateScope checks one "resource:action" scope; either part may be "*".
func ValidateScope(s string) error {
	res, act, ok := strings.Cut(s, ":")
	if !ok {
		return Invalid("scopes", "scope %q must look like resource:action", s)
	}
	if res != "*" && !contains(ScopeResources, res) {
		return Invalid("scopes", "scope %q names an unknown resource", s)
	}
	if act != "*" && !contains(ScopeActions, act) {
		return Invalid("scopes", "scope %q names an unknown action", s)
	}
	return nil
}

// HasScope reports whether the granted scopes include resource:action.
func HasScope(granted []string, resource, action string) bool {
	for _, g := range granted {
		res, act, _ := strings.Cut(g, ":")
		if (res == "*" || res == resource) && (act == "*" || act == action) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
