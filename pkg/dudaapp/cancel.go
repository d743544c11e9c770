package dudaapp

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	dudauc "paygate.dev/pkg/integration/duda"
)

// cancel is the shopper leaving the payment page by its cancel link: the checkout is cancelled
// unless money is taken or on its way, Duda hears of it, and the shopper goes back to the store.
func (a *App) cancel(c echo.Context) error {
	to, err := a.uc.CancelByShopper(c.Request().Context(), c.Param("connectionId"), c.Param("checkoutId"), c.Param("token"))
	if errors.Is(err, dudauc.ErrUnknownLink) {
		return page(c, http.StatusNotFound, "Order not found", "This link is not known here.", "", "", false)
	}
	if err != nil {
		return err
	}
	if to != "" {
		return redirect(c, to)
	}
	return page(c, http.StatusOK, "Payment cancelled", "No money was taken. You may close this page and return to the store.", "", "", false)
}
