package reporting

import (
	"context"
	"sort"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// Store is the storage the reporting use cases need (pkg/store implements it).
type Store interface {
	ReportBuckets(ctx context.Context, q domain.ReportQuery) ([]domain.ReportBucket, error)
	ReportOpen(ctx context.Context, orgID string, mode domain.Mode, siteID string) ([]domain.ReportBucket, error)
	ListSites(ctx context.Context, orgID string) ([]domain.Site, error)
}

// Service runs the reporting use cases.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns the reporting use cases over s; now is the clock (nil: time.Now).
func New(s Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, now: now}
}

// MaxDays is the longest period a dashboard covers.
const MaxDays = 366

// Request asks for a dashboard: an organisation's mode, optionally one site, over a period of
// Days days ending with the UTC day Through (inclusive). A zero Through means today.
type Request struct {
	OrganizationID string
	Mode           domain.Mode
	SiteID         string
	Days           int
	Through        time.Time
}

// Period is [From, To): whole UTC days.
type Period struct {
	From, To time.Time
}

// Days is the period's length in days.
func (p Period) Days() int { return int(p.To.Sub(p.From) / (24 * time.Hour)) }

// Last is the period's last day (inclusive end).
func (p Period) Last() time.Time { return p.To.Add(-24 * time.Hour) }

// Figures are one currency's flows over a period (minor units of the currency).
type Figures struct {
	Gross     int64
	Refunded  int64
	Completed int64
	Failed    int64
}

// Net is gross minus refunds.
func (f Figures) Net() int64 { return f.Gross - f.Refunded }

// FailurePermille is failed / (completed + failed) in tenths of a percent; ok is false
// without finished attempts.
func (f Figures) FailurePermille() (permille int64, ok bool) {
	if f.Completed+f.Failed == 0 {
		return 0, false
	}
	return f.Failed * 1000 / (f.Completed + f.Failed), true
}

func (f *Figures) add(b domain.ReportBucket) {
	switch b.Kind {
	case domain.ReportSucceeded:
		f.Gross += b.Amount
		f.Completed += b.Count
	case domain.ReportRefunded:
		f.Refunded += b.Amount
	case domain.ReportFailed:
		f.Failed += b.Count
	}
}

// Open is how many transactions and how much (minor units) are open now.
type Open struct {
	Count  int64
	Amount int64
}

// Day is one UTC day's figures in one currency.
type Day struct {
	Date time.Time
	Figures
}

// Currency is one currency's dashboard: the period, the previous period, what is open now
// and the period's days (every day, zeros included, oldest first).
type Currency struct {
	Code     string
	Current  Figures
	Previous Figures
	Pending  Open
	Disputed Open
	Days     []Day
}

// SiteFigures are one site's figures in one currency over the period.
type SiteFigures struct {
	SiteID   string
	SiteName string
	Currency string
	Figures
}

// Dashboard is the answer.
type Dashboard struct {
	Mode       domain.Mode
	SiteID     string
	Current    Period
	Previous   Period
	Currencies []Currency // by code
	Sites      []SiteFigures
	// Counts are the attempts' counts over every currency (counts add up; amounts never do).
	Counts, PreviousCounts Figures
}

