package dudaapp

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	dudauc "paygate.dev/pkg/integration/duda"
)

// arrive takes the shopper who chose one of our buttons at Duda's checkout: the payment session
// becomes a checkout (at most one per session: a replayed arrival goes to the same checkout)
// and the shopper goes on to the hosted page.
func (a *App) arrive(c echo.Context) error {
	q := arrivalQuery(c.Request().URL.RawQuery)
	sessionID, siteName := strings.TrimSpace(q.Get("session_id")), strings.TrimSpace(q.Get("site_name"))
	if sessionID == "" || siteName == "" || len(sessionID) > 255 || len(siteName) > 255 {
		return page(c, http.StatusBadRequest, "Payment not found", "This link is incomplete. Please return to the store and try again.", "", "", false)
	}
	shortCode, err := a.uc.Arrive(c.Request().Context(), c.Param("connectionId"), sessionID, siteName)
	var r *dudauc.ArrivalRefusal
	if errors.As(err, &r) {
		return arrivalRefused(c, r)
	}
	if err != nil {
		return err
	}
	return redirect(c, a.paymentURL(q, shortCode))
}

// arrivalRefused is the page of an arrival that does not go on to a checkout.
func arrivalRefused(c echo.Context, r *dudauc.ArrivalRefusal) error {
	switch r.Reason {
	case dudauc.ArrivalDisabled:
		return page(c, http.StatusForbidden, "Payment not available", "Payments for this store are not available at the moment. Please return to the store.", "", "", false)
	case dudauc.ArrivalSiteNotConnected:
		return page(c, http.StatusNotFound, "Payment not found", "This store is not connected for payments here.", "", "", false)
	case dudauc.ArrivalSessionUnknown:
		return page(c, http.StatusNotFound, "Payment not found", "The store does not know this payment. Please return to the store and try again.", "", "", false)
	case dudauc.ArrivalDudaUnreachable:
		return page(c, http.StatusBadGateway, "Store not reachable", "We could not reach the store to load your order. Please try again in a moment.", c.Request().URL.RequestURI(), "Try again", false)
	case dudauc.ArrivalOtherSession:
		return page(c, http.StatusBadGateway, "Payment not found", "The store answered with another order. Please return to the store and try again.", "", "", false)
	case dudauc.ArrivalNotPayable:
		return page(c, http.StatusUnprocessableEntity, "Payment not possible", "This order cannot be paid here. Please return to the store and choose another way to pay.",
			r.CancelURL, "Back to the store", false)
	}
	return page(c, http.StatusNotFound, "Payment not found", "This payment link is not known here.", "", "", false)
}

// arrivalQuery reads the arrival's parameters. Duda appends "?session_id=…&site_name=…" to the
// checkout_url literally, even though ours already has a query (?provider=…), so the shopper
// may arrive at …/checkout?provider=prov_1?session_id=…&site_name=…: a "?" inside the query
// separates parameters as "&" does (none of the values holds one unescaped).
func arrivalQuery(raw string) url.Values {
	v, _ := url.ParseQuery(strings.ReplaceAll(raw, "?", "&")) // what parses is kept
	return v
}

// paymentURL is the hosted page of a checkout, told which of our payment methods the shopper
// picked at the store (?provider=, from the method's checkout URL) so that it comes first.
func (a *App) paymentURL(q url.Values, shortCode string) string {
	u := a.uc.PaymentURL(shortCode)
	if p := q.Get("provider"); providerIDRE.MatchString(p) {
		u += "?provider=" + url.QueryEscape(p)
	}
	return u
}

// providerIDRE is what a provider id in ?provider= can look like.
var providerIDRE = regexp.MustCompile(`^` + domain.PrefixProvider + `_[A-Za-z0-9]{1,64}$`)
