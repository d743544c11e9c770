package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// ModedKind is the domain's kind of object that has a mode (domain.ModedKind).
type ModedKind = domain.ModedKind

// The kinds of object that have a mode (the domain's).
const (
	ModedCheckout    = domain.ModedCheckout
	ModedTransaction = domain.ModedTransaction
	ModedProvider    = domain.ModedProvider
	ModedAPIKey      = domain.ModedAPIKey
	ModedInvoice     = domain.ModedInvoice
	ModedCreditNote  = domain.ModedCreditNote
)

var modedTables = map[ModedKind]string{
	ModedCheckout: "checkouts", ModedTransaction: "transactions", ModedProvider: "providers", ModedAPIKey: "api_keys", ModedInvoice: "invoices",
	ModedCreditNote: "credit_notes",
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
