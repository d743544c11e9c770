package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// SaveDocument stores a rendered document once: its hash is computed here, and a document of
// the same organisation, kind and id already stored is CONFLICT DOCUMENT_STORED (the insert
// does nothing, so the caller's transaction stays usable; the table also refuses every UPDATE,
// migration 0021).
func (s *Store) SaveDocument(ctx context.Context, d *domain.Document) error {
	sum := sha256.Sum256(d.Bytes)
	d.SHA256 = hex.EncodeToString(sum[:])
	d.CreatedAt = Now()
	res := s.q(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(d)
	if res.Error != nil {
		return translate(res.Error, "document")
	}
	if res.RowsAffected == 0 {
		return domain.Conflict(domain.CodeDocumentStored, "the %s's document is stored already; it never changes", d.Kind)
	}
	return nil
}

// GetDocument returns a stored document, NOT_FOUND if none.
func (s *Store) GetDocument(ctx context.Context, orgID string, kind domain.DocumentKind, id string) (*domain.Document, error) {
	var d domain.Document
	err := s.q(ctx).Where("organization_id = ? AND kind = ? AND document_id = ?", orgID, kind, id).Take(&d).Error
	if err != nil {
		return nil, translate(err, "document")
	}
	return &d, nil
}
