package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/storetest"
)

// One merchant whose endpoint never answers in time (each attempt runs to its timeout), with more than a hundred owed: the
// notifications queue up on the ipn queue, while a checkout of another tenant that is due to
// expire is expired at once, and reconciliation runs at once, each on its own queue. (Before
// River, one pool of workers took every kind in turn, and the expiry run waited behind the
// notifications.) The periodic jobs are queued here as River's leader queues them every 30 s
// and every minute, so that the test does not wait for the period.
func TestASlowMerchantDelaysNeitherExpiryNorReconciliation(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			s := storetest.Fresh(t, d) // a database of its own: its River leader is this test's
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true})
			slowShop, other := env.NewTenant(t), env.NewTenant(t)
			// The merchant answers nothing until the test is over (each attempt ends at its 10 s
			// timeout): however slowly this machine dispatches the 110 notifications, they pile up.
			release := make(chan struct{})
			slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-r.Context().Done():
				}
				w.WriteHeader(http.StatusOK)
			}))
			t.Cleanup(slow.Close)
			t.Cleanup(func() { close(release) })

			checkout := func(tn *apptest.Tenant, ipnURL string, expires time.Time) *domain.Checkout {
				c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: tn.Org.ID, SiteID: tn.Site.ID,
					Mode: domain.ModeTest, ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen,
					Amount: 1000, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-" + domain.RandomString(6),
					IPNURL: ipnURL, IPNAllowPrivate: true, Origin: domain.OriginAPI, ExpiresAt: expires,
					Items: []domain.Item{{Name: "Thing", Quantity: 1, UnitPrice: 1000, ItemType: domain.ItemGoods}}}
				require.NoError(t, s.CreateCheckout(ctx, c))
				return c
			}
			const owed = 110
			for i := 0; i < owed; i++ {
				// transaction.initiated: a notification owed
				storetest.Transaction(t, s, checkout(slowShop, slow.URL, time.Now().Add(time.Hour)), slowShop.Provider)
			}
			require.Eventually(t, func() bool {
				avail, running, err := s.RiverWork(ctx, []string{queue.IPN})
				require.NoError(t, err)
				return avail+running >= 100
			}, 60*time.Second, 50*time.Millisecond, "the notifications are queued")

			due := checkout(other, "", time.Now().Add(-time.Second))
			expire, err := queue.Insert(ctx, s, queue.EveryArgs{Name: "checkouts.expire"},
				&river.InsertOpts{Queue: queue.Maintenance, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}})
			require.NoError(t, err)
			reconcile, err := queue.Insert(ctx, s, queue.EveryArgs{Name: "stripe.reconcile"},
				&river.InsertOpts{Queue: queue.Reconcile, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}})
			require.NoError(t, err)
			queued := time.Now()

			// Behind the notifications it would wait 110 × 10 s / 2 workers = 550 s; on a quiet
			// machine it takes 0.1–0.3 s. 30 s leaves room for a loaded CI machine (a run there once
			// took over 10 s: not explained yet) and still tells the two apart.
			require.Eventually(t, func() bool {
				c, err := s.GetCheckout(ctx, other.Org.ID, due.ID)
				require.NoError(t, err)
				return c.Status == domain.CheckoutExpired
			}, 30*time.Second, 20*time.Millisecond, "the checkout is expired on time")
			expiredAfter := time.Since(queued)
			finished := func(id int64) bool {
				j, err := env.Main.Queue.River().JobGet(ctx, id)
				require.NoError(t, err)
				return j.State == "completed"
			}
			require.Eventually(t, func() bool { return finished(expire.Job.ID) && finished(reconcile.Job.ID) }, 30*time.Second,
				20*time.Millisecond, "reconciliation runs on time")
			t.Logf("%s: expired %s and reconciled %s after being queued", d, expiredAfter.Round(time.Millisecond),
				time.Since(queued).Round(time.Millisecond))

			avail, running, err := s.RiverWork(ctx, []string{queue.IPN})
			require.NoError(t, err)
			require.GreaterOrEqual(t, avail+running, int64(90), "meanwhile the slow merchant's notifications are still queued")
			require.LessOrEqual(t, running, int64(2), "the ipn queue works WORKER_CONCURRENCY (2 here) at once")
		})
	}
}
