package adminapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/ipn"
)

// IPNRoutes are the notification endpoints: every attempt of a transaction, its
// notifications, and a manual resend of the latest one.
func IPNRoutes(n *ipn.Notifier) []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/transactions/:id/ipn-attempts", Perm: "ipn:read", Object: transactionID, Handler: func(c echo.Context, r *Request) (int, any, error) {
			list, err := n.ListAttempts(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			if list == nil {
				list = []ipn.Attempt{}
			}
			return http.StatusOK, listView[ipn.Attempt]{Data: list}, nil
		}},
		{Method: http.MethodGet, Path: "/transactions/:id/ipn-deliveries", Perm: "ipn:read", Object: transactionID, Handler: func(c echo.Context, r *Request) (int, any, error) {
			list, err := n.ListDeliveries(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			if list == nil {
				list = []ipn.Delivery{}
			}
			return http.StatusOK, listView[ipn.Delivery]{Data: list}, nil
		}},
		{Method: http.MethodPost, Path: "/transactions/:id/ipn/resend", Perm: "ipn:execute", Object: transactionID, Idem: idempotency.External, Handler: func(c echo.Context, r *Request) (int, any, error) {
			d, err := n.Resend(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, d, nil
		}},
		// An invoice's events as sent to its site's events URL (keyed by the invoice's id): the
		// same views and resend, for an invoice of the key's mode. An invoice that sent no event
		// lists none.
		{Method: http.MethodGet, Path: "/invoices/:id/event-deliveries", Perm: "ipn:read", Object: invoiceID, Handler: func(c echo.Context, r *Request) (int, any, error) {
			list, err := n.ListDeliveries(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil && !domain.IsNotFound(err) {
				return 0, nil, err
			}
			if list == nil {
				list = []ipn.Delivery{}
			}
			return http.StatusOK, listView[ipn.Delivery]{Data: list}, nil
		}},
		{Method: http.MethodGet, Path: "/invoices/:id/event-attempts", Perm: "ipn:read", Object: invoiceID, Handler: func(c echo.Context, r *Request) (int, any, error) {
			list, err := n.ListAttempts(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil && !domain.IsNotFound(err) {
				return 0, nil, err
			}
			if list == nil {
				list = []ipn.Attempt{}
			}
			return http.StatusOK, listView[ipn.Attempt]{Data: list}, nil
		}},
		{Method: http.MethodPost, Path: "/invoices/:id/events/resend", Perm: "ipn:execute", Object: invoiceID, Idem: idempotency.External, Handler: func(c echo.Context, r *Request) (int, any, error) {
			d, err := n.Resend(c.Request().Context(), r.Actor, r.Org, c.Param("id"))
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, d, nil
		}},
	}
}
