package panel

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/export"
)

// exportURL is the list page's CSV export with the page's filters (no cursor; only those
// named in keep, when any are): "" when the panel has no exports.
func (p *Panel) exportURL(c echo.Context, path string, keep ...string) string {
	if p.d.Exports == nil {
		return ""
	}
	q := queryCopy(c)
	for _, k := range []string{"after", "before", "notice"} {
		q.Del(k)
	}
	if len(keep) > 0 {
		for k := range q {
			if !slices.Contains(keep, k) {
				q.Del(k)
			}
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// checkoutsExport streams the checkouts the list's filters select, as CSV.
func (p *Panel) checkoutsExport(c echo.Context, r *request) error {
	f := domain.CheckoutFilter{OrganizationID: r.OrgID(), SiteID: c.QueryParam("site"), Status: domain.CheckoutStatus(c.QueryParam("status")),
		Mode: domain.Mode(c.QueryParam("mode")), Search: strings.TrimSpace(c.QueryParam("q"))}
	var err error
	if f.CreatedFrom, _, err = dateParam(c, "from", false); err != nil {
		return err
	}
	if f.CreatedTo, _, err = dateParam(c, "to", true); err != nil {
		return err
	}
	return p.streamCSV(c, export.Checkouts, func(w *csvWriter) error {
		_, err := p.d.Exports.Checkouts(c.Request().Context(), r.Actor, f, w)
		return err
	})
}

// transactionsExport streams the transactions the list's filters select, as CSV.
func (p *Panel) transactionsExport(c echo.Context, r *request) error {
	f := domain.TransactionFilter{OrganizationID: r.OrgID(), SiteID: c.QueryParam("site"), ProviderID: c.QueryParam("provider"),
		Status: domain.TransactionStatus(c.QueryParam("status")), Mode: domain.Mode(c.QueryParam("mode")),
		Search: strings.TrimSpace(c.QueryParam("q")), Email: strings.TrimSpace(c.QueryParam("email"))}
	var err error
	if f.CreatedFrom, _, err = dateParam(c, "from", false); err != nil {
		return err
	}
	if f.CreatedTo, _, err = dateParam(c, "to", true); err != nil {
		return err
	}
	return p.streamCSV(c, export.Transactions, func(w *csvWriter) error {
		_, err := p.d.Exports.Transactions(c.Request().Context(), r.Actor, f, w)
		return err
	})
}

// refundsExport streams the refunds of the organisation's site, provider and mode given, made
// in the dates given (the transactions list's filters that refunds have), as CSV.
func (p *Panel) refundsExport(c echo.Context, r *request) error {
	f := domain.RefundFilter{OrganizationID: r.OrgID(), SiteID: c.QueryParam("site"), ProviderID: c.QueryParam("provider"),
		Mode: domain.Mode(c.QueryParam("mode"))}
	var err error
	if f.CreatedFrom, _, err = dateParam(c, "from", false); err != nil {
		return err
	}
	if f.CreatedTo, _, err = dateParam(c, "to", true); err != nil {
		return err
	}
	return p.streamCSV(c, export.Refunds, func(w *csvWriter) error {
		_, err := p.d.Exports.Refunds(c.Request().Context(), r.Actor, f, w)
		return err
	})
}

// csvWriter starts the answer (200, text/csv, an attachment) at its first byte.
type csvWriter struct {
	c       echo.Context
	name    string
	started bool
}

func (w *csvWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.name+`.csv"`)
		h.Set("Cache-Control", "no-store")
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(b)
}

func (w *csvWriter) Flush() { w.c.Response().Flush() }

// streamCSV runs an export: an error before its first byte is the usual error page, one after
// it aborts the transfer (never a short file that looks whole).
func (p *Panel) streamCSV(c echo.Context, name string, run func(w *csvWriter) error) error {
	if p.d.Exports == nil {
		return echo.ErrNotFound
	}
	w := &csvWriter{c: c, name: name}
	if err := run(w); err != nil {
		if !w.started {
			return err
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}
