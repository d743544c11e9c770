package dudaapp

import (
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/duda"
	dudauc "paygate.dev/pkg/integration/duda"
)

// refundStatus is the HTTP status of each refund outcome.
var refundStatus = map[dudauc.RefundOutcome]int{
	dudauc.RefundRecorded:           http.StatusOK,
	dudauc.RefundBadSignature:       http.StatusUnauthorized,
	dudauc.RefundUnknownTransaction: http.StatusNotFound,
	dudauc.RefundMalformed:          http.StatusBadRequest,
	dudauc.RefundRejected:           http.StatusUnprocessableEntity,
	dudauc.RefundConflict:           http.StatusConflict,
	dudauc.RefundNotYet:             http.StatusServiceUnavailable,
}

// refund receives Duda's POST to a transaction's links.refunds: the link (its token) is the
// credential; the notification is kept raw and carried out by the use case, answered 200 only
// once the refund is recorded.
func (a *App) refund(c echo.Context) error {
	ctx := c.Request().Context()
	link, err := a.uc.OpenRefundLink(ctx, c.Param("connectionId"), c.Param("transactionId"), c.Param("token"))
	if errors.Is(err, dudauc.ErrUnknownLink) {
		a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
		return answer(c, http.StatusNotFound, errorBody("unknown refunds link"))
	}
	if err != nil {
		return err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return answer(c, http.StatusRequestEntityTooLarge, errorBody("body too large"))
	}
	h := c.Request().Header
	res, err := a.uc.Refund(ctx, link, dudauc.RefundDelivery{Timestamp: h.Get(duda.HeaderSignatureTimestamp), Signature: h.Get(duda.HeaderSignature), Body: body})
	if err != nil {
		return err
	}
	switch res.Outcome {
	case dudauc.RefundBadSignature:
		a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
		return answer(c, http.StatusUnauthorized, errorBody("invalid signature"))
	case dudauc.RefundUnknownTransaction:
		return answer(c, http.StatusNotFound, errorBody("unknown transaction"))
	}
	return answer(c, refundStatus[res.Outcome], res.Answer)
}
