package dudaapp

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	dudauc "paygate.dev/pkg/integration/duda"
)

// returnToStore is the trampoline: once the outcome is confirmed (a confirmation in flight
// waited for, or made), the shopper goes to Duda's return URL. While Duda cannot be reached,
// the page tries again by itself.
func (a *App) returnToStore(c echo.Context) error {
	to, err := a.uc.ReturnToStore(c.Request().Context(), c.Param("connectionId"), c.Param("checkoutId"))
	if errors.Is(err, dudauc.ErrUnknownLink) {
		return page(c, http.StatusNotFound, "Order not found", "This link is not known here.", "", "", false)
	}
	if err != nil {
		return err
	}
	if to != "" {
		return redirect(c, to)
	}
	return page(c, http.StatusOK, "Returning to the store", "We are letting the store know about your payment. This page continues by itself.", "", "", true)
}
