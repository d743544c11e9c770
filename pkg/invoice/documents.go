package invoice

import (
	"context"
	"errors"
	netmail "net/mail"
	"strings"
	"time"

	"paygate.dev/pkg/document"
	"paygate.dev/pkg/domain"
)

// ContentTypePDF is the media type of the rendered documents.
const ContentTypePDF = "application/pdf"

// CodeMailDisabled answers a send on a server without e-mail (the same code as tenancy's).
const CodeMailDisabled = "MAIL_DISABLED"

// CodeMailFailed answers a send the mail server did not take.
const CodeMailFailed = "MAIL_FAILED"

// File is a rendered document to download or attach.
type File struct {
	Name        string // e.g. invoice-INV-2026-00001.pdf
	ContentType string
	Bytes       []byte
	SHA256      string // empty for a pro forma (rendered on demand, never stored)
}

// invoiceDocument builds what an invoice's PDF says. A draft is a pro forma (its seller block
// as the settings give it today); bal, when given, is the payment state printed.
func (s *Service) invoiceDocument(ctx context.Context, tx Store, inv *domain.Invoice, bal *domain.InvoiceBalance) (document.View, error) {
	org, err := tx.GetOrganization(ctx, inv.OrganizationID)
	if err != nil {
		return document.View{}, err
	}
	v := document.View{Kind: document.Invoice, Number: deref(inv.Number), Language: inv.Language, Currency: inv.Currency,
		Test: inv.Mode == domain.ModeTest, DueAt: inv.DueAt, Seller: inv.Seller, Client: inv.Client, TaxIncluded: inv.Tax.Included,
		Net: inv.TotalNet, Tax: inv.TotalTax, Gross: inv.TotalGross, Treatment: inv.Tax.Treatment, Notes: inv.Notes}
	if inv.IssuedAt != nil {
		v.IssuedAt = *inv.IssuedAt
	}
	if inv.Status == domain.InvoiceDraft {
		set, err := tx.GetInvoiceSettings(ctx, inv.OrganizationID)
		if err != nil {
			return document.View{}, err
		}
		v.Kind, v.Seller, v.IssuedAt = document.ProForma, seller(org, set), s.now().UTC()
	}
	for _, l := range inv.Lines {
		v.Lines = append(v.Lines, document.Line{Description: l.Description, Quantity: l.Quantity, UnitPrice: l.UnitPrice, Rate: l.Rate,
			Net: l.Net, Tax: l.Tax, Gross: l.Gross})
	}
	for _, t := range inv.Tax.Breakdown {
		v.Taxes = append(v.Taxes, document.TaxLine{Rate: t.Rate, TaxableBase: t.TaxableBase, TaxAmount: t.TaxAmount})
	}
	if bal != nil && v.Kind == document.Invoice {
		v.Payment = &document.Payment{State: bal.State, Paid: bal.Paid, Outstanding: bal.Outstanding}
	}
	v.Branding, err = branding(ctx, tx, org, inv.SiteID)
	return v, err
}

// branding is the site's name and colour, or the organisation's name without a site.
func branding(ctx context.Context, tx Store, org *domain.Organization, siteID *string) (document.Branding, error) {
	b := document.Branding{Name: org.Name}
	if siteID == nil || *siteID == "" {
		return b, nil
	}
	site, err := tx.GetSite(ctx, org.ID, *siteID)
	switch {
	case domain.IsNotFound(err): // a deleted site: the organisation brands it
		return b, nil
	case err != nil:
		return b, err
	}
	return document.Branding{Name: site.Name, Color: site.PrimaryColor}, nil
}

// PDF returns an invoice's PDF (invoice:read): an issued invoice's as stored after its issue,
// byte for byte (by its job, or by this download if it comes first: storeDocument); a draft's
// pro forma, rendered now and never stored.
func (s *Service) PDF(ctx context.Context, actor domain.Actor, orgID, id string) (*File, error) {
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
	l := document.LocaleFor(inv.Language)
	if inv.Status == domain.InvoiceDraft {
		v, err := s.invoiceDocument(ctx, s.store, inv, nil)
		if err != nil {
			return nil, err
		}
		pdf, err := document.Render(v)
		if err != nil {
			return nil, domain.Internal(err, "render pro forma %s", inv.ID)
		}
		return &File{Name: l.FileName(document.ProForma, inv.ID), ContentType: ContentTypePDF, Bytes: pdf}, nil
	}
	d, err := s.storeDocument(ctx, inv.OrganizationID, domain.DocInvoice, inv.ID)
	if err != nil {
		return nil, err
	}
	return &File{Name: l.FileName(document.Invoice, deref(inv.Number)), ContentType: d.ContentType, Bytes: d.Bytes, SHA256: d.SHA256}, nil
}

