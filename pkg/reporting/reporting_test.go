package reporting_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/reporting"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// now is the reports' clock: the current period's last day is 10 December 2026 (UTC).
var now = time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)

func day(d int, hour int) time.Time { return time.Date(2026, 12, d, hour, 30, 0, 0, time.UTC) }

// seeder makes transactions of one organisation and moves them through the store's state
// machine, then dates them (the store stamps its own clock): a report's days are the test's.
type seeder struct {
	t    *testing.T
	s    *store.Store
	org  *domain.Organization
	site *domain.Site
	prov map[domain.Mode]*domain.Provider
}

func newSeeder(t *testing.T, s *store.Store) *seeder {
	org := storetest.Org(t, s)
	test, live := storetest.Provider(t, s, org.ID, domain.ModeTest), storetest.Provider(t, s, org.ID, domain.ModeLive)
	return &seeder{t: t, s: s, org: org, site: storetest.Site(t, s, org.ID, test), prov: map[domain.Mode]*domain.Provider{domain.ModeTest: test, domain.ModeLive: live}}
}

// txn creates an initiated transaction of amount in currency, in mode, on site (nil: the seeder's).
func (sd *seeder) txn(site *domain.Site, mode domain.Mode, amount int64, currency string) *domain.Transaction {
	sd.t.Helper()
	if site == nil {
		site = sd.site
	}
	c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: sd.org.ID, SiteID: site.ID, Mode: mode,
		ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
		Amount: amount, Currency: currency, Email: "buyer@example.com", Origin: domain.OriginAPI, ExpiresAt: time.Now().Add(time.Hour),
		Items: []domain.Item{{Name: "Thing", Quantity: 1, UnitPrice: amount, ItemType: domain.ItemGoods}}}
	require.NoError(sd.t, sd.s.CreateCheckout(ctx, c))
	p := sd.prov[mode]
	txn := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: sd.org.ID, CheckoutID: c.ID, SiteID: site.ID,
		ProviderID: p.ID, ProviderType: p.Type, Mode: mode, Currency: currency, NetAmount: amount, GrossAmount: amount}
	require.NoError(sd.t, sd.s.CreateTransaction(ctx, txn))
	return txn
}

func (sd *seeder) move(txn *domain.Transaction, to domain.TransactionStatus, ch domain.TransactionChanges) {
	sd.t.Helper()
	_, err := sd.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: sd.org.ID, TransactionID: txn.ID, To: to, Changes: ch})
	require.NoError(sd.t, err)
}

// exec runs a dating statement (test-made ids and times only).
func (sd *seeder) exec(format string, args ...any) {
	sd.t.Helper()
	require.NoError(sd.t, sd.s.ExecAdmin(ctx, fmt.Sprintf(format, args...)))
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05-07:00") }

// paid is a transaction that succeeded at `at`.
func (sd *seeder) paid(site *domain.Site, mode domain.Mode, amount int64, currency string, at time.Time) *domain.Transaction {
	sd.t.Helper()
	txn := sd.txn(site, mode, amount, currency)
	sd.move(txn, domain.TxnSucceeded, domain.TransactionChanges{})
	sd.exec(`UPDATE transactions SET succeeded_at = '%s', updated_at = '%s' WHERE id = '%s'`, ts(at), ts(at), txn.ID)
	return txn
}

// failed is a transaction that failed at `at`.
func (sd *seeder) failed(mode domain.Mode, amount int64, currency string, at time.Time) {
	sd.t.Helper()
	txn := sd.txn(nil, mode, amount, currency)
	sd.move(txn, domain.TxnFailed, domain.TransactionChanges{})
	sd.exec(`UPDATE transactions SET updated_at = '%s' WHERE id = '%s'`, ts(at), txn.ID)
}

// refund records a refund of txn in status st that reached it at `at`.
func (sd *seeder) refund(txn *domain.Transaction, amount int64, st domain.RefundStatus, at time.Time) {
	sd.t.Helper()
	r := &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: sd.org.ID, TransactionID: txn.ID, Amount: amount,
		Currency: txn.Currency, Status: st, Manual: true, Source: "dashboard"}
	require.NoError(sd.t, sd.s.CreateRefund(ctx, r))
	sd.exec(`UPDATE refunds SET updated_at = '%s' WHERE id = '%s'`, ts(at), r.ID)
}

