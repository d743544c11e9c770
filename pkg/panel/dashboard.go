package panel

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/reporting"
)

// dashboardPeriods are the periods offered besides a custom one.
var dashboardPeriods = []string{"7", "30", "90"}

// dashboardForm is the dashboard's filter form (a GET form: the page works without script).
type dashboardForm struct {
	Mode    string
	Period  string // "7", "30", "90" or "custom"
	From    string // custom period, YYYY-MM-DD
	To      string
	SiteID  string
	Periods []string
	Sites   []domain.Site
}

type dashboardData struct {
	Form   dashboardForm
	Error  string
	Report *reporting.Dashboard
	Charts []chart
}

// dashboard shows gross, refunds, net, pending and disputed amounts per currency, completed
// and failed counts and the failure ratio over a period compared with the one before, per
// site, with a daily chart drawn on the server (SVG) and the same figures in tables.
func (p *Panel) dashboard(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	f := dashboardForm{Mode: c.QueryParam("mode"), Period: c.QueryParam("period"), From: c.QueryParam("from"),
		To: c.QueryParam("to"), SiteID: c.QueryParam("site"), Periods: dashboardPeriods}
	if !domain.Mode(f.Mode).Valid() {
		f.Mode = string(domain.ModeLive)
	}
	sites, err := p.d.Tenancy.ListSites(ctx, r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	f.Sites = sites
	d := &dashboardData{Form: f}
	req := reporting.Request{OrganizationID: r.OrgID(), Mode: domain.Mode(f.Mode), SiteID: f.SiteID, Through: p.d.Now()}
	if msg := d.period(&req); msg != "" {
		d.Error = msg
		return p.render(c, r, http.StatusUnprocessableEntity, "dashboard", "Dashboard", "dashboard", d)
	}
	d.Report, err = p.d.Reporting.Dashboard(ctx, r.Actor, req)
	if err != nil {
		return err
	}
	for _, cur := range d.Report.Currencies {
		d.Charts = append(d.Charts, newChart(cur))
	}
	return p.render(c, r, http.StatusOK, "dashboard", "Dashboard", "dashboard", d)
}

// period reads the form's period into req, or says in words what is wrong with it.
func (d *dashboardData) period(req *reporting.Request) string {
	f := &d.Form
	if f.Period != "custom" {
		days, err := strconv.Atoi(f.Period)
		if err != nil || days < 1 || days > reporting.MaxDays {
			f.Period, days = "30", 30
		}
		req.Days = days
		return ""
	}
	from, ferr := time.Parse(time.DateOnly, f.From)
	to, terr := time.Parse(time.DateOnly, f.To)
	switch {
	case ferr != nil && terr != nil:
		return "Enter the first and the last day of the custom period as dates, like 2026-01-31."
	case ferr != nil:
		return "Enter the first day of the custom period as a date, like 2026-01-01."
	case terr != nil:
		return "Enter the last day of the custom period as a date, like 2026-01-31."
	case to.Before(from):
		return "The last day of the custom period must not be before its first day."
	}
	days := int(to.Sub(from)/(24*time.Hour)) + 1
	if days > reporting.MaxDays {
		return "A custom period can cover at most " + strconv.Itoa(reporting.MaxDays) + " days; this one covers " + strconv.Itoa(days) + "."
	}
	req.Days, req.Through = days, to
	return ""
}

// Query is the form's query string with the mode replaced (links to the other mode).
func (f dashboardForm) Query(mode string) string {
	v := url.Values{"mode": {mode}, "period": {f.Period}}
	if f.Period == "custom" {
		v.Set("from", f.From)
		v.Set("to", f.To)
	}
	if f.SiteID != "" {
		v.Set("site", f.SiteID)
	}
	return v.Encode()
}

func init() {
	funcs["change"] = formatChange
	funcs["ratio"] = formatRatio
	funcs["day"] = func(t time.Time) string { return t.UTC().Format("2 Jan 2006") }
	funcs["date"] = func(t time.Time) string { return t.UTC().Format(time.DateOnly) }
}

// formatChange says how cur compares with prev: "+12.5 %", "−3.0 %", "no change", or "new"
// when there was nothing before.
func formatChange(cur, prev int64) string {
	switch {
	case cur == prev:
		return "no change"
	case prev == 0:
		return "new"
	}
	diff := cur - prev
	sign := "+"
	if diff < 0 {
		sign, diff = "−", -diff
	}
	if prev < 0 {
		prev = -prev
	}
	permille := diff * 1000 / prev
	return sign + strconv.FormatInt(permille/10, 10) + "." + strconv.FormatInt(permille%10, 10) + " %"
}

// formatRatio is the failure ratio with one decimal ("12.5 %"), or "—" without finished attempts.
func formatRatio(f reporting.Figures) string {
	pm, ok := f.FailurePermille()
	if !ok {
		return "—"
	}
	return strconv.FormatInt(pm/10, 10) + "." + strconv.FormatInt(pm%10, 10) + " %"
}
