package store

import (
	"context"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// GetInvoiceSettings returns an organisation's invoicing settings; an organisation that saved
// none gets the defaults (default layouts, no automatic invoices, a minimum part of 100).
func (s *Store) GetInvoiceSettings(ctx context.Context, orgID string) (*domain.InvoiceSettings, error) {
	var out []domain.InvoiceSettings
	if err := s.q(ctx).Where("organization_id = ?", orgID).Limit(1).Find(&out).Error; err != nil {
		return nil, translate(err, "invoice settings")
	}
	if len(out) == 0 {
		return &domain.InvoiceSettings{OrganizationID: orgID, InvoiceLayout: domain.DefaultNumberLayout(domain.DocInvoice),
			CreditNoteLayout: domain.DefaultNumberLayout(domain.DocCreditNote), PaymentLinkMinimum: 100}, nil
	}
	return &out[0], nil
}

// SaveInvoiceSettings writes an organisation's invoicing settings (created or replaced).
func (s *Store) SaveInvoiceSettings(ctx context.Context, set *domain.InvoiceSettings) error {
	now := Now()
	if set.CreatedAt.IsZero() {
		set.CreatedAt = now
	}
	set.UpdatedAt = now
	err := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "organization_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"seller", "invoice_layout", "credit_note_layout", "auto_issue", "payment_link_minimum", "updated_at"}),
	}).Create(set).Error
	return translate(err, "invoice settings")
}

// NextDocumentNumber allocates the next number of an organisation's sequence (mode, kind and
// period: see domain.NumberLayout.SequencePeriod), starting at 1. It must run inside the
// transaction that records the document: the upsert holds the sequence row's lock until that
// transaction ends (PostgreSQL; SQLite has one writer), so concurrent issues take turns and
// never share a number, and a transaction that rolls back gives its number back (no gaps).
func (s *Store) NextDocumentNumber(ctx context.Context, orgID string, mode domain.Mode, kind domain.DocumentKind, period string) (int64, error) {
	if !s.inTx {
		return 0, domain.Internal(nil, "document numbers are allocated inside the issuing transaction")
	}
	var n []int64
	err := s.q(ctx).Raw(`INSERT INTO document_sequences (organization_id, mode, kind, period, last_value) VALUES (?, ?, ?, ?, 1)
ON CONFLICT (organization_id, mode, kind, period) DO UPDATE SET last_value = document_sequences.last_value + 1
RETURNING last_value`, orgID, mode, kind, period).Scan(&n).Error
	if err != nil {
		return 0, translate(err, "document sequence")
	}
	if len(n) != 1 {
		return 0, domain.Internal(nil, "the sequence upsert returned %d rows", len(n))
	}
	return n[0], nil
}

// CreateInvoice records a new invoice (a draft, or one issued at once).
func (s *Store) CreateInvoice(ctx context.Context, inv *domain.Invoice) error {
	if inv.ID == "" {
		inv.ID = domain.NewID(domain.PrefixInvoice)
	}
	inv.CreatedAt = Now()
	inv.UpdatedAt = inv.CreatedAt
	inv.IssuedAt, inv.DueAt = utcPtr(inv.IssuedAt), utcPtr(inv.DueAt)
	return translate(s.q(ctx).Create(inv).Error, "invoice")
}

// GetInvoice returns one of an organisation's invoices.
func (s *Store) GetInvoice(ctx context.Context, orgID, id string) (*domain.Invoice, error) {
	var inv domain.Invoice
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&inv).Error; err != nil {
		return nil, translate(err, "invoice")
	}
	return &inv, nil
}

// LockInvoice reads an invoice and, on PostgreSQL, locks its row until the surrounding
// transaction ends (SQLite transactions already exclude each other).
func (s *Store) LockInvoice(ctx context.Context, orgID, id string) (*domain.Invoice, error) {
	q := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID)
	if s.dialect == Postgres {
		q = q.Clauses(forUpdate())
	}
	var inv domain.Invoice
	if err := q.Take(&inv).Error; err != nil {
		return nil, translate(err, "invoice")
	}
	return &inv, nil
}

