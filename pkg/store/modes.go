package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// ModedKind names a kind of object that has a mode (test or live).
type ModedKind string

// The kinds of object that have a mode; refunds, events and notifications take their
// transaction's.
const (
	ModedCheckout    ModedKind = "checkout"
	ModedTransaction ModedKind = "transaction"
	ModedProvider    ModedKind = "provider"
	ModedAPIKey      ModedKind = "API key"
)

var modedTables = map[ModedKind]string{
	ModedCheckout: "checkouts", ModedTransaction: "transactions", ModedProvider: "providers", ModedAPIKey: "api_keys",
}

// ObjectMode returns the mode of one of an organisation's objects: NOT_FOUND when the
// organisation has no such object.
func (s *Store) ObjectMode(ctx context.Context, kind ModedKind, orgID, id string) (domain.Mode, error) {
	table, ok := modedTables[kind]
	if !ok {
		return "", domain.Internal(nil, "no moded object kind %q", kind)
	}
	var modes []string
	if err := s.q(ctx).Table(table).Where("id = ? AND organization_id = ?", id, orgID).Limit(1).Pluck("mode", &modes).Error; err != nil {
		return "", translate(err, string(kind))
	}
	if len(modes) == 0 {
		return "", domain.NotFound(string(kind))
	}
	return domain.Mode(modes[0]), nil
}
