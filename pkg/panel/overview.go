package panel

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

type periodStats struct {
	Label string
	domain.PaymentStats
}

// Rate is the success rate in percent with one decimal ("87.5"), or "" without finished attempts.
func (s periodStats) Rate() string {
	if s.Finished == 0 {
		return ""
	}
	per := s.Succeeded * 1000 / s.Finished
	return strconv.FormatInt(per/10, 10) + "." + strconv.FormatInt(per%10, 10)
}

type overviewData struct {
	Mode    domain.Mode
	Periods []periodStats
	Recent  []domain.Transaction
}

// overview shows what was taken per currency today, over 7 and 30 days, the success rate, and
// the latest transactions. Without ?mode= it shows live payments, or test payments while there
// are no live ones yet.
func (p *Panel) overview(c echo.Context, r *request) error {
	ctx := c.Request().Context()
	now := p.d.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	since := []time.Time{today, now.Add(-7 * 24 * time.Hour), now.Add(-30 * 24 * time.Hour)}
	labels := []string{"Today", "Last 7 days", "Last 30 days"}

	mode := domain.Mode(c.QueryParam("mode"))
	explicit := mode.Valid()
	if !explicit {
		mode = domain.ModeLive
	}
	stats, err := p.d.Payment.PaymentStats(ctx, r.Actor, r.OrgID(), mode, since...)
	if err != nil {
		return err
	}
	if !explicit && stats[2].Finished == 0 && len(stats[2].Volumes) == 0 {
		test, err := p.d.Payment.PaymentStats(ctx, r.Actor, r.OrgID(), domain.ModeTest, since...)
		if err != nil {
			return err
		}
		if test[2].Finished > 0 || len(test[2].Volumes) > 0 {
			mode, stats = domain.ModeTest, test
		}
	}
	d := &overviewData{Mode: mode}
	for i, s := range stats {
		d.Periods = append(d.Periods, periodStats{Label: labels[i], PaymentStats: s})
	}
	d.Recent, _, err = p.d.Payment.ListTransactions(ctx, r.Actor, domain.TransactionFilter{OrganizationID: r.OrgID(), Mode: mode, Limit: 10})
	if err != nil {
		return err
	}
	return p.render(c, r, http.StatusOK, "overview", "Overview", "overview", d)
}