// GetInvoiceBySourceTransaction returns the invoice issued for a payment, NOT_FOUND if none.
func (s *Store) GetInvoiceBySourceTransaction(ctx context.Context, orgID, transactionID string) (*domain.Invoice, error) {
	var inv domain.Invoice
	if err := s.q(ctx).Where("source_transaction_id = ? AND organization_id = ?", transactionID, orgID).Take(&inv).Error; err != nil {
		return nil, translate(err, "invoice")
	}
	return &inv, nil
}

// ListInvoices returns a page of an organisation's invoices, newest first.
func (s *Store) ListInvoices(ctx context.Context, f domain.InvoiceFilter) ([]domain.Invoice, error) {
	q := s.q(ctx).Where("organization_id = ?", f.OrganizationID)
	if f.Mode != "" {
		q = q.Where("mode = ?", f.Mode)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.ClientID != "" {
		q = q.Where("client_id = ?", f.ClientID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 101 {
		limit = 50
	}
	var out []domain.Invoice
	if f.Before != "" {
		// The rows just newer than the cursor (oldest first, so the limit keeps the nearest),
		// then newest first like every page.
		err := q.Where("id > ?", f.Before).Order("id ASC").Limit(limit).Find(&out).Error
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out, translate(err, "invoices")
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	return out, translate(q.Order("id DESC").Limit(limit).Find(&out).Error, "invoices")
}

// PeekDocumentNumber is the number the next document of a sequence would get (1 for a
// sequence that has none yet), without allocating it: the settings' preview.
func (s *Store) PeekDocumentNumber(ctx context.Context, orgID string, mode domain.Mode, kind domain.DocumentKind, period string) (int64, error) {
	var last []int64
	err := s.q(ctx).Raw(`SELECT last_value FROM document_sequences WHERE organization_id = ? AND mode = ? AND kind = ? AND period = ?`,
		orgID, mode, kind, period).Scan(&last).Error
	if err != nil {
		return 0, translate(err, "document sequence")
	}
	if len(last) == 0 {
		return 1, nil
	}
	return last[0] + 1, nil
}

// errInvoiceIssued is what a change to an issued invoice gets: issued invoices are locked.
func errInvoiceIssued() error {
	return domain.Conflict(domain.CodeInvoiceIssued, "the invoice is issued: it can no longer change (credit it instead)")
}

// draftGone tells why a statement meant for a draft touched no row: the invoice is issued
// (CONFLICT INVOICE_ISSUED) or does not exist (NOT_FOUND).
func (s *Store) draftGone(ctx context.Context, orgID, id string) error {
	inv, err := s.GetInvoice(ctx, orgID, id)
	if err != nil {
		return err
	}
	if inv.Status != domain.InvoiceDraft {
		return errInvoiceIssued()
	}
	return domain.Internal(nil, "draft invoice %s not changed", id)
}

// UpdateDraftInvoice saves a draft's editable fields. Only drafts change: an issued invoice
// gets CONFLICT INVOICE_ISSUED (the statement itself only matches drafts).
func (s *Store) UpdateDraftInvoice(ctx context.Context, inv *domain.Invoice) error {
	inv.UpdatedAt = Now()
	res := s.q(ctx).Model(&domain.Invoice{}).Where("id = ? AND organization_id = ? AND status = ?", inv.ID, inv.OrganizationID, domain.InvoiceDraft).
		Select("site_id", "currency", "language", "client_id", "client", "seller", "lines", "total_net", "total_tax", "total_gross", "tax", "notes", "due_at", "updated_at").
		Updates(inv)
	if res.Error != nil {
		return translate(res.Error, "invoice")
	}
	if res.RowsAffected == 0 {
		return s.draftGone(ctx, inv.OrganizationID, inv.ID)
	}
	return nil
}

// DeleteDraftInvoice deletes a draft; an issued invoice is never deleted (INVOICE_ISSUED).
func (s *Store) DeleteDraftInvoice(ctx context.Context, orgID, id string) error {
	res := s.q(ctx).Where("id = ? AND organization_id = ? AND status = ?", id, orgID, domain.InvoiceDraft).Delete(&domain.Invoice{})
	if res.Error != nil {
		return translate(res.Error, "invoice")
	}
	if res.RowsAffected == 0 {
		return s.draftGone(ctx, orgID, id)
	}
	return nil
}

// MarkInvoiceIssued turns a draft into an issued invoice with its number and its final
// snapshots (seller, client, lines, totals, tax), in one statement that only matches a draft.
func (s *Store) MarkInvoiceIssued(ctx context.Context, inv *domain.Invoice) error {
	inv.UpdatedAt = Now()
	inv.IssuedAt = utcPtr(inv.IssuedAt)
	res := s.q(ctx).Model(&domain.Invoice{}).Where("id = ? AND organization_id = ? AND status = ?", inv.ID, inv.OrganizationID, domain.InvoiceDraft).
		Select("status", "number", "sequence_period", "sequence_value", "client", "seller", "lines", "total_net", "total_tax", "total_gross", "tax",
			"issued_at", "due_at", "updated_at").
		Updates(&domain.Invoice{Status: domain.InvoiceIssued, Number: inv.Number, SequencePeriod: inv.SequencePeriod, SequenceValue: inv.SequenceValue,
			Client: inv.Client, Seller: inv.Seller, Lines: inv.Lines, TotalNet: inv.TotalNet, TotalTax: inv.TotalTax, TotalGross: inv.TotalGross,
			Tax: inv.Tax, IssuedAt: inv.IssuedAt, DueAt: utcPtr(inv.DueAt), UpdatedAt: inv.UpdatedAt})
	if res.Error != nil {
		return translate(res.Error, "invoice")
	}
	if res.RowsAffected == 0 {
		return s.draftGone(ctx, inv.OrganizationID, inv.ID)
	}
	inv.Status = domain.InvoiceIssued
	return nil
}

// AddSettlement records that a payment settles (part of) an invoice; a payment already
// recorded is not recorded again (created false).
func (s *Store) AddSettlement(ctx context.Context, st *domain.Settlement) (created bool, err error) {
	if st.ID == "" {
		st.ID = domain.NewID(domain.PrefixSettlement)
	}
	st.CreatedAt = Now()
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "transaction_id"}}, DoNothing: true}).Create(st)
	if res.Error != nil {
		return false, translate(res.Error, "settlement")
	}
	return res.RowsAffected == 1, nil
}

