package invoice

import (
	"context"

	"paygate.dev/pkg/document"
	"paygate.dev/pkg/domain"
)

// creditNoteDocument builds what a credit note's PDF says: its own number, the invoice it
// credits, its reason, lines, tax per rate and totals, branded as the invoice's site.
func (s *Service) creditNoteDocument(ctx context.Context, tx Store, cn *domain.CreditNote, siteID *string) (document.View, error) {
	org, err := tx.GetOrganization(ctx, cn.OrganizationID)
	if err != nil {
		return document.View{}, err
	}
	v := document.View{Kind: document.CreditNote, Number: cn.Number, Language: cn.Language, Currency: cn.Currency, Test: cn.Mode == domain.ModeTest,
		IssuedAt: cn.IssuedAt, Seller: cn.Seller, Client: cn.Client, TaxIncluded: cn.Tax.Included, Net: cn.TotalNet, Tax: cn.TotalTax,
		Gross: cn.TotalGross, Treatment: cn.Tax.Treatment, CreditedInvoice: cn.InvoiceNumber, Reason: cn.Reason, Notes: cn.Notes}
	for _, l := range cn.Lines {
		v.Lines = append(v.Lines, document.Line{Description: l.Description, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Rate: l.Rate,
			Net: l.Net, Tax: l.Tax, Gross: l.Gross})
	}
	for _, t := range cn.Tax.Breakdown {
		v.Taxes = append(v.Taxes, document.TaxLine{Rate: t.Rate, TaxableBase: t.TaxableBase, TaxAmount: t.TaxAmount})
	}
	v.Branding, err = branding(ctx, tx, org, siteID)
	return v, err
}

// storeCreditNotePDF renders a credit note and stores the bytes, in tx (its issuing
// transaction). siteID is its invoice's site (the branding).
func (s *Service) storeCreditNotePDF(ctx context.Context, tx Store, cn *domain.CreditNote, siteID *string) (*domain.Document, error) {
	v, err := s.creditNoteDocument(ctx, tx, cn, siteID)
	if err != nil {
		return nil, err
	}
	pdf, err := document.Render(v)
	if err != nil {
		return nil, domain.Internal(err, "render credit note %s", cn.ID)
	}
	d := &domain.Document{OrganizationID: cn.OrganizationID, Kind: domain.DocCreditNote, DocumentID: cn.ID, ContentType: ContentTypePDF, Bytes: pdf}
	if err := tx.SaveDocument(ctx, d); err != nil {
		return nil, err
	}
	return d, nil
}

// storedCreditNotePDF reads a credit note's stored PDF (rendered and stored now if it has
// none, once).
func (s *Service) storedCreditNotePDF(ctx context.Context, cn *domain.CreditNote) (*domain.Document, error) {
	d, err := s.store.GetDocument(ctx, cn.OrganizationID, domain.DocCreditNote, cn.ID)
	if err == nil || !domain.IsNotFound(err) {
		return d, err
	}
	err = s.store.InTx(ctx, func(tx Store) error {
		inv, err := tx.GetInvoice(ctx, cn.OrganizationID, cn.InvoiceID)
		if err != nil {
			return err
		}
		d, err = s.storeCreditNotePDF(ctx, tx, cn, inv.SiteID)
		return err
	})
	if domain.ErrorCode(err) == domain.CodeDocumentStored {
		return s.store.GetDocument(ctx, cn.OrganizationID, domain.DocCreditNote, cn.ID)
	}
	return d, err
}

// CreditNotePDF returns a credit note's PDF as stored at its issue (invoice:read); one of
// another organisation or of a mode the actor does not see is NOT_FOUND.
func (s *Service) CreditNotePDF(ctx context.Context, actor domain.Actor, orgID, id string) (*File, error) {
	cn, err := s.GetCreditNote(ctx, actor, orgID, id)
	if err != nil {
		return nil, err
	}
	d, err := s.storedCreditNotePDF(ctx, cn)
	if err != nil {
		return nil, err
	}
	l := document.LocaleFor(cn.Language)
	return &File{Name: l.FileName(document.CreditNote, cn.Number), ContentType: d.ContentType, Bytes: d.Bytes, SHA256: d.SHA256}, nil
}

// SendCreditNote e-mails a credit note to its client, or to the address given
// (invoice:update), with its stored PDF, in its language; audited. No address is INVALID to;
// no e-mail on this server 503 MAIL_DISABLED.
func (s *Service) SendCreditNote(ctx context.Context, actor domain.Actor, orgID, id, to string) (*Sent, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	cn, err := s.GetCreditNote(ctx, actor, orgID, id)
	if err != nil {
		return nil, err
	}
	addr, err := recipient(to, cn.Client.Email)
	if err != nil {
		return nil, err
	}
	if s.mailer == nil {
		return nil, mailDisabled()
	}
	d, err := s.storedCreditNotePDF(ctx, cn)
	if err != nil {
		return nil, err
	}
	l := document.LocaleFor(cn.Language)
	m := mailOf(l, docMail{kind: document.CreditNote, number: cn.Number, seller: cn.Seller, at: cn.IssuedAt,
		total: l.Money(cn.TotalGross, cn.Currency), test: cn.Mode == domain.ModeTest}, addr, d.Bytes)
	if err := s.send(ctx, m); err != nil {
		return nil, err
	}
	out := &Sent{InvoiceID: cn.InvoiceID, To: addr, Number: cn.Number, SHA256: d.SHA256}
	if err := s.store.Audit(ctx, actor, "credit_note.send", "credit_note", cn.ID, map[string]any{"to": addr, "number": cn.Number, "sha256": d.SHA256}); err != nil {
		s.log.ErrorContext(ctx, "credit note sent, audit not written", "creditNote", cn.ID, "error", err)
	}
	return out, nil
}