// TestDashboardFigures seeds one organisation's test and live payments over two periods, in
// two currencies and two sites, with refunds, failures, pending and disputed payments, and a
// second organisation whose payments must not count; it checks every figure on both databases.
func TestDashboardFigures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		sd := newSeeder(t, s)
		other := storetest.Site(t, s, sd.org.ID, sd.prov[domain.ModeTest])
		// Current period: 4-10 December; previous: 27 November - 3 December.
		a := sd.paid(nil, domain.ModeTest, 10000, "EUR", day(4, 0))  // first day, first minute
		sd.paid(nil, domain.ModeTest, 2550, "EUR", day(10, 23))      // last day, late
		sd.paid(other, domain.ModeTest, 1999, "EUR", day(7, 12))     // the second site
		usd := sd.paid(nil, domain.ModeTest, 5000, "USD", day(7, 9)) // another currency
		sd.paid(nil, domain.ModeTest, 777, "EUR", day(3, 23))        // previous period
		old := sd.paid(nil, domain.ModeTest, 4000, "EUR", day(1, 8)) // previous period
		sd.paid(nil, domain.ModeTest, 123456, "EUR", day(11, 0))     // after the period
		sd.paid(nil, domain.ModeLive, 99900, "EUR", day(5, 12))      // live: not in test figures
		sd.refund(a, 3000, domain.RefundSucceeded, day(8, 10))       // counted on the 8th
		sd.refund(old, 1000, domain.RefundSucceeded, day(9, 10))     // refund now of a payment taken before
		sd.refund(a, 500, domain.RefundFailed, day(8, 11))           // failed: not counted
		sd.refund(a, 700, domain.RefundPending, day(8, 12))          // pending: not counted
		sd.refund(usd, 5000, domain.RefundSucceeded, day(2, 10))     // previous period, USD
		sd.failed(domain.ModeTest, 800, "EUR", day(6, 10))
		sd.failed(domain.ModeTest, 900, "USD", day(6, 11))
		sd.failed(domain.ModeTest, 300, "EUR", day(28, 11).AddDate(0, -1, 0)) // 28 November: previous
		pend := sd.txn(nil, domain.ModeTest, 4200, "EUR")
		sd.move(pend, domain.TxnPendingProvider, domain.TransactionChanges{})
		open := sd.paid(nil, domain.ModeTest, 6000, "EUR", day(5, 10))
		underReview := "under_review"
		sd.move(open, domain.TxnDisputed, domain.TransactionChanges{DisputeStatus: &underReview})
		lostTxn := sd.paid(nil, domain.ModeTest, 7000, "USD", day(5, 10))
		lost := "lost"
		sd.move(lostTxn, domain.TxnDisputed, domain.TransactionChanges{DisputeStatus: &lost})

		// Another organisation, same days: never counted.
		sd2 := newSeeder(t, s)
		sd2.paid(nil, domain.ModeTest, 55555, "EUR", day(7, 12))
		sd2.failed(domain.ModeTest, 100, "EUR", day(7, 12))
		p2 := sd2.txn(nil, domain.ModeTest, 100, "EUR")
		sd2.move(p2, domain.TxnPendingProvider, domain.TransactionChanges{})

		svc := reporting.New(s, func() time.Time { return now })
		admin := domain.Actor{Type: domain.ActorUser, OrganizationID: sd.org.ID, Role: domain.RoleViewer}
		d, err := svc.Dashboard(ctx, admin, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, Days: 7})
		require.NoError(t, err)
		require.Equal(t, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), d.Current.From)
		require.Equal(t, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), d.Previous.From)
		require.Len(t, d.Currencies, 2)
		eur, usdC := d.Currencies[0], d.Currencies[1]
		require.Equal(t, "EUR", eur.Code)
		require.Equal(t, reporting.Figures{Gross: 10000 + 2550 + 1999 + 6000, Refunded: 3000 + 1000, Completed: 4, Failed: 1}, eur.Current)
		require.Equal(t, int64(10000+2550+1999+6000-4000), eur.Current.Net())
		require.Equal(t, reporting.Figures{Gross: 777 + 4000, Completed: 2, Failed: 1}, eur.Previous)
		require.Equal(t, reporting.Open{Count: 1, Amount: 4200}, eur.Pending)
		require.Equal(t, reporting.Open{Count: 1, Amount: 6000}, eur.Disputed)
		require.Equal(t, reporting.Figures{Gross: 5000 + 7000, Completed: 2, Failed: 1}, usdC.Current)
		require.Equal(t, reporting.Figures{Refunded: 5000}, usdC.Previous)
		require.Equal(t, int64(-5000), usdC.Previous.Net())
		require.Equal(t, reporting.Open{}, usdC.Disputed, "a lost dispute is not open")
		require.Equal(t, reporting.Figures{Completed: 6, Failed: 2}, d.Counts)
		pm, ok := d.Counts.FailurePermille()
		require.True(t, ok)
		require.Equal(t, int64(250), pm)

		// Daily buckets: seven days, each on its UTC day.
		require.Len(t, eur.Days, 7)
		want := map[string]reporting.Figures{
			"2026-12-04": {Gross: 10000, Completed: 1}, "2026-12-05": {Gross: 6000, Completed: 1}, "2026-12-06": {Failed: 1},
			"2026-12-07": {Gross: 1999, Completed: 1}, "2026-12-08": {Refunded: 3000}, "2026-12-09": {Refunded: 1000},
			"2026-12-10": {Gross: 2550, Completed: 1},
		}
		for _, dd := range eur.Days {
			require.Equal(t, want[dd.Date.Format(time.DateOnly)], dd.Figures, dd.Date.Format(time.DateOnly))
		}

		// Per site and currency.
		require.Len(t, d.Sites, 3)
		bySite := map[string]reporting.Figures{}
		for _, sf := range d.Sites {
			bySite[sf.SiteID+" "+sf.Currency] = sf.Figures
		}
		require.Equal(t, reporting.Figures{Gross: 1999, Completed: 1}, bySite[other.ID+" EUR"])
		require.Equal(t, reporting.Figures{Gross: 10000 + 2550 + 6000, Refunded: 4000, Completed: 3, Failed: 1}, bySite[sd.site.ID+" EUR"])

		// One site only.
		d, err = svc.Dashboard(ctx, admin, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, SiteID: other.ID, Days: 7})
		require.NoError(t, err)
		require.Len(t, d.Currencies, 1)
		require.Equal(t, reporting.Figures{Gross: 1999, Completed: 1}, d.Currencies[0].Current)
		require.Equal(t, reporting.Open{}, d.Currencies[0].Pending)

		// Live mode sees only the live payment.
		d, err = svc.Dashboard(ctx, admin, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeLive, Days: 7})
		require.NoError(t, err)
		require.Len(t, d.Currencies, 1)
		require.Equal(t, reporting.Figures{Gross: 99900, Completed: 1}, d.Currencies[0].Current)

		// A custom period through the 8th, three days long.
		d, err = svc.Dashboard(ctx, admin, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, Days: 3, Through: day(8, 0)})
		require.NoError(t, err)
		require.Equal(t, reporting.Figures{Gross: 1999, Refunded: 3000, Completed: 1, Failed: 1}, d.Currencies[0].Current)
		require.Equal(t, reporting.Figures{Gross: 10000 + 777 + 6000, Completed: 3}, d.Currencies[0].Previous)
	})
}

