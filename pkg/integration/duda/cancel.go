package duda

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
)

// shopperCancelled is the failure Duda hears when the shopper cancelled on the payment page.
var shopperCancelled = dudaapi.ConfirmError{Code: "shopper_cancelled", Message: "The shopper cancelled the payment on the payment page and returned to the domain."}

// cancelToken is the capability in a checkout's cancel link: an HMAC of the connection and
// checkout ids under a key derived from the app secret.
func cancelToken(appSecret, connectionID, checkoutID string) string {
	k := hmac.New(sha256.New, []byte(appSecret))
	k.Write([]byte("paygate/duda/cancel-link/v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(connectionID + "\x00" + checkoutID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cancelURL is the checkout origin's cancel-link rule: the hosted page's cancel link goes
// through cancel/{checkoutId}/{token}, which tells Duda before the shopper is back in the cart.
func (uc *Service) cancelURL(ctx context.Context, c *domain.Checkout) (string, error) {
	sess, err := uc.store.GetDudaSession(ctx, c.ID)
	if err != nil {
		return "", err
	}
	app, err := uc.connection(ctx, sess.ConnectionID)
	if err != nil {
		return "", err
	}
	return uc.BaseURL(app.Connection.ID) + "/cancel/" + url.PathEscape(c.ID) + "/" + cancelToken(app.Credentials.AppSecret, app.Connection.ID, c.ID), nil
}

// CancelByShopper is the shopper leaving the payment page by its cancel link (token is the
// link's). The checkout is cancelled (with the attempts the shopper may still abandon) unless
// money is taken or on its way; Duda hears FAILED with the reason at once, so its order does not
// hang (the job retries if Duda cannot be reached). It says where the shopper goes back to: the
// session's cancel_url, else Duda's return URL, else "" (nowhere known). ErrUnknownLink when the
// link is not one of ours.
func (uc *Service) CancelByShopper(ctx context.Context, connectionID, checkoutID, token string) (string, error) {
	app, err := uc.connection(ctx, connectionID)
	if err != nil && !domain.IsNotFound(err) {
		return "", err
	}
	if err != nil || !hmac.Equal([]byte(token), []byte(cancelToken(app.Credentials.AppSecret, app.Connection.ID, checkoutID))) {
		return "", ErrUnknownLink
	}
	sess, err := uc.store.GetDudaSession(ctx, checkoutID)
	if err != nil || sess.ConnectionID != app.Connection.ID {
		if err != nil && !domain.IsNotFound(err) {
			return "", err
		}
		return "", ErrUnknownLink
	}
	co, err := uc.store.GetCheckout(ctx, sess.OrganizationID, checkoutID)
	if err != nil {
		return "", err
	}
	if co.Status == domain.CheckoutOpen {
		if err := uc.cancelByShopper(ctx, co); err != nil {
			uc.log.WarnContext(ctx, "a Duda checkout was not cancelled on the shopper's request", "checkout_id", co.ID, "error", err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, ReturnCallTimeout)
	confirmed, err := uc.Confirm(cctx, checkoutID)
	cancel()
	if err != nil {
		uc.log.WarnContext(ctx, "confirming the shopper's cancel failed; the job keeps trying", "checkout_id", checkoutID, "error", err)
	} else {
		sess = confirmed
	}
	for _, u := range []string{httpURL(co.CancelURL), sess.ReturnURL} {
		if u != "" {
			return u, nil
		}
	}
	return "", nil
}

// cancelByShopper ends an open checkout for the shopper: its attempts the shopper may still
// abandon are cancelled first; one with money taken or on its way leaves the checkout open.
func (uc *Service) cancelByShopper(ctx context.Context, co *domain.Checkout) error {
	txns, err := uc.store.ListCheckoutTransactions(ctx, co.OrganizationID, co.ID)
	if err != nil {
		return err
	}
	for _, t := range txns {
		if t.Status.Paid() || t.Status == domain.TxnRefunded {
			return domain.Conflict(domain.CodeInvalidState, "the checkout is paid")
		}
		if t.Status.Open() {
			if _, err := uc.payments.CancelByBuyer(ctx, t.ID); err != nil {
				return err // money on its way: the outcome follows the payment
			}
		}
	}
	return uc.store.CancelDudaCheckoutByShopper(ctx, co.OrganizationID, co.ID)
}