// Sent says where a document was sent.
type Sent struct {
	InvoiceID string `json:"invoiceId"` // the invoice sent, or the one the credit note credits
	To        string `json:"to"`
	Number    string `json:"number"`
	SHA256    string `json:"sha256"`
}

// Send e-mails an issued invoice to its client, or to the address given (invoice:update),
// with its stored PDF attached, in the invoice's language and in the seller's name; audited.
// A draft is CONFLICT INVOICE_NOT_ISSUED; no address, INVALID to; no e-mail on this server,
// 503 MAIL_DISABLED.
func (s *Service) Send(ctx context.Context, actor domain.Actor, orgID, id, to string) (*Sent, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	inv, err := s.store.GetInvoice(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if !actor.Sees(inv.Mode) {
		return nil, domain.NotFound("invoice")
	}
	if inv.Status != domain.InvoiceIssued {
		return nil, domain.Conflict(domain.CodeInvoiceNotIssued, "only an issued invoice is sent: issue the draft first (its pro forma PDF can be downloaded)")
	}
	addr, err := recipient(to, inv.Client.Email)
	if err != nil {
		return nil, err
	}
	if s.mailer == nil {
		return nil, mailDisabled()
	}
	d, err := s.storeDocument(ctx, inv.OrganizationID, domain.DocInvoice, inv.ID)
	if err != nil {
		return nil, err
	}
	l := document.LocaleFor(inv.Language)
	m := mailOf(l, docMail{kind: document.Invoice, number: deref(inv.Number), seller: inv.Seller, at: *inv.IssuedAt,
		total: l.Money(inv.TotalGross, inv.Currency), test: inv.Mode == domain.ModeTest}, addr, d.Bytes)
	if err := s.send(ctx, m); err != nil {
		return nil, err
	}
	out := &Sent{InvoiceID: inv.ID, To: addr, Number: deref(inv.Number), SHA256: d.SHA256}
	if err := s.store.Audit(ctx, actor, "invoice.send", "invoice", inv.ID, map[string]any{"to": addr, "number": out.Number, "sha256": d.SHA256}); err != nil {
		s.log.ErrorContext(ctx, "invoice sent, audit not written", "invoice", inv.ID, "error", err)
	}
	return out, nil
}

// recipient is the address to send to: given, else the client's; a clear INVALID otherwise.
func recipient(given, client string) (string, error) {
	to := strings.TrimSpace(given)
	if to == "" {
		to = strings.TrimSpace(client)
	}
	if to == "" {
		return "", domain.Invalid("to", "the client has no e-mail address: give the address to send to")
	}
	a, err := netmail.ParseAddress(to)
	if err != nil || strings.ContainsAny(a.Address, "\r\n") {
		return "", domain.Invalid("to", "%q is not an e-mail address", to)
	}
	return a.Address, nil
}

func mailDisabled() error {
	return domain.Unavailable(CodeMailDisabled, nil, "e-mail is not configured on this server (SMTP_URL and MAIL_FROM): the document cannot be sent; download its PDF instead")
}

// docMail is what a document's e-mail names.
type docMail struct {
	kind   document.Kind
	number string
	seller domain.Party
	at     time.Time
	total  string
	test   bool
}

// mailOf writes a document's e-mail in l, with its PDF attached.
func mailOf(l *document.Locale, d docMail, to string, pdf []byte) Mail {
	name := firstOf(d.seller.Company, d.seller.Name)
	m := Mail{To: to, Subject: l.T("mail_subject_"+string(d.kind), "number", d.number, "seller", name),
		Text:        l.T("mail_body_"+string(d.kind), "number", d.number, "date", l.Date(d.at), "total", d.total, "seller", name) + "\n",
		Attachments: []Attachment{{Name: l.FileName(d.kind, d.number), ContentType: ContentTypePDF, Data: pdf}}}
	if d.test {
		m.Subject = "[TEST] " + m.Subject
	}
	return m
}

// send hands m to the mailer: its domain errors (MAIL_DISABLED) as they are, anything else a
// clear 503.
func (s *Service) send(ctx context.Context, m Mail) error {
	err := s.mailer.Send(ctx, m)
	var de *domain.Error
	if err == nil || errors.As(err, &de) {
		return err
	}
	return domain.Unavailable(CodeMailFailed, err, "the mail server did not take the message; try again later")
}