// Dashboard computes an organisation's dashboard for an actor who may read its transactions
// in that mode. The site, when given, must be the organisation's (NOT_FOUND otherwise).
func (s *Service) Dashboard(ctx context.Context, actor domain.Actor, r Request) (*Dashboard, error) {
	if err := authorize(actor, r.OrganizationID, r.Mode); err != nil {
		return nil, err
	}
	if r.Days < 1 || r.Days > MaxDays {
		return nil, domain.Invalid("days", "the period must be 1 to %d days", MaxDays)
	}
	sites, err := s.store.ListSites(ctx, r.OrganizationID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, site := range sites {
		names[site.ID] = site.Name
	}
	if _, ok := names[r.SiteID]; r.SiteID != "" && !ok {
		return nil, domain.NotFound("site")
	}
	through := r.Through
	if through.IsZero() {
		through = s.now()
	}
	cur := periodEnding(through, r.Days)
	prev := Period{From: cur.From.AddDate(0, 0, -r.Days), To: cur.From}
	buckets, err := s.store.ReportBuckets(ctx, domain.ReportQuery{OrganizationID: r.OrganizationID, Mode: r.Mode, SiteID: r.SiteID,
		From: prev.From, To: cur.To})
	if err != nil {
		return nil, err
	}
	open, err := s.store.ReportOpen(ctx, r.OrganizationID, r.Mode, r.SiteID)
	if err != nil {
		return nil, err
	}
	d := &Dashboard{Mode: r.Mode, SiteID: r.SiteID, Current: cur, Previous: prev}
	d.build(buckets, open, names)
	return d, nil
}

func authorize(actor domain.Actor, orgID string, mode domain.Mode) error {
	if actor.Type != domain.ActorSystem && !actor.PlatformAdmin && actor.OrganizationID != orgID {
		return domain.NotFound("organization")
	}
	if !mode.Valid() {
		return domain.Invalid("mode", "the mode must be test or live")
	}
	if err := auth.Authorize(actor, "transaction", "read"); err != nil {
		return err
	}
	return auth.AuthorizeMode(actor, mode)
}

// periodEnding is the days whole UTC days ending with the day of t.
func periodEnding(t time.Time, days int) Period {
	t = t.UTC()
	to := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 1)
	return Period{From: to.AddDate(0, 0, -days), To: to}
}

// build folds the buckets into the dashboard.
func (d *Dashboard) build(buckets, open []domain.ReportBucket, names map[string]string) {
	byCode := map[string]*Currency{}
	get := func(code string) *Currency {
		c, ok := byCode[code]
		if !ok {
			c = &Currency{Code: code}
			for day := d.Current.From; day.Before(d.Current.To); day = day.AddDate(0, 0, 1) {
				c.Days = append(c.Days, Day{Date: day})
			}
			byCode[code] = c
		}
		return c
	}
	sites := map[[2]string]*SiteFigures{}
	for _, b := range buckets {
		day, err := time.Parse(time.DateOnly, b.Day)
		if err != nil {
			continue // not a day: cannot happen with the store's buckets
		}
		c := get(b.Currency)
		if day.Before(d.Current.From) {
			c.Previous.add(b)
			d.PreviousCounts.add(domain.ReportBucket{Kind: b.Kind, Count: b.Count})
			continue
		}
		c.Current.add(b)
		d.Counts.add(domain.ReportBucket{Kind: b.Kind, Count: b.Count})
		c.Days[int(day.Sub(d.Current.From)/(24*time.Hour))].add(b)
		key := [2]string{b.SiteID, b.Currency}
		if sites[key] == nil {
			sites[key] = &SiteFigures{SiteID: b.SiteID, SiteName: names[b.SiteID], Currency: b.Currency}
		}
		sites[key].add(b)
	}
	for _, b := range open {
		c := get(b.Currency)
		o := &c.Pending
		if b.Kind == domain.ReportDisputed {
			o = &c.Disputed
		}
		o.Count += b.Count
		o.Amount += b.Amount
	}
	for _, c := range byCode {
		d.Currencies = append(d.Currencies, *c)
	}
	sort.Slice(d.Currencies, func(i, j int) bool { return d.Currencies[i].Code < d.Currencies[j].Code })
	for _, sf := range sites {
		d.Sites = append(d.Sites, *sf)
	}
	sort.Slice(d.Sites, func(i, j int) bool {
		a, b := d.Sites[i], d.Sites[j]
		if a.SiteName != b.SiteName {
			return a.SiteName < b.SiteName
		}
		if a.SiteID != b.SiteID {
			return a.SiteID < b.SiteID
		}
		return a.Currency < b.Currency
	})
}
