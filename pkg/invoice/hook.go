package invoice

import (
	"context"
	"strings"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
)

// Hook is the outbox consumer of a transaction's success, run in tx (the dispatcher's
// transaction, so its writes commit with the event's dispatch; a redelivered event finds them
// and does nothing):
//
//   - the payment of an invoice's payment link settles that invoice;
//   - otherwise, when the organisation invoices every checkout payment, the payment gets its
//     invoice, issued at once (numbered from the sequence in tx) and settled by the payment.
//
// A paid duplicate is not the order's payment and is never invoiced.
func (s *Service) Hook(ctx context.Context, tx Store, e domain.Event) error {
	if e.TransactionID == nil || e.Type != domain.TransactionEventType(domain.TxnSucceeded) {
		return nil
	}
	txn, err := tx.GetTransaction(ctx, e.OrganizationID, *e.TransactionID)
	if err != nil {
		return err
	}
	if txn.Duplicate {
		return nil
	}
	link, err := tx.GetPaymentLink(ctx, txn.OrganizationID, txn.CheckoutID)
	switch {
	case err == nil:
		return s.settle(ctx, tx, link.InvoiceID, txn)
	case !domain.IsNotFound(err):
		return err
	}
	set, err := tx.GetInvoiceSettings(ctx, txn.OrganizationID)
	if err != nil || !set.AutoIssue {
		return err
	}
	if _, err := tx.GetInvoiceBySourceTransaction(ctx, txn.OrganizationID, txn.ID); err == nil || !domain.IsNotFound(err) {
		return err // invoiced already (nil), or the read failed
	}
	return s.issueForPayment(ctx, tx, txn)
}

// issueForPayment issues the invoice of a successful checkout payment, in tx, and records the
// payment as its settlement. The lines and tax are the checkout's and the payment's own (the
// tax computed when the buyer paid, from its stored evidence), so the invoice says exactly
// what the buyer paid.
func (s *Service) issueForPayment(ctx context.Context, tx Store, txn *domain.Transaction) error {
	chk, err := tx.GetCheckout(ctx, txn.OrganizationID, txn.CheckoutID)
	if err != nil {
		return err
	}
	org, err := tx.GetOrganization(ctx, txn.OrganizationID)
	if err != nil {
		return err
	}
	site, err := tx.GetSite(ctx, txn.OrganizationID, chk.SiteID)
	if err != nil {
		return err
	}
	inv := &domain.Invoice{OrganizationID: org.ID, SiteID: &site.ID, Mode: txn.Mode, Status: domain.InvoiceDraft, Currency: txn.Currency,
		Language: firstOf(txn.Language, chk.Language, site.DefaultLanguage, "en"), Client: buyer(txn, chk),
		SourceTransactionID: &txn.ID, SourceCheckoutID: &chk.ID, CreatedBy: "system"}
	if inv.ClientID, err = paymentClient(ctx, tx, chk, txn, inv.Client.Email); err != nil {
		return err
	}
	for _, it := range chk.Items {
		inv.Lines = append(inv.Lines, domain.InvoiceLine{Description: firstOf(it.Name, it.Description, "Item"), Quantity: it.Quantity,
			UnitPrice: it.UnitPrice, ItemType: it.ItemType, VATRate: it.VATRate})
	}
	if len(inv.Lines) == 0 {
		inv.Lines = []domain.InvoiceLine{{Description: firstOf(chk.ExternalReference, "Payment"), Quantity: 1, UnitPrice: chk.Amount, ItemType: domain.ItemGoods}}
	}
	if res, ok := payment.TransactionTax(chk, txn); ok {
		applyTax(inv, res)
	} else if err := computeTax(ctx, org, inv, s.now()); err != nil {
		return err
	}
	if err := s.number(ctx, tx, org, inv); err != nil {
		return err
	}
	inv.Status = domain.InvoiceIssued
	if err := tx.CreateInvoice(ctx, inv); err != nil {
		return err
	}
	// Its PDF (queued: KindDocument) says what settle records next: the payment paid it.
	if err := queueDocument(ctx, tx, inv.OrganizationID, domain.DocInvoice, inv.ID); err != nil {
		return err
	}
	if err := issuedEvent(ctx, tx, inv); err != nil {
		return err
	}
	return s.settle(ctx, tx, inv.ID, txn)
}

// settle records a payment as a settlement of an invoice, once, and its invoice.paid event.
func (s *Service) settle(ctx context.Context, tx Store, invoiceID string, txn *domain.Transaction) error {
	inv, err := tx.GetInvoice(ctx, txn.OrganizationID, invoiceID)
	if err != nil {
		return err
	}
	st := &domain.Settlement{OrganizationID: txn.OrganizationID, InvoiceID: invoiceID, TransactionID: txn.ID, Amount: txn.GrossAmount}
	created, err := tx.AddSettlement(ctx, st)
	if err != nil || !created {
		return err
	}
	return s.paidEvent(ctx, tx, inv, st)
}

// buyer is the client block of a payment's invoice: what the buyer entered when paying, else
// the checkout's billing address and e-mail.
func buyer(txn *domain.Transaction, chk *domain.Checkout) domain.Party {
	b := txn.BillingDetails
	p := domain.Party{Name: b.Name, Company: b.Company, Email: firstOf(b.Email, chk.Email), Line1: b.Line1, Line2: b.Line2, City: b.City,
		PostalCode: b.PostalCode, Country: b.Country, VATID: b.VATID}
	if a := chk.BillingAddress; a != nil && p.Country == "" {
		p.Line1, p.Line2, p.City, p.PostalCode, p.Country = a.Address1, a.Address2, a.City, a.Postcode, a.Country
		p.VATID = firstOf(p.VATID, a.VATID)
		p.Company = firstOf(p.Company, a.Company)
		if p.Name == "" {
			p.Name = strings.TrimSpace(a.FirstName + " " + a.LastName)
		}
	}
	return p
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
