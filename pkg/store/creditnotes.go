package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// CreateCreditNote records an issued credit note. A second note for the same refund, dispute
// or disputed payment, or a number taken twice, violates a unique key (domain.IsConstraint:
// credit_notes_source_refund_key, credit_notes_source_dispute_key,
// credit_notes_chargeback_transaction_key, credit_notes_number_key ...).
func (s *Store) CreateCreditNote(ctx context.Context, cn *domain.CreditNote) error {
	if cn.ID == "" {
		cn.ID = domain.NewID(domain.PrefixCreditNote)
	}
	cn.CreatedAt = Now()
	cn.IssuedAt = UTC(cn.IssuedAt)
	return translate(s.q(ctx).Create(cn).Error, "credit note")
}

// GetCreditNote returns one of an organisation's credit notes.
func (s *Store) GetCreditNote(ctx context.Context, orgID, id string) (*domain.CreditNote, error) {
	var cn domain.CreditNote
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&cn).Error; err != nil {
		return nil, translate(err, "credit note")
	}
	return &cn, nil
}

// GetCreditNoteBySourceRefund returns the credit note issued for a refund, NOT_FOUND if none.
func (s *Store) GetCreditNoteBySourceRefund(ctx context.Context, orgID, refundID string) (*domain.CreditNote, error) {
	var cn domain.CreditNote
	if err := s.q(ctx).Where("source_refund_id = ? AND organization_id = ?", refundID, orgID).Take(&cn).Error; err != nil {
		return nil, translate(err, "credit note")
	}
	return &cn, nil
}

// GetChargebackCreditNote returns the chargeback note of a payment lost to a dispute, NOT_FOUND
// if none.
func (s *Store) GetChargebackCreditNote(ctx context.Context, orgID, transactionID string) (*domain.CreditNote, error) {
	var cn domain.CreditNote
	err := s.q(ctx).Where("source_transaction_id = ? AND organization_id = ? AND kind = ?", transactionID, orgID, domain.CreditChargeback).Take(&cn).Error
	if err != nil {
		return nil, translate(err, "credit note")
	}
	return &cn, nil
}

// ListInvoiceCreditNotes returns an invoice's credit notes, oldest first.
func (s *Store) ListInvoiceCreditNotes(ctx context.Context, orgID, invoiceID string) ([]domain.CreditNote, error) {
	var out []domain.CreditNote
	err := s.q(ctx).Where("organization_id = ? AND invoice_id = ?", orgID, invoiceID).Order("sequence_period, sequence_value, id").Find(&out).Error
	return out, translate(err, "credit notes")
}

// ListCreditNotes returns a page of an organisation's credit notes, newest first.
func (s *Store) ListCreditNotes(ctx context.Context, f domain.CreditNoteFilter) ([]domain.CreditNote, error) {
	q := s.q(ctx).Where("organization_id = ?", f.OrganizationID)
	if f.Mode != "" {
		q = q.Where("mode = ?", f.Mode)
	}
	if f.InvoiceID != "" {
		q = q.Where("invoice_id = ?", f.InvoiceID)
	}
	if f.ClientID != "" {
		q = q.Where("client_id = ?", f.ClientID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	limit := f.Limit
	if limit <= 0 || limit > 101 {
		limit = 50
	}
	var out []domain.CreditNote
	if f.Before != "" {
		// The notes just newer than the cursor (oldest first, so the limit keeps the nearest),
		// then newest first like every page.
		err := q.Where("id > ?", f.Before).Order("id ASC").Limit(limit).Find(&out).Error
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, translate(err, "credit notes")
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	return out, translate(q.Order("id DESC").Limit(limit).Find(&out).Error, "credit notes")
}

// GetSettlementByTransaction returns the settlement a payment made, NOT_FOUND when the payment
// settles no invoice.
func (s *Store) GetSettlementByTransaction(ctx context.Context, orgID, transactionID string) (*domain.Settlement, error) {
	var st domain.Settlement
	if err := s.q(ctx).Where("transaction_id = ? AND organization_id = ?", transactionID, orgID).Take(&st).Error; err != nil {
		return nil, translate(err, "settlement")
	}
	return &st, nil
}
