package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/tax"
)

type itemIn struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Quantity    *int64          `json:"quantity"`
	UnitPrice   *int64          `json:"unitPrice"`
	VATRate     json.RawMessage `json:"vatRate"`
	ItemType    string          `json:"itemType"`
}

// CheckoutRequest is the body of POST /checkouts/{siteId}/create (API-CONTRACT.md section 3).
type CheckoutRequest struct {
	Amount            *int64          `json:"amount"`
	Currency          string          `json:"currency"`
	Email             string          `json:"email"`
	ExternalReference string          `json:"externalReference"`
	InvoiceNumber     string          `json:"invoiceNumber"`
	ReturnURL         string          `json:"returnUrl"`
	CancelURL         string          `json:"cancelUrl"`
	IPNURL            string          `json:"ipnUrl"`
	ClientID          string          `json:"clientId"`
	BillingAddress    *domain.Address `json:"billingAddress"`
	ShippingAddress   *domain.Address `json:"shippingAddress"`
	Items             []itemIn        `json:"items"`
	Language          string          `json:"language"`
	Metadata          map[string]any  `json:"metadata"`
	ExpiresInMinutes  *int            `json:"expiresInMinutes"`
	Mode              string          `json:"mode"` // dashboard sessions only; API keys use their own mode
}

// Input converts the request into the platform's input, reporting missing required numbers.
func (in *CheckoutRequest) Input() (checkout.CheckoutInput, error) {
	if in.Amount == nil {
		return checkout.CheckoutInput{}, domain.Invalid("amount", "amount is required (an integer in minor units)")
	}
	if in.Currency == "" {
		return checkout.CheckoutInput{}, domain.Invalid("currency", "currency is required (ISO 4217, e.g. EUR)")
	}
	out := checkout.CheckoutInput{
		Amount: *in.Amount, Currency: in.Currency, Email: in.Email, ExternalReference: in.ExternalReference, InvoiceNumber: in.InvoiceNumber,
		ReturnURL: in.ReturnURL, CancelURL: in.CancelURL, IPNURL: in.IPNURL, ClientID: in.ClientID, BillingAddress: in.BillingAddress,
		ShippingAddress: in.ShippingAddress, Language: in.Language, Metadata: in.Metadata, ExpiresInMinutes: in.ExpiresInMinutes,
		Mode: domain.Mode(in.Mode), Origin: domain.OriginAPI,
	}
	for i, it := range in.Items {
		if it.UnitPrice == nil {
			return checkout.CheckoutInput{}, domain.Invalid("items", "items[%d].unitPrice is required (an integer in minor units)", i)
		}
		q := int64(1)
		if it.Quantity != nil {
			q = *it.Quantity
		}
		ii := checkout.ItemInput{Name: it.Name, Description: it.Description, Quantity: q, UnitPrice: *it.UnitPrice, ItemType: it.ItemType}
		if len(it.VATRate) > 0 && string(it.VATRate) != "null" {
			var rate tax.Rate
			if err := rate.UnmarshalJSON(it.VATRate); err != nil {
				return checkout.CheckoutInput{}, domain.Invalid(fmt.Sprintf("items[%d].vatRate", i), "items[%d].vatRate must be a percentage from 0 to 100 with at most 2 decimals", i)
			}
			r := int64(rate)
			ii.VATRate = &r
		}
		out.Items = append(out.Items, ii)
	}
	return out, nil
}