// ListSettlements returns the payments that settle an invoice, oldest first.
func (s *Store) ListSettlements(ctx context.Context, orgID, invoiceID string) ([]domain.Settlement, error) {
	var out []domain.Settlement
	return out, translate(s.q(ctx).Where("organization_id = ? AND invoice_id = ?", orgID, invoiceID).Order("created_at, id").Find(&out).Error, "settlements")
}

// CreatePaymentLink records that a checkout pays (part of) an invoice.
func (s *Store) CreatePaymentLink(ctx context.Context, l *domain.InvoicePaymentLink) error {
	l.CreatedAt = Now()
	return translate(s.q(ctx).Create(l).Error, "payment link")
}

// GetPaymentLink returns the payment link a checkout was created for, NOT_FOUND if it was not.
func (s *Store) GetPaymentLink(ctx context.Context, orgID, checkoutID string) (*domain.InvoicePaymentLink, error) {
	var l domain.InvoicePaymentLink
	if err := s.q(ctx).Where("checkout_id = ? AND organization_id = ?", checkoutID, orgID).Take(&l).Error; err != nil {
		return nil, translate(err, "payment link")
	}
	return &l, nil
}

// ListPaymentLinks returns an invoice's payment links, oldest first.
func (s *Store) ListPaymentLinks(ctx context.Context, orgID, invoiceID string) ([]domain.InvoicePaymentLink, error) {
	var out []domain.InvoicePaymentLink
	return out, translate(s.q(ctx).Where("organization_id = ? AND invoice_id = ?", orgID, invoiceID).Order("created_at").Find(&out).Error, "payment links")
}

// ListOrganizationEvents returns an organisation's outbox events whose type starts with
// prefix, oldest first (at most 1000).
func (s *Store) ListOrganizationEvents(ctx context.Context, orgID, prefix string) ([]domain.Event, error) {
	var out []domain.Event
	err := s.q(ctx).Where("organization_id = ? AND type LIKE ?", orgID, prefix+"%").Order("occurred_at, id").Limit(1000).Find(&out).Error
	return out, translate(err, "events")
}