// TestDashboardTenancyAndRoles: another organisation's member gets NOT_FOUND, a site of
// another organisation is NOT_FOUND, a test-mode API key cannot read live figures.
func TestDashboardTenancyAndRoles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		sd, sd2 := newSeeder(t, s), newSeeder(t, s)
		svc := reporting.New(s, func() time.Time { return now })
		stranger := domain.Actor{Type: domain.ActorUser, OrganizationID: sd2.org.ID, Role: domain.RoleAdmin}
		_, err := svc.Dashboard(ctx, stranger, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, Days: 7})
		require.True(t, domain.IsNotFound(err), "%v", err)

		member := domain.Actor{Type: domain.ActorUser, OrganizationID: sd.org.ID, Role: domain.RoleViewer}
		_, err = svc.Dashboard(ctx, member, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, SiteID: sd2.site.ID, Days: 7})
		require.True(t, domain.IsNotFound(err), "%v", err)

		key := domain.Actor{Type: domain.ActorAPIKey, OrganizationID: sd.org.ID, Mode: domain.ModeTest, Scopes: []string{"transaction:read"}}
		_, err = svc.Dashboard(ctx, key, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeLive, Days: 7})
		require.Equal(t, domain.KindForbidden, domain.ErrorKind(err), "%v", err)
		_, err = svc.Dashboard(ctx, key, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, Days: 7})
		require.NoError(t, err)

		_, err = svc.Dashboard(ctx, member, reporting.Request{OrganizationID: sd.org.ID, Mode: domain.ModeTest, Days: reporting.MaxDays + 1})
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err), "%v", err)
	})
}