func (a *API) createCheckout(c echo.Context, r *Request) (int, any, error) {
	var in CheckoutRequest
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	input, err := in.Input()
	if err != nil {
		return 0, nil, err
	}
	if r.Actor.Type == domain.ActorUser {
		input.Origin = domain.OriginDashboard
	}
	ctx := c.Request().Context()
	ch, err := r.Checkout.PrepareCheckout(ctx, r.Actor, r.Org, c.Param("siteId"), input)
	if err != nil {
		return 0, nil, err
	}
	// The answer is rendered from the prepared checkout and written with it (one statement),
	// so a retry with the same key gets exactly these bytes. Fresh codes (taken, about 2^-71)
	// change the answer: render it again.
	for attempt := 0; ; attempt++ {
		body, err := marshal(newCheckoutView(ch, r.Tenancy.Hosts(), a.d.Now()))
		if err != nil {
			return 0, nil, domain.Internal(err, "encode response")
		}
		if r.Claim != nil {
			r.Claim.Status, r.Claim.Body = http.StatusOK, body
		}
		err = r.Checkout.SaveCheckout(ctx, r.Actor, ch, r.Claim)
		if errors.Is(err, checkout.ErrCheckoutCodesTaken) && attempt < 2 {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		// Plugins check for exactly 200.
		return http.StatusOK, rawJSON(body), nil
	}
}

func (a *API) listCheckouts(c echo.Context, r *Request) (int, any, error) {
	limit, err := limitParam(c)
	if err != nil {
		return 0, nil, err
	}
	after, before, err := cursorsParam(c, domain.PrefixCheckout)
	if err != nil {
		return 0, nil, err
	}
	from, err := timeParam(c, "createdFrom")
	if err != nil {
		return 0, nil, err
	}
	to, err := timeParam(c, "createdTo")
	if err != nil {
		return 0, nil, err
	}
	f := domain.CheckoutFilter{OrganizationID: r.Org, SiteID: c.QueryParam("siteId"), Status: domain.CheckoutStatus(c.QueryParam("status")),
		Mode: domain.Mode(c.QueryParam("mode")), ExternalReference: c.QueryParam("externalReference"), Search: c.QueryParam("q"),
		CreatedFrom: from, CreatedTo: to, After: after, Before: before, Limit: limit}
	list, more, err := r.Checkout.ListCheckouts(c.Request().Context(), r.Actor, f)
	if err != nil {
		return 0, nil, err
	}
	now := a.d.Now()
	return http.StatusOK, keysetPageOf(list, more, after, before, func(ch *domain.Checkout) (*checkoutView, string) {
		return newCheckoutView(ch, r.Tenancy.Hosts(), now), ch.ID
	}), nil
}

func (a *API) getCheckout(c echo.Context, r *Request) (int, any, error) {
	d, err := r.Checkout.GetCheckout(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	v := newCheckoutView(d.Checkout, r.Tenancy.Hosts(), a.d.Now())
	for i := range d.Transactions {
		v.Transactions = append(v.Transactions, newTransactionView(&d.Transactions[i], false))
	}
	return http.StatusOK, v, nil
}

type updateCheckoutIn struct {
	Metadata         map[string]any `json:"metadata"`
	ExpiresInMinutes *int           `json:"expiresInMinutes"`
}

func (a *API) updateCheckout(c echo.Context, r *Request) (int, any, error) {
	var in updateCheckoutIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ch, err := r.Checkout.UpdateCheckout(c.Request().Context(), r.Actor, r.Org, c.Param("id"), in.Metadata, in.ExpiresInMinutes)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newCheckoutView(ch, r.Tenancy.Hosts(), a.d.Now()), nil
}

func (a *API) expireCheckout(c echo.Context, r *Request) (int, any, error) {
	ch, err := r.Checkout.ExpireCheckout(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newCheckoutView(ch, r.Tenancy.Hosts(), a.d.Now()), nil
}

func (a *API) listTransactions(c echo.Context, r *Request) (int, any, error) {
	limit, err := limitParam(c)
	if err != nil {
		return 0, nil, err
	}
	after, before, err := cursorsParam(c, domain.PrefixTransaction)
	if err != nil {
		return 0, nil, err
	}
	from, err := timeParam(c, "createdFrom")
	if err != nil {
		return 0, nil, err
	}
	to, err := timeParam(c, "createdTo")
	if err != nil {
		return 0, nil, err
	}
	f := domain.TransactionFilter{OrganizationID: r.Org, SiteID: c.QueryParam("siteId"), CheckoutID: c.QueryParam("checkoutId"),
		ProviderID: c.QueryParam("providerId"), Status: domain.TransactionStatus(c.QueryParam("status")), Mode: domain.Mode(c.QueryParam("mode")),
		Search: c.QueryParam("q"), Email: c.QueryParam("email"), CreatedFrom: from, CreatedTo: to, After: after, Before: before, Limit: limit}
	list, more, err := r.Payment.ListTransactions(c.Request().Context(), r.Actor, f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, keysetPageOf(list, more, after, before, func(t *domain.Transaction) (*transactionView, string) {
		return newTransactionView(t, false), t.ID
	}), nil
}

func (a *API) getTransaction(c echo.Context, r *Request) (int, any, error) {
	d, err := r.Payment.GetTransaction(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newTransactionDetailView(d), nil
}

func newTransactionDetailView(d *payment.TransactionDetail) *transactionView {
	v := newTransactionView(d.Transaction, true)
	for i := range d.Refunds {
		v.Refunds = append(v.Refunds, newRefundView(&d.Refunds[i]))
	}
	for i := range d.Events {
		v.Timeline = append(v.Timeline, newEventView(&d.Events[i]))
	}
	return v
}

type markPaidIn struct {
	Note string `json:"note"`
}

// markPaid confirms that a wire transfer arrived.
func (a *API) markPaid(c echo.Context, r *Request) (int, any, error) {
	var in markPaidIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ctx := c.Request().Context()
	if _, err := r.Payment.MarkPaid(ctx, r.Actor, r.Org, c.Param("id"), in.Note); err != nil {
		return 0, nil, err
	}
	d, err := r.Payment.GetTransaction(ctx, r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, newTransactionDetailView(d), nil
}

type refundIn struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

// createRefund refunds all or part of a transaction through its provider.
func (a *API) createRefund(c echo.Context, r *Request) (int, any, error) {
	var in refundIn
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return 0, nil, err
	}
	ref, err := r.Payment.Refund(c.Request().Context(), r.Actor, r.Org, c.Param("id"), payment.RefundInput{Amount: in.Amount, Reason: in.Reason})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, newRefundView(ref), nil
}

func (a *API) listRefunds(c echo.Context, r *Request) (int, any, error) {
	list, err := r.Payment.ListRefunds(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listOf(list, newRefundView), nil
}
