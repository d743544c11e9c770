package invoice

import (
	"context"
	"strings"

	"paygate.dev/pkg/domain"
)

// clientOf checks that a draft's clientId names one of the organisation's clients in the
// invoice's mode (422 CLIENT_NOT_FOUND otherwise, as a checkout's clientId) and, when fill is
// set (no client block was given), takes the invoice's client block from that client. An empty
// clientId unlinks the draft.
func clientOf(ctx context.Context, tx Store, orgID string, inv *domain.Invoice, fill bool) error {
	if inv.ClientID == nil {
		return nil
	}
	id := strings.TrimSpace(*inv.ClientID)
	if id == "" {
		inv.ClientID = nil
		return nil
	}
	c, err := tx.GetClient(ctx, orgID, id)
	if err != nil && !domain.IsNotFound(err) {
		return err
	}
	if err != nil || c.Mode != inv.Mode {
		e := domain.Unprocessable(domain.CodeClientNotFound, "clientId %s is not a client of this organisation in %s mode", id, inv.Mode)
		e.Field = "clientId"
		return e
	}
	inv.ClientID = &c.ID
	if fill {
		inv.Client = clientParty(c)
		return inv.Client.Validate("client")
	}
	return nil
}

// clientParty is a client's block on an invoice: its name, company, e-mail, billing address
// and VAT id.
func clientParty(c *domain.Client) domain.Party {
	p := domain.Party{Name: c.Name, Company: c.Company, Email: c.Email, VATID: c.VATID}
	if a := c.BillingAddress; a != nil {
		p.Line1, p.Line2, p.City, p.PostalCode, p.Country = a.Address1, a.Address2, a.City, a.Postcode, a.Country
		p.Name = firstOf(p.Name, a.FullName())
		p.Company = firstOf(p.Company, a.Company)
		p.VATID = firstOf(p.VATID, a.VATID)
	}
	return p
}

// paymentClient is the client of a checkout payment's buyer: the one the checkout linked, else
// the organisation's client of the payment's mode with the buyer's e-mail (nil: none).
func paymentClient(ctx context.Context, tx Store, chk *domain.Checkout, txn *domain.Transaction, email string) (*string, error) {
	if chk.LinkedClientID != nil && *chk.LinkedClientID != "" {
		return chk.LinkedClientID, nil
	}
	if email == "" {
		return nil, nil
	}
	c, err := tx.FindClientByEmail(ctx, txn.OrganizationID, txn.Mode, email)
	if err != nil || c == nil {
		return nil, err
	}
	return &c.ID, nil
}
