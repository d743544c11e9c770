package invoice

import (
	"context"
	"errors"
	"strings"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// The reads below serve the Admin Panel's invoice screens: a list page that knows whether
// another follows, the invoice of a payment, an invoice's payment links and history, and the
// preview of the next numbers.

// ListPage returns a page of the organisation's invoices (f.Limit rows, 1 to 100) with their
// balances, newest first, and whether another page follows on the side it was read towards
// (older rows; newer ones with f.Before). invoice:read; an API key sees its own mode's only.
func (s *Service) ListPage(ctx context.Context, actor domain.Actor, orgID string, f domain.InvoiceFilter) ([]View, bool, error) {
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, domain.Invalid("limit", "limit must be from 1 to 100")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		return nil, false, domain.Invalid("mode", "mode must be test or live")
	}
	if f.Status != "" && f.Status != domain.InvoiceDraft && f.Status != domain.InvoiceIssued {
		return nil, false, domain.Invalid("status", "status must be draft or issued")
	}
	limit := f.Limit
	f.Limit++
	rows, err := s.List(ctx, actor, orgID, f)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > limit
	if more && f.Before != "" {
		// A newer page comes newest first: the row beyond it is the first one.
		return rows[1:], true, nil
	}
	rows, more = domain.CutPage(rows, limit)
	return rows, more, nil
}

// ListCreditNotesPage returns a page of the organisation's credit notes (f.Limit rows, 1 to
// 100), newest first, and whether another page follows on the side it was read towards (older
// notes; newer ones with f.Before), like ListPage. invoice:read.
func (s *Service) ListCreditNotesPage(ctx context.Context, actor domain.Actor, orgID string, f domain.CreditNoteFilter) ([]domain.CreditNote, bool, error) {
	if f.Limit < 1 || f.Limit > 100 {
		return nil, false, domain.Invalid("limit", "limit must be from 1 to 100")
	}
	if f.Mode != "" && !f.Mode.Valid() {
		return nil, false, domain.Invalid("mode", "mode must be test or live")
	}
	limit := f.Limit
	f.Limit++
	rows, err := s.ListCreditNotes(ctx, actor, orgID, f)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > limit
	if more && f.Before != "" {
		// A newer page comes newest first: the row beyond it is the first one.
		return rows[1:], true, nil
	}
	rows, more = domain.CutPage(rows, limit)
	return rows, more, nil
}

// ForTransaction returns the invoice a payment belongs to: the one issued for it (automatic
// invoices), or the one its checkout was a payment link of; nil when it has none or the
// actor may not read invoices.
func (s *Service) ForTransaction(ctx context.Context, actor domain.Actor, orgID string, txn *domain.Transaction) (*domain.Invoice, error) {
	if !mayRead(actor, orgID) {
		return nil, nil // no invoice to show to who may not read them
	}
	inv, err := s.store.GetInvoiceBySourceTransaction(ctx, orgID, txn.ID)
	if domain.IsNotFound(err) {
		var link *domain.InvoicePaymentLink
		if link, err = s.store.GetPaymentLink(ctx, orgID, txn.CheckoutID); domain.IsNotFound(err) {
			return nil, nil
		} else if err == nil {
			inv, err = s.store.GetInvoice(ctx, orgID, link.InvoiceID)
		}
	}
	if err != nil {
		return nil, err
	}
	if !actor.Sees(inv.Mode) {
		return nil, nil
	}
	return inv, nil
}

// mayRead says whether the actor may read the organisation's invoices.
func mayRead(actor domain.Actor, orgID string) bool {
	return inOrg(actor, orgID) == nil && auth.Can(actor, "invoice", "read")
}

// Links returns an issued invoice's payment links, oldest first (invoice:read).
func (s *Service) Links(ctx context.Context, actor domain.Actor, orgID, id string) ([]domain.InvoicePaymentLink, error) {
	if _, err := s.Get(ctx, actor, orgID, id); err != nil {
		return nil, err
	}
	return s.store.ListPaymentLinks(ctx, orgID, id)
}

// History returns the audit entries about an invoice, newest first: created, changed,
// issued, payment links (invoice:read; the audit log itself needs audit:read, the invoice's
// own history does not).
func (s *Service) History(ctx context.Context, actor domain.Actor, orgID, id string) ([]domain.AuditEntry, error) {
	if _, err := s.Get(ctx, actor, orgID, id); err != nil {
		return nil, err
	}
	all, err := s.store.ListAudit(ctx, domain.AuditFilter{OrganizationID: orgID, TargetID: id, Limit: 100})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if strings.HasPrefix(e.Action, "invoice.") {
			out = append(out, e)
		}
	}
	return out, nil
}

// NextNumber is the number the next document of one kind and mode would get under a layout.
type NextNumber struct {
	Kind   domain.DocumentKind
	Mode   domain.Mode
	Number string
}

// NextNumbers previews the numbers the next invoice and credit note of each mode would get if
// issued now under set's layouts (saved or not), allocating nothing (invoice:read). An
// invalid layout is VALIDATION_ERROR with every wrong field.
func (s *Service) NextNumbers(ctx context.Context, actor domain.Actor, orgID string, set domain.InvoiceSettings) ([]NextNumber, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	il, cl := set.InvoiceLayout, set.CreditNoteLayout
	if err := errorsOf(il.Validate("invoiceLayout"), cl.Validate("creditNoteLayout")); err != nil {
		return nil, err
	}
	at := s.now().UTC()
	var out []NextNumber
	for _, m := range []domain.Mode{domain.ModeLive, domain.ModeTest} {
		if !actor.Sees(m) {
			continue
		}
		for _, k := range []struct {
			kind   domain.DocumentKind
			layout domain.NumberLayout
		}{{domain.DocInvoice, il}, {domain.DocCreditNote, cl}} {
			n, err := s.store.PeekDocumentNumber(ctx, orgID, m, k.kind, k.layout.SequencePeriod(at))
			if err != nil {
				return nil, err
			}
			out = append(out, NextNumber{Kind: k.kind, Mode: m, Number: k.layout.Format(m, at, n)})
		}
	}
	return out, nil
}

// errorsOf joins validation errors into one carrying them all (the first, with the others in
// its Also).
func errorsOf(errs ...error) error {
	var first *domain.Error
	for _, err := range errs {
		var de *domain.Error
		if !errors.As(err, &de) {
			continue
		}
		if first == nil {
			c := *de
			first = &c
			continue
		}
		first.Also = append(append(first.Also, de), de.Also...)
	}
	if first == nil {
		return nil
	}
	return first
}
