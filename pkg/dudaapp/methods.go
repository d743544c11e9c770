package dudaapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
)

// paymentMethods answers Duda's POST at the payment step with the buttons the connected site can
// offer for the mode, currency and total (the use case's Offer), or [] when the payment cannot be
// taken (also for a mode mismatch or a body that is not a payment-methods request). It always
// answers 200 with a JSON array: Duda has nothing to do with an error but show no button.
func (a *App) paymentMethods(c echo.Context) error {
	ctx := c.Request().Context()
	methods, why := a.offer(ctx, c)
	if why != "" {
		a.log.InfoContext(ctx, "Duda payment methods: none offered", "connection_id", c.Param("connectionId"), "reason", why)
	}
	if methods == nil {
		methods = []duda.PaymentMethod{}
	}
	return answer(c, http.StatusOK, methods)
}

// offer reads the call (the mode in the URL, the body) and works out the buttons, or says why
// there are none.
func (a *App) offer(ctx context.Context, c echo.Context) ([]duda.PaymentMethod, string) {
	var mode domain.Mode
	switch strings.ToLower(c.Param("mode")) {
	case "live":
		mode = domain.ModeLive
	case "test":
		mode = domain.ModeTest
	default:
		return nil, "unknown mode in the URL"
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, "unreadable body"
	}
	var req duda.PaymentMethodsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, "body is not a payment-methods request: " + err.Error()
	}
	// The URL says the mode; a body that names the other one is refused, one that names none follows the URL.
	if m := strings.TrimSpace(string(req.Mode)); m != "" && req.Mode.IsTest() != (mode == domain.ModeTest) {
		return nil, "mode " + m + " sent to the " + string(mode) + " URL"
	}
	return a.uc.Offer(ctx, c.Param("connectionId"), mode, req)
}
