package dudaapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
)

// shopperCancelled is the failure Duda hears when the shopper cancelled on the payment page.
var shopperCancelled = duda.ConfirmError{Code: "shopper_cancelled", Message: "The shopper cancelled the payment on the payment page and returned to the store."}

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
func (a *App) cancelURL(ctx context.Context, c *domain.Checkout) (string, error) {
	sess, err := a.store.GetDudaSession(ctx, c.ID)
	if err != nil {
		return "", err
	}
	app, err := a.connection(ctx, sess.ConnectionID)
	if err != nil {
		return "", err
	}
	return a.base(app.Connection.ID) + "/cancel/" + url.PathEscape(c.ID) + "/" + cancelToken(app.Credentials.AppSecret, app.Connection.ID, c.ID), nil
}

// cancel is the shopper leaving the payment page by its cancel link. The checkout is cancelled
// (with the attempts the shopper may still abandon) unless money is taken or on its way; Duda
// hears FAILED with the reason at once, so its order does not hang (the job retries if Duda
// cannot be reached), and the shopper goes back to the session's cancel_url.
func (a *App) cancel(c echo.Context) error {
	ctx := c.Request().Context()
	app, err := a.connection(ctx, c.Param("connectionId"))
	if err != nil && !domain.IsNotFound(err) {
		return err
	}
	checkoutID := c.Param("checkoutId")
	if err != nil || !hmac.Equal([]byte(c.Param("token")), []byte(cancelToken(app.Credentials.AppSecret, app.Connection.ID, checkoutID))) {
		return page(c, http.StatusNotFound, "Order not found", "This link is not known here.", "", "", false)
	}
	sess, err := a.store.GetDudaSession(ctx, checkoutID)
	if err != nil || sess.ConnectionID != app.Connection.ID {
		if err != nil && !domain.IsNotFound(err) {
			return err
		}
		return page(c, http.StatusNotFound, "Order not found", "This link is not known here.", "", "", false)
	}
	co, err := a.store.GetCheckout(ctx, sess.OrganizationID, checkoutID)
	if err != nil {
		return err
	}
	if co.Status == domain.CheckoutOpen {
		if err := a.cancelByShopper(ctx, co); err != nil {
			a.log.WarnContext(ctx, "a Duda checkout was not cancelled on the shopper's request", "checkout_id", co.ID, "error", err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, returnCallTimeout)
	confirmed, err := a.Confirm(cctx, checkoutID)
	cancel()
	if err != nil {
		a.log.WarnContext(ctx, "confirming the shopper's cancel failed; the job keeps trying", "checkout_id", checkoutID, "error", err)
	} else {
		sess = confirmed
	}
	for _, u := range []string{httpURL(co.CancelURL), sess.ReturnURL} {
		if u != "" {
			return redirect(c, u)
		}
	}
	return page(c, http.StatusOK, "Payment cancelled", "No money was taken. You may close this page and return to the store.", "", "", false)
}

// cancelByShopper ends an open checkout for the shopper: its attempts the shopper may still
// abandon are cancelled first; one with money taken or on its way leaves the checkout open.
func (a *App) cancelByShopper(ctx context.Context, co *domain.Checkout) error {
	txns, err := a.store.ListCheckoutTransactions(ctx, co.OrganizationID, co.ID)
	if err != nil {
		return err
	}
	for _, t := range txns {
		if t.Status.Paid() || t.Status == domain.TxnRefunded {
			return domain.Conflict(domain.CodeInvalidState, "the checkout is paid")
		}
		if t.Status.Open() {
			if _, err := a.svc.CancelByBuyer(ctx, t.ID); err != nil {
				return err // money on its way: the outcome follows the payment
			}
		}
	}
	return a.store.CancelDudaCheckoutByShopper(ctx, co.OrganizationID, co.ID)
}
