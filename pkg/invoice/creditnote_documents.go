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

// CreditNotePDF returns a credit note's PDF as stored at its issue (invoice:read); one of
// another organisation or of a mode the actor does not see is NOT_FOUND.
func (s *Service) CreditNotePDF(ctx context.Context, actor domain.Actor, orgID, id string) (*File, error) {
	cn, err := s.GetCreditNote(ctx, actor, orgID, id)
	if err != nil {
		return nil, err
	}
	d, err := s.storeDocument(ctx, cn.OrganizationID, domain.DocCreditNote, cn.ID)
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
	d, err := s.storeDocument(ctx, cn.OrganizationID, domain.DocCreditNote, cn.ID)
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
