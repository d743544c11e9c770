package invoice

import (
	"context"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
)

// PaymentLinkInput asks for a payment link: Amount is the part to pay (nil: everything still
// outstanding); SiteID the site whose hosted page takes the payment (nil: the invoice's).
type PaymentLinkInput struct {
	Amount *int64
	SiteID *string
}

// PaymentLink creates a checkout that pays an issued invoice's outstanding amount, or a part
// of it no smaller than the organisation's minimum (unless that is all that is left), and
// records the link (invoice:update, audited); the checkout's successful payment settles the
// invoice (Hook). co must act in the same database transaction as the service's store (the
// caller binds both to one). Refusals: INVOICE_NOT_ISSUED for a draft, INVOICE_SETTLED when
// nothing is outstanding, VALIDATION_ERROR for a part out of range or no site.
func (s *Service) PaymentLink(ctx context.Context, actor domain.Actor, orgID, id string, in PaymentLinkInput, co Checkouts) (*domain.Checkout, error) {
	if err := allowed(actor, orgID, "update"); err != nil {
		return nil, err
	}
	var out *domain.Checkout
	err := s.store.InTx(ctx, func(tx Store) error {
		inv, err := s.lockVisible(ctx, tx, actor, orgID, id)
		if err != nil {
			return err
		}
		amount, siteID, err := s.linkAmount(ctx, tx, inv, in)
		if err != nil {
			return err
		}
		c, err := co.CreateCheckout(ctx, actor, orgID, siteID, checkout.CheckoutInput{Amount: amount, Currency: inv.Currency, Email: inv.Client.Email,
			ExternalReference: deref(inv.Number), InvoiceNumber: deref(inv.Number), Language: inv.Language, Mode: inv.Mode,
			Items: []checkout.ItemInput{{Name: "Invoice " + deref(inv.Number), Quantity: 1, UnitPrice: amount, ItemType: string(domain.ItemGoods), VATRate: zeroRate()}}})
		if err != nil {
			return err
		}
		if err := tx.CreatePaymentLink(ctx, &domain.InvoicePaymentLink{CheckoutID: c.ID, OrganizationID: orgID, InvoiceID: inv.ID, Amount: amount}); err != nil {
			return err
		}
		out = c
		return tx.Audit(ctx, actor, "invoice.payment_link", "invoice", inv.ID, map[string]any{"checkout_id": c.ID, "amount": amount})
	})
	return out, err
}

// linkAmount checks a payment link's request against the invoice and returns its amount and site.
func (s *Service) linkAmount(ctx context.Context, tx Store, inv *domain.Invoice, in PaymentLinkInput) (int64, string, error) {
	if inv.Status != domain.InvoiceIssued {
		return 0, "", domain.Conflict(domain.CodeInvoiceNotIssued, "only an issued invoice can be paid: issue it first")
	}
	v, err := s.view(ctx, tx, inv)
	if err != nil {
		return 0, "", err
	}
	due := v.Balance.Outstanding
	if due <= 0 {
		return 0, "", domain.Conflict(domain.CodeInvoiceSettled, "nothing is outstanding on the invoice")
	}
	set, err := tx.GetInvoiceSettings(ctx, inv.OrganizationID)
	if err != nil {
		return 0, "", err
	}
	amount := due
	if in.Amount != nil {
		amount = *in.Amount
		minimum := min(set.PaymentLinkMinimum, due)
		if amount < minimum || amount > due {
			return 0, "", domain.Invalid("amount", "a payment link asks for %d to %d (minor units): the minimum part up to what is outstanding", minimum, due)
		}
	}
	siteID := in.SiteID
	if siteID == nil {
		siteID = inv.SiteID
	}
	if siteID == nil || *siteID == "" {
		return 0, "", domain.Invalid("siteId", "name the site whose payment page takes the payment (the invoice has none)")
	}
	return amount, *siteID, nil
}

// zeroRate: the link's line is a payment towards an invoice whose tax is on the invoice, not
// a new supply; 0 keeps the checkout's amount exactly the part asked for.
func zeroRate() *int64 {
	var r int64
	return &r
}
