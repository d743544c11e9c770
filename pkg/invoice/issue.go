package invoice

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// Issue issues a draft (invoice:update), audited: its tax is computed again at the rates of
// the moment, the seller block is copied from the organisation's settings, and the number is
// taken from the organisation's gapless sequence of the invoice's mode, all in one database
// transaction (the sequence's row stays locked until it commits, so concurrent issues take
// turns; a failed issue gives its number back). From then on the invoice never changes.
// CONFLICT INVOICE_ISSUED when it is issued already.
func (s *Service) Issue(ctx context.Context, actor domain.Actor, orgID, id string) (*domain.Invoice, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	var out *domain.Invoice
	err := s.store.InTx(ctx, func(tx Store) error {
		inv, err := s.lockVisible(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		if inv.Status != domain.InvoiceDraft {
			return domain.Conflict(domain.CodeInvoiceIssued, "the invoice is issued already (number %s)", deref(inv.Number))
		}
		org, err := tx.GetOrganization(ctx, orgID)
		if err != nil {
			return err
		}
		if err := computeTax(ctx, org, inv, s.now()); err != nil {
			return err
		}
		if err := s.number(ctx, tx, org, inv); err != nil {
			return err
		}
		if err := tx.MarkInvoiceIssued(ctx, inv); err != nil {
			return err
		}
		// Its PDF is rendered and stored once, by a job this transaction queues (KindDocument).
		if err := queueDocument(ctx, tx, orgID, domain.DocInvoice, inv.ID); err != nil {
			return err
		}
		out = inv
		if err := issuedEvent(ctx, tx, inv); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "invoice.issue", "invoice", inv.ID, map[string]any{"number": deref(inv.Number)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// number freezes the seller block and gives inv its number and issue time, in tx.
func (s *Service) number(ctx context.Context, tx Store, org *domain.Organization, inv *domain.Invoice) error {
	set, err := tx.GetInvoiceSettings(ctx, org.ID)
	if err != nil {
		return err
	}
	inv.Seller = seller(org, set)
	d, err := s.allocate(ctx, tx, set, inv.Mode, domain.DocInvoice)
	if err != nil {
		return err
	}
	inv.Number, inv.SequencePeriod, inv.SequenceValue, inv.IssuedAt = &d.number, d.period, &d.value, &d.at
	return nil
}

// docNumber is a document's number as allocated at issue.
type docNumber struct {
	number string
	period string
	value  int64
	at     time.Time
}

// allocate takes the next number of kind's gapless sequence (the organisation's layout for
// kind, in mode) for a document issued now, in tx: the transaction that records the document.
func (s *Service) allocate(ctx context.Context, tx Store, set *domain.InvoiceSettings, mode domain.Mode, kind domain.DocumentKind) (docNumber, error) {
	at := s.now().UTC()
	layout := set.Layout(kind)
	period := layout.SequencePeriod(at)
	n, err := tx.NextDocumentNumber(ctx, set.OrganizationID, mode, kind, period)
	if err != nil {
		return docNumber{}, err
	}
	return docNumber{number: layout.Format(mode, at, n), period: period, value: n, at: at}, nil
}

// seller is the seller block of an organisation's invoices: its settings' block, named and
// located by the organisation where the block leaves that out.
func seller(org *domain.Organization, set *domain.InvoiceSettings) domain.Party {
	p := set.Seller
	if p.Name == "" && p.Company == "" {
		p.Company = org.Name
	}
	if p.Country == "" {
		p.Country = org.SellerCountry
	}
	if p.Email == "" {
		p.Email = org.SupportEmail
	}
	return p
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// View is an invoice with its money: settlements, credit notes and the balance computed from
// them.
type View struct {
	Invoice     *domain.Invoice
	Settlements []domain.Settlement
	CreditNotes []domain.CreditNote
	Balance     domain.InvoiceBalance
}

// Get returns an invoice with its balance (invoice:read); one of another organisation or of a
// mode the actor does not see is NOT_FOUND.
func (s *Service) Get(ctx context.Context, actor domain.Actor, orgID, id string) (*View, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	inv, err := s.store.GetInvoice(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if !actor.Sees(inv.Mode) {
		return nil, domain.NotFound("invoice")
	}
	return s.view(ctx, s.store, inv)
}

func (s *Service) view(ctx context.Context, st Store, inv *domain.Invoice) (*View, error) {
	v := &View{Invoice: inv}
	if inv.Status != domain.InvoiceIssued {
		v.Balance = domain.InvoiceBalance{Total: inv.TotalGross, Outstanding: inv.TotalGross}
		return v, nil
	}
	sts, err := st.ListSettlements(ctx, inv.OrganizationID, inv.ID)
	if err != nil {
		return nil, err
	}
	var paid int64
	for _, x := range sts {
		paid += x.Amount
	}
	c, err := creditsOf(ctx, st, inv)
	if err != nil {
		return nil, err
	}
	v.Settlements, v.CreditNotes = sts, c.notes
	v.Balance = domain.ComputeBalance(inv.TotalGross, paid, c.credited, c.refunded)
	return v, nil
}

// List returns a page of the organisation's invoices with their balances (invoice:read); an
// API key sees its own mode's only.
func (s *Service) List(ctx context.Context, actor domain.Actor, orgID string, f domain.InvoiceFilter) ([]View, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	f.OrganizationID = orgID
	if actor.Mode != "" {
		if f.Mode != "" && f.Mode != actor.Mode {
			return nil, nil
		}
		f.Mode = actor.Mode
	}
	invs, err := s.store.ListInvoices(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(invs))
	for i := range invs {
		v, err := s.view(ctx, s.store, &invs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// Settings returns the organisation's invoicing settings (invoice:read).
func (s *Service) Settings(ctx context.Context, actor domain.Actor, orgID string) (*domain.InvoiceSettings, error) {
	if err := allowed(actor, orgID, "read"); err != nil {
		return nil, err
	}
	return s.store.GetInvoiceSettings(ctx, orgID)
}

// SaveSettings validates and saves the organisation's invoicing settings (organization:update:
// they apply to both modes), audited.
func (s *Service) SaveSettings(ctx context.Context, actor domain.Actor, orgID string, set domain.InvoiceSettings) (*domain.InvoiceSettings, error) {
	if err := inOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := authorize(actor, "organization", "update"); err != nil {
		return nil, err
	}
	set.OrganizationID = orgID
	if err := set.Seller.Validate("seller"); err != nil {
		return nil, err
	}
	if err := set.InvoiceLayout.Validate("invoiceLayout"); err != nil {
		return nil, err
	}
	if err := set.CreditNoteLayout.Validate("creditNoteLayout"); err != nil {
		return nil, err
	}
	if set.PaymentLinkMinimum < 1 {
		return nil, domain.Invalid("paymentLinkMinimum", "the smallest part of a payment link is at least 1 (minor units)")
	}
	err := s.store.InTx(ctx, func(tx Store) error {
		if err := tx.SaveInvoiceSettings(ctx, &set); err != nil {
			return err
		}
		return tx.Audit(ctx, actor, "invoice.settings", "organization", orgID, map[string]any{"autoIssue": set.AutoIssue,
			"invoiceLayout": set.InvoiceLayout, "creditNoteLayout": set.CreditNoteLayout})
	})
	if err != nil {
		return nil, err
	}
	return &set, nil
}
