package adminapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/export"
)

// ExportRoutes are the CSV exports, GET /exports/{checkouts,transactions,refunds}: the list's
// filters (the same query parameters as the lists, without cursor and limit), the whole
// selection streamed as it is read. They need export:execute and the resource's read.
func ExportRoutes(svc *export.Service) []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/exports/checkouts", Perm: "export:execute", Handler: func(c echo.Context, r *Request) (int, any, error) {
			from, to, err := createdParams(c)
			if err != nil {
				return 0, nil, err
			}
			f := domain.CheckoutFilter{OrganizationID: r.Org, SiteID: c.QueryParam("siteId"), Status: domain.CheckoutStatus(c.QueryParam("status")),
				Mode: domain.Mode(c.QueryParam("mode")), ExternalReference: c.QueryParam("externalReference"), Search: c.QueryParam("q"),
				CreatedFrom: from, CreatedTo: to}
			return streamCSV(c, export.Checkouts, func(w *csvResponse) (int, error) { return svc.Checkouts(c.Request().Context(), r.Actor, f, w) })
		}},
		{Method: http.MethodGet, Path: "/exports/transactions", Perm: "export:execute", Handler: func(c echo.Context, r *Request) (int, any, error) {
			from, to, err := createdParams(c)
			if err != nil {
				return 0, nil, err
			}
			f := domain.TransactionFilter{OrganizationID: r.Org, SiteID: c.QueryParam("siteId"), CheckoutID: c.QueryParam("checkoutId"),
				ProviderID: c.QueryParam("providerId"), Status: domain.TransactionStatus(c.QueryParam("status")), Mode: domain.Mode(c.QueryParam("mode")),
				Search: c.QueryParam("q"), Email: c.QueryParam("email"), CreatedFrom: from, CreatedTo: to}
			return streamCSV(c, export.Transactions, func(w *csvResponse) (int, error) { return svc.Transactions(c.Request().Context(), r.Actor, f, w) })
		}},
		{Method: http.MethodGet, Path: "/exports/refunds", Perm: "export:execute", Handler: func(c echo.Context, r *Request) (int, any, error) {
			from, to, err := createdParams(c)
			if err != nil {
				return 0, nil, err
			}
			f := domain.RefundFilter{OrganizationID: r.Org, TransactionID: c.QueryParam("transactionId"), SiteID: c.QueryParam("siteId"),
				ProviderID: c.QueryParam("providerId"), Mode: domain.Mode(c.QueryParam("mode")), Status: domain.RefundStatus(c.QueryParam("status")),
				CreatedFrom: from, CreatedTo: to}
			return streamCSV(c, export.Refunds, func(w *csvResponse) (int, error) { return svc.Refunds(c.Request().Context(), r.Actor, f, w) })
		}},
	}
}

func createdParams(c echo.Context) (from, to *time.Time, err error) {
	if from, err = timeParam(c, "createdFrom"); err != nil {
		return nil, nil, err
	}
	to, err = timeParam(c, "createdTo")
	return from, to, err
}

// csvResponse starts the answer (200, text/csv, as an attachment) at its first byte: until
// then an error is still answered as JSON.
type csvResponse struct {
	c       echo.Context
	name    string
	started bool
}

func (w *csvResponse) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.name+`.csv"`)
		h.Set("Cache-Control", "no-store")
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(p)
}

// Flush sends what was written so far (export flushes after each page).
func (w *csvResponse) Flush() { w.c.Response().Flush() }

// streamCSV runs an export into the response. An error before the first byte is answered as
// usual; after it, the response is aborted (the client sees a cut-off transfer, never a
// short file that looks whole).
func streamCSV(c echo.Context, name string, run func(w *csvResponse) (int, error)) (int, any, error) {
	w := &csvResponse{c: c, name: name}
	if _, err := run(w); err != nil {
		if !w.started {
			return 0, nil, err
		}
		panic(http.ErrAbortHandler)
	}
	return 0, nil, nil
}
