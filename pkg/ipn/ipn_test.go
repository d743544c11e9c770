package ipn_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/netguard"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

func keysOf(t *testing.T, body []byte) []string {
	t.Helper()
	// Decode in wire order to check the field order too.
	dec := json.NewDecoder(strings.NewReader(string(body)))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestWireTransferFlowNotifiesEveryStatusOnceInOrder(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		t.Run("V2", func(t *testing.T) {
			e := newEnv(t, d, envOptions{})
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			txn := e.transaction(shop.URL())
			e.step()
			e.move(txn, domain.TxnPendingProvider) // the buyer says the transfer is on its way
			e.step()
			e.move(txn, domain.TxnSucceeded) // an operator marks it paid
			e.settle(time.Hour)

			requests, applied, problems := shop.snapshot()
			require.Empty(t, problems)
			require.Len(t, requests, 3, "one request per status change, no retries")
			require.Equal(t, []float64{-1, 0, 1}, statuses(applied))
			chk, err := e.s.GetCheckout(ctx, e.org.ID, txn.CheckoutID)
			require.NoError(t, err)
			for i, r := range applied {
				require.Equal(t, 200, r.Code)
				require.Equal(t, []string{"schemaVersion", "deliveryId", "eventVersion", "occurredAt", "id", "externalReference",
					"status", "sessionPublicId", "eventType", "amount", "currency", "netAmount", "taxAmount"}, keysOf(t, r.Body))
				require.Equal(t, float64(i+1), r.field("eventVersion"))
				require.Equal(t, txn.ID, r.field("id"))
				require.Equal(t, chk.ExternalReference, r.field("externalReference"))
				require.Equal(t, chk.SessionPublicID, r.field("sessionPublicId"))
				require.Equal(t, float64(4990), r.field("amount"))
				require.Equal(t, "EUR", r.field("currency"))
				require.Equal(t, float64(4990), r.field("netAmount"), "the record's net, tax and gross")
				require.Equal(t, float64(0), r.field("taxAmount"))
			}
			require.Equal(t, "transaction.succeeded", applied[2].field("eventType"))

			ds := e.deliveries(txn)
			require.Len(t, ds, 3)
			for _, dv := range ds {
				require.Equal(t, domain.IPNDeliveryDelivered, dv.Status)
				require.Equal(t, 1, dv.Attempts)
				require.Equal(t, 2, dv.IPNVersion)
			}
			require.Equal(t, 3.0, e.metric("paygate_ipn_attempts_total{outcome=delivered}"))
			require.Equal(t, 0.0, e.metric("paygate_ipn_queue_depth"))
			require.Equal(t, 0.0, e.metric("paygate_outbox_undispatched_events"), "every event is dispatched, notified or not")
		})
		t.Run("V1", func(t *testing.T) {
			e := newEnv(t, d, envOptions{ipnVersion: 1})
			shop := newMerchant(t, e.secret, e.clock.Now, false)
			txn := e.transaction(shop.URL())
			e.move(txn, domain.TxnPendingProvider)
			e.move(txn, domain.TxnSucceeded)
			e.settle(time.Hour)
			requests, applied, _ := shop.snapshot()
			require.Len(t, requests, 3)
			require.Equal(t, []float64{-1, 0, 1}, statuses(applied), "in order even when all three are queued at once")
			for _, r := range requests {
				require.Empty(t, r.Header.Get("X-IPN-Version"))
				require.Empty(t, r.Header.Get("X-IPN-Delivery-ID"))
				require.Equal(t, []string{"id", "externalReference", "status", "eventType", "amount", "currency", "netAmount", "taxAmount"}, keysOf(t, r.Body))
			}
		})
	})
}

func TestSiteVersionIsFixedWhenTheNotificationIsCreated(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{ipnVersion: 1})
		shop := newMerchant(t, e.secret, e.clock.Now, false)
		txn := e.transaction(shop.URL())
		e.step() // v1 delivery created and delivered
		_, err := e.svc.Tenancy.UpdateSite(ctx, e.admin, e.org.ID, e.site.ID, platformSiteVersion(2))
		require.NoError(t, err)
		shop.mu.Lock()
		shop.v2 = true // the merchant upgraded its plugin too
		shop.mu.Unlock()
		e.move(txn, domain.TxnSucceeded)
		e.settle(time.Hour)
		ds := e.deliveries(txn)
		require.Len(t, ds, 2)
		require.Equal(t, 1, ds[0].IPNVersion)
		require.Equal(t, 2, ds[1].IPNVersion, "a new notification follows the site's new version")
		_, applied, problems := shop.snapshot()
		require.Empty(t, problems)
		require.Len(t, applied, 2)
		require.Equal(t, "2", applied[1].Header.Get("X-IPN-Version"))
	})
}

func TestRetriesUntilTheMerchantAnswers200(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		shop.answer(500, 500)
		txn := e.transaction(shop.URL())
		e.step()
		dv := e.deliveries(txn)[0]
		require.Equal(t, domain.IPNDeliveryPending, dv.Status)
		require.Equal(t, 1, dv.Attempts)
		require.NotNil(t, dv.NextAttemptAt)
		require.True(t, dv.NextAttemptAt.After(e.clock.Now()), "the retry is scheduled, not immediate")
		require.Equal(t, 500, *dv.LastStatusCode)

		e.settle(time.Hour)
		dv = e.deliveries(txn)[0]
		require.Equal(t, domain.IPNDeliveryDelivered, dv.Status)
		require.Equal(t, 3, dv.Attempts, "delivered on the third attempt")
		as := e.attempts(txn)
		require.Len(t, as, 3)
		for i, want := range []int{500, 500, 200} {
			require.Equal(t, i+1, as[i].Attempt)
			require.Equal(t, want, *as[i].StatusCode)
			require.Equal(t, "scheduled", as[i].Trigger)
			require.Equal(t, dv.Body, as[i].RequestBody, "every attempt sends the same body")
			require.NotNil(t, as[i].FinishedAt)
			require.Equal(t, want == 200, as[i].Success)
		}
		require.Contains(t, as[0].Error, "HTTP 500")
		require.Equal(t, `{"received":true}`, as[2].ResponseExcerpt)
		requests, applied, _ := shop.snapshot()
		require.Len(t, requests, 3)
		require.Len(t, applied, 1)
		require.Equal(t, 2.0, e.metric("paygate_ipn_attempts_total{outcome=rejected}"))
		require.Equal(t, 1.0, e.metric("paygate_ipn_attempts_total{outcome=delivered}"))
	})
}

func TestMerchantDownIsRetriedForThreeDaysThenFailed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		}))
		t.Cleanup(down.Close)
		txn := e.transaction(down.URL)
		created := e.clock.Now()
		e.step()
		var last time.Time
		for i := 1; ; i++ {
			require.Less(t, i, 100, "gives up in time")
			dv := e.deliveries(txn)[0]
			require.Equal(t, i, dv.Attempts)
			if dv.Status == domain.IPNDeliveryFailed {
				require.Nil(t, dv.NextAttemptAt)
				require.False(t, e.clock.Now().Before(created.Add(72*time.Hour)), "not before 3 days")
				require.Less(t, e.clock.Now().Sub(created), 73*time.Hour)
				break
			}
			require.Equal(t, domain.IPNDeliveryPending, dv.Status)
			require.True(t, dv.NextAttemptAt.After(last), "retries move forward")
			if i > 1 {
				require.Equal(t, 1.0, e.metric("paygate_ipn_queue_depth"))
				require.Greater(t, e.metric("paygate_ipn_oldest_undelivered_age_seconds"), 0.0)
			}
			last = *dv.NextAttemptAt
			e.clock.Set(last)
			require.Equal(t, 1, e.step(), "one attempt when it is due")
		}
		as := e.attempts(txn)
		require.Greater(t, len(as), 10)
		for _, a := range as {
			require.Equal(t, 503, *a.StatusCode)
			require.Contains(t, a.ResponseExcerpt, "maintenance")
		}
		// The waits grow from seconds to hours.
		require.Less(t, as[1].StartedAt.Sub(as[0].StartedAt), 15*time.Second)
		require.Greater(t, as[len(as)-2].StartedAt.Sub(as[len(as)-3].StartedAt), 2*time.Hour)
		require.Equal(t, 1.0, e.metric("paygate_ipn_deliveries_failed_total"))
		require.Equal(t, 0.0, e.metric("paygate_ipn_queue_depth"))
		queued, err := e.n.Sweep(ctx)
		require.NoError(t, err)
		require.Zero(t, queued, "a notification given up is owed nothing more")
		jobs, err := e.s.ListRiverJobs(ctx, ipn.KindDeliver, 1000)
		require.NoError(t, err)
		for _, j := range jobs {
			require.Equal(t, "completed", j.State, "no job is left waiting")
		}

		t.Run("AManualResendStillWorks", func(t *testing.T) {
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			require.NoError(t, e.s.InTx(ctx, func(tx *store.Store) error {
				return tx.ExecAdmin(ctx, "UPDATE ipn_deliveries SET url = '"+shop.URL()+"'") // the merchant moved
			}))
			_, err := e.n.Resend(ctx, e.admin, e.org.ID, txn.ID)
			require.NoError(t, err)
			e.step()
			require.Equal(t, domain.IPNDeliveryDelivered, e.deliveries(txn)[0].Status)
		})
	})
}

func TestAKilledBackendResumesOnAnotherWithoutLosingOrDoublingNotifications(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		t.Run("KilledMidAttempt", func(t *testing.T) {
			// Backend 1's request must stay frozen for as long as the test needs, however slow
			// the machine: give it far more than the default 10 s. One worker: frozen, it takes
			// nothing more, as a killed process would not.
			e := newEnv(t, d, envOptions{attemptTimeout: 10 * time.Minute, concurrency: 1})
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			arrived, release := shop.holdNext()
			txn := e.transaction(shop.URL())
			_, err := e.d.DispatchOnce(ctx)
			require.NoError(t, err)

			// Backend 1 sends the first notification; the merchant is slow, and backend 1
			// freezes there (killed, or cut off): it never records anything more.
			<-arrived
			as := e.attempts(txn)
			require.Len(t, as, 1, "the attempt is recorded before it is sent")
			require.Nil(t, as[0].FinishedAt)

			// Its job is running: the sweep counts it as queued while it is young (by River's
			// clock), as its worker's once it is older than the grace.
			fresh, err := e.s.QueuedRiverTransactions(ctx, queue.IPN, time.Now().Add(-time.Minute))
			require.NoError(t, err)
			require.True(t, fresh[txn.ID], "a job fetched a moment ago holds its transaction")
			old, err := e.s.QueuedRiverTransactions(ctx, queue.IPN, time.Now().Add(time.Second))
			require.NoError(t, err)
			require.False(t, old[txn.ID], "a job running past the grace does not")

			// Meanwhile the buyer goes on; backend 2 starts and dispatches that. While the
			// attempt is fresh it is the transaction's lock: nothing else is sent.
			e.move(txn, domain.TxnPendingProvider)
			b := e.newBackend("backend-2", 4)
			b.stuck = 1
			for i := 0; i < 3; i++ {
				b.step()
			}
			require.Len(t, e.attempts(txn), 1, "an attempt in flight is not doubled, and order is kept")
			e.clock.Advance(15 * time.Minute) // past the attempt's timeout (10 min) + 2 s: its worker is dead
			b.settle(time.Hour)
			ds := e.deliveries(txn)
			require.Len(t, ds, 2)
			for _, dv := range ds {
				require.Equal(t, domain.IPNDeliveryDelivered, dv.Status)
			}
			as = e.attempts(txn)
			require.Len(t, as, 3)
			require.Equal(t, domain.IPNAttemptInterrupted, as[0].Error, "the dead attempt is visible as interrupted")
			require.Equal(t, as[0].DeliveryID, as[1].DeliveryID, "the same notification again")
			_, applied, problems := shop.snapshot()
			require.Empty(t, problems)
			require.Equal(t, []float64{-1, 0}, statuses(applied))

			// Backend 1 wakes up: the merchant answers its old request, a duplicate it
			// acknowledges; backend 1 records the late answer and sends nothing more.
			release()
			e.backend.stuck = 0
			e.r.Drain(t, 0)
			requests, applied, problems := shop.snapshot()
			require.Empty(t, problems)
			require.Len(t, requests, 3)
			require.Equal(t, []float64{-1, 0}, statuses(applied), "nothing lost, nothing applied twice")
			require.Len(t, e.attempts(txn), 3)
			for _, dv := range e.deliveries(txn) {
				require.Equal(t, domain.IPNDeliveryDelivered, dv.Status)
			}
		})
		t.Run("StoppedMidAttempt", func(t *testing.T) {
			e := newEnv(t, d, envOptions{})
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			arrived, _ := shop.holdNext()
			txn := e.transaction(shop.URL())
			e.move(txn, domain.TxnPendingProvider)
			e.move(txn, domain.TxnSucceeded)
			_, err := e.d.DispatchOnce(ctx)
			require.NoError(t, err)

			<-arrived
			e.r.Stop(time.Millisecond) // SIGTERM with no grace left: running jobs are cancelled
			as := e.attempts(txn)
			require.Len(t, as, 1)
			require.Contains(t, as[0].Error, "interrupted")
			require.NotNil(t, as[0].FinishedAt)

			b := e.newBackend("backend-2", 4)
			b.settle(time.Hour)
			requests, applied, problems := shop.snapshot()
			require.Empty(t, problems)
			require.Equal(t, []float64{-1, 0, 1}, statuses(applied))
			require.Len(t, requests, 4, "the interrupted request and one per status")
			require.Equal(t, "sender went away", requests[0].Reject)
		})
	})
}

func TestTwoBackendsOnOneDatabaseMakeEachAttemptOnce(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		// The fake clock below runs about 100 times faster than real time; attempts are judged
		// stale on it, so give them a timeout it cannot outrun while one is in progress —
		// otherwise a slow attempt (race detector, loaded machine) would be taken over
		// legitimately, which is TestAKilledBackendResumesOnAnother...'s subject, not this test's.
		e := newEnv(t, d, envOptions{attemptTimeout: time.Hour})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		first := e.backend
		second := e.newBackend("backend-2", 4)
		var txns []*domain.Transaction
		for i := 0; i < 10; i++ {
			txn := e.transaction(shop.URL())
			e.move(txn, domain.TxnPendingProvider)
			e.move(txn, domain.TxnSucceeded)
			txns = append(txns, txn)
		}
		const want = 30
		run, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, b := range []*backend{first, second} {
			wg.Add(2)
			go func(b *backend) { defer wg.Done(); b.n.RunSweeper(run, 5*time.Millisecond) }(b)
			go func(b *backend) { defer wg.Done(); _ = b.d.Run(run) }(b)
		}
		go func() {
			// The fake clock moves on, as time does.
			for run.Err() == nil {
				e.clock.Advance(500 * time.Millisecond)
				time.Sleep(5 * time.Millisecond)
			}
		}()
		require.Eventually(t, func() bool {
			_, applied, _ := shop.snapshot()
			return len(applied) >= want
		}, 60*time.Second, 20*time.Millisecond)
		stop()
		wg.Wait()
		first.r.Drain(t, 0)

		requests, applied, problems := shop.snapshot()
		require.Empty(t, problems)
		require.Len(t, applied, want)
		require.Len(t, requests, want, "one request per notification: no attempt made twice")
		perDelivery := map[string]int{}
		for _, r := range requests {
			perDelivery[r.Header.Get("X-IPN-Delivery-ID")]++
		}
		require.Len(t, perDelivery, want)
		attempts := 0
		for _, txn := range txns {
			as := e.attempts(txn)
			attempts += len(as)
			for _, dv := range e.deliveries(txn) {
				require.Equal(t, domain.IPNDeliveryDelivered, dv.Status)
				require.Equal(t, 1, dv.Attempts)
			}
		}
		require.Equal(t, want, attempts)
		require.Positive(t, first.r.Runs(), "both backends worked")
		require.Positive(t, second.r.Runs())
	})
}

func TestRegeneratedSecretSignsTheNextAttempt(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		old := e.secret
		shop := newMerchant(t, old, e.clock.Now, true)
		shop.answer(500)
		txn := e.transaction(shop.URL())
		e.step()

		fresh, err := e.svc.Tenancy.RegenerateWebhookSecret(ctx, e.admin, e.org.ID, e.site.ID)
		require.NoError(t, err)
		shop.setSecret(fresh) // the merchant pastes the new secret into its plugin
		e.settle(time.Hour)

		requests, applied, _ := shop.snapshot()
		require.Len(t, requests, 2)
		require.True(t, verifies(requests[0], old))
		require.True(t, verifies(requests[1], fresh), "the next attempt uses the new secret")
		require.False(t, verifies(requests[1], old))
		require.Len(t, applied, 1)
		require.Equal(t, domain.IPNDeliveryDelivered, e.deliveries(txn)[0].Status)
	})
}

func TestResend(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		txn := e.transaction(shop.URL())
		e.move(txn, domain.TxnSucceeded)
		e.settle(time.Hour)

		t.Run("SameDeliveryAndBodyFreshSignature", func(t *testing.T) {
			e.clock.Advance(90 * time.Second)
			dv, err := e.n.Resend(ctx, e.admin, e.org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, 2, dv.EventVersion, "the latest notification")
			require.Equal(t, 1, dv.IPNStatus)
			e.step()

			requests, applied, problems := shop.snapshot()
			require.Empty(t, problems)
			require.Len(t, requests, 3)
			first, again := requests[1], requests[2]
			require.Equal(t, dv.ID, again.Header.Get("X-IPN-Delivery-ID"))
			require.Equal(t, first.Header.Get("X-IPN-Delivery-ID"), again.Header.Get("X-IPN-Delivery-ID"))
			require.Equal(t, string(first.Body), string(again.Body), "the same bytes")
			require.NotEqual(t, first.Header.Get("X-Signature-Timestamp"), again.Header.Get("X-Signature-Timestamp"))
			require.NotEqual(t, first.Header.Get("X-Signature-HMAC-SHA256"), again.Header.Get("X-Signature-HMAC-SHA256"))
			require.Equal(t, 200, again.Code)
			require.True(t, verifies(again, e.secret))
			require.Len(t, applied, 2, "the receiver recognises the duplicate")

			as := e.attempts(txn)
			require.Len(t, as, 3)
			require.Equal(t, "manual", as[2].Trigger)
			require.Equal(t, 2, as[2].Attempt)
			require.True(t, as[2].Success)
			entries, err := e.s.ListAudit(ctx, store.AuditFilter{OrganizationID: e.org.ID, Action: "ipn.resend", Limit: 10})
			require.NoError(t, err)
			require.Len(t, entries, 1)
			require.Equal(t, txn.ID, entries[0].TargetID)
			require.Equal(t, dv.ID, entries[0].Details["deliveryId"])
		})
		t.Run("Authorisation", func(t *testing.T) {
			viewer := e.admin
			viewer.Role = domain.RoleViewer
			_, err := e.n.Resend(ctx, viewer, e.org.ID, txn.ID)
			require.Equal(t, domain.KindForbidden, domain.ErrorKind(err))
			_, err = e.n.ListAttempts(ctx, viewer, e.org.ID, txn.ID)
			require.NoError(t, err, "viewers read attempts")
			key := domain.Actor{Type: domain.ActorAPIKey, ID: "key_1", OrganizationID: e.org.ID, Scopes: []string{"ipn:read"}}
			_, err = e.n.Resend(ctx, key, e.org.ID, txn.ID)
			require.Equal(t, domain.CodeInsufficientScope, domain.ErrorCode(err))

			other, err := e.svc.Tenancy.CreateOrganization(ctx, domain.SystemActor(""), platformOrg("Other"))
			require.NoError(t, err)
			stranger := domain.Actor{Type: domain.ActorUser, ID: "usr_x", OrganizationID: other.ID, Role: domain.RoleAdmin}
			_, err = e.n.ListAttempts(ctx, stranger, other.ID, txn.ID)
			require.True(t, domain.IsNotFound(err), "another organisation's transaction does not exist")
			_, err = e.n.ListDeliveries(ctx, stranger, e.org.ID, txn.ID)
			require.True(t, domain.IsNotFound(err))
			_, err = e.n.Resend(ctx, stranger, other.ID, txn.ID)
			require.True(t, domain.IsNotFound(err))
		})
		t.Run("NotFoundWithoutNotification", func(t *testing.T) {
			silent := e.transaction("") // no ipnUrl
			e.step()
			_, err := e.n.Resend(ctx, e.admin, e.org.ID, silent.ID)
			require.True(t, domain.IsNotFound(err))
			as, err := e.n.ListAttempts(ctx, e.admin, e.org.ID, silent.ID)
			require.NoError(t, err)
			require.Empty(t, as)
		})
		t.Run("WhilePendingKeepsTheSchedule", func(t *testing.T) {
			shop.answer(500, 500) // the scheduled attempt and the manual one fail
			pending := e.transaction(shop.URL())
			e.step()
			before := e.deliveries(pending)[0]
			require.Equal(t, domain.IPNDeliveryPending, before.Status)
			_, err := e.n.Resend(ctx, e.admin, e.org.ID, pending.ID)
			require.NoError(t, err)
			e.step()
			after := e.deliveries(pending)[0]
			require.Equal(t, domain.IPNDeliveryPending, after.Status)
			require.Equal(t, 2, after.Attempts)
			require.True(t, before.NextAttemptAt.Equal(*after.NextAttemptAt), "a failed manual attempt does not move the schedule")
			e.settle(time.Hour)
			require.Equal(t, domain.IPNDeliveryDelivered, e.deliveries(pending)[0].Status)
		})
		t.Run("KeepsTheOrderWhileAnEarlierOneIsPending", func(t *testing.T) {
			shop.answer(500) // the first notification of this transaction fails once
			ordered := e.transaction(shop.URL())
			e.step()
			e.move(ordered, domain.TxnSucceeded)
			e.step()
			ds := e.deliveries(ordered)
			require.Equal(t, domain.IPNDeliveryPending, ds[0].Status)
			require.Equal(t, domain.IPNDeliveryPending, ds[1].Status)
			require.Equal(t, 0, ds[1].Attempts, "the second waits for the first")

			_, err := e.n.Resend(ctx, e.admin, e.org.ID, ordered.ID)
			require.NoError(t, err)
			e.settle(time.Minute) // far less than the first one's backoff
			ds = e.deliveries(ordered)
			require.Equal(t, domain.IPNDeliveryDelivered, ds[0].Status, "the resend pulled the earlier one forward")
			require.Equal(t, domain.IPNDeliveryDelivered, ds[1].Status)
			_, _, problems := shop.snapshot()
			require.Empty(t, problems, "still in order")
		})
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		var followed atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { followed.Add(1) }))
		t.Cleanup(target.Close)
		moved := httptest.NewServer(http.RedirectHandler(target.URL+"/elsewhere", http.StatusFound))
		t.Cleanup(moved.Close)
		txn := e.transaction(moved.URL)
		e.step()
		require.Equal(t, int32(0), followed.Load())
		as := e.attempts(txn)
		require.Len(t, as, 1)
		require.Equal(t, 302, *as[0].StatusCode)
		require.Contains(t, as[0].Error, "redirect")
		require.False(t, as[0].Success)
		require.Equal(t, domain.IPNDeliveryPending, e.deliveries(txn)[0].Status, "a redirect is a failed attempt")
	})
}

// endless is a response body that never ends, counting what is read from it.
type endless struct{ read *atomic.Int64 }

func (r endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.read.Add(int64(len(p)))
	return len(p), nil
}
func (endless) Close() error { return nil }

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAtMost64KBOfAnAnswerIsRead(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		var read atomic.Int64
		rt := roundTripper(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: endless{&read}, Request: r}, nil
		})
		e := newEnv(t, d, envOptions{transport: rt})
		txn := e.transaction("https://shop.example.com/ipn")
		e.step()
		require.LessOrEqual(t, read.Load(), int64(64<<10))
		require.Greater(t, read.Load(), int64(0))
		as := e.attempts(txn)
		require.Len(t, as, 1)
		require.Len(t, as[0].ResponseExcerpt, 1024, "an excerpt is kept")
		require.Equal(t, domain.IPNDeliveryDelivered, e.deliveries(txn)[0].Status)
	})
}

// resolver maps names to addresses; answers may change from one lookup to the next.
type resolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr // name → answer per lookup (the last repeats)
	lookups map[string]int
}

func (r *resolver) LookupNetIP(_ context.Context, _ string, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	as, ok := r.answers[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	i := min(r.lookups[host], len(as)-1)
	r.lookups[host]++
	return as[i], nil
}

func TestSSRFGuard(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		loopback := netip.MustParseAddr("127.0.0.1")
		public := netip.MustParseAddr("93.184.216.34")
		res := &resolver{lookups: map[string]int{}, answers: map[string][][]netip.Addr{
			"shop.internal.test": {{loopback}},
			"rebind.test":        {{public}, {loopback}}, // public when checked, loopback when connecting
			"mixed.test":         {{public, loopback}},
		}}

		t.Run("RefusesLoopbackAndPrivateTargets", func(t *testing.T) {
			e := newEnv(t, d, envOptions{strictGuard: true, resolver: res})
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			port := shop.port()
			direct := e.transaction(shop.URL())
			named := e.transaction("http://shop.internal.test:" + port + "/ipn")
			ftp := e.transaction("ftp://shop.example.com/ipn")
			e.step()
			requests, _, _ := shop.snapshot()
			require.Empty(t, requests, "nothing reaches the internal address")
			a := e.attempts(direct)[0]
			require.Contains(t, a.Error, "refused: 127.0.0.1 is a loopback address")
			require.Nil(t, a.StatusCode)
			require.Contains(t, e.attempts(named)[0].Error, "refused: shop.internal.test resolves to 127.0.0.1")
			require.Contains(t, e.attempts(ftp)[0].Error, "only http and https")
			require.Equal(t, 3.0, e.metric("paygate_ipn_attempts_total{outcome=error}"))
			require.Equal(t, domain.IPNDeliveryPending, e.deliveries(direct)[0].Status, "retried like any failure")
		})
		t.Run("AChangedDNSAnswerIsCaughtAtConnectTime", func(t *testing.T) {
			e := newEnv(t, d, envOptions{strictGuard: true, resolver: res})
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			port := shop.port()
			url := "http://rebind.test:" + port + "/ipn"
			checked := netguard.Policy{Resolver: res} // the check a checkout's ipnUrl gets when it is created
			_, err := checked.CheckHost(ctx, "rebind.test")
			require.NoError(t, err, "the name looked public when it was checked")
			txn := e.transaction(url)
			e.step()
			requests, _, _ := shop.snapshot()
			require.Empty(t, requests)
			require.Contains(t, e.attempts(txn)[0].Error, "refused: rebind.test resolves to 127.0.0.1")
			_, err = checked.CheckHost(ctx, "mixed.test")
			var refused *netguard.TargetError
			require.ErrorAs(t, err, &refused, "one internal answer is enough to refuse")
		})
		t.Run("AllowedWhenConfigured", func(t *testing.T) {
			e := newEnv(t, d, envOptions{resolver: res}) // IPN_ALLOW_PRIVATE_TARGETS=true
			shop := newMerchant(t, e.secret, e.clock.Now, true)
			port := shop.port()
			txn := e.transaction("http://shop.internal.test:" + port + "/ipn")
			e.step()
			_, applied, _ := shop.snapshot()
			require.Len(t, applied, 1)
			require.Equal(t, domain.IPNDeliveryDelivered, e.deliveries(txn)[0].Status)
		})
	})
}

func TestEventsWithoutNotification(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		silent := e.transaction("")
		txn := e.transaction(shop.URL())
		e.move(txn, domain.TxnSucceeded)
		_, err := e.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID,
			To: domain.TxnPartiallyRefunded, Changes: domain.TransactionChanges{RefundedAmount: domain.Ptr[int64](100)}})
		require.NoError(t, err)
		e.settle(time.Hour)
		require.Empty(t, e.deliveries(silent), "no ipnUrl, no notification")
		require.Len(t, e.deliveries(txn), 2, "a partial refund has no IPN status")
		require.Equal(t, 0.0, e.metric("paygate_outbox_undispatched_events"))
	})
}

func TestDispatcherHooks(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{})
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		var broken atomic.Bool
		broken.Store(true)
		var seen sync.Map
		e.d.Register("duda", func(ctx context.Context, tx ipn.Store, ev domain.Event) error {
			if ev.Type == domain.TransactionEventType(domain.TxnSucceeded) && broken.Load() {
				return errors.New("duda is down")
			}
			seen.Store(ev.ID, ev.Type)
			return nil
		})
		txn := e.transaction(shop.URL())
		e.move(txn, domain.TxnSucceeded)
		e.settle(time.Hour)
		ds := e.deliveries(txn)
		require.Len(t, ds, 1, "the failing event's hooks are rolled back together, the IPN hook's too")
		require.Equal(t, domain.IPNDeliveryDelivered, ds[0].Status)
		require.Equal(t, 1.0, e.metric("paygate_outbox_undispatched_events"), "the event stays for the next round")
		require.GreaterOrEqual(t, e.metric("paygate_outbox_hook_errors_total{hook=duda}"), 1.0)

		broken.Store(false)
		e.settle(time.Hour)
		require.Equal(t, 0.0, e.metric("paygate_outbox_undispatched_events"))
		ds = e.deliveries(txn)
		require.Len(t, ds, 2)
		require.Equal(t, domain.IPNDeliveryDelivered, ds[1].Status)
		_, applied, problems := shop.snapshot()
		require.Empty(t, problems)
		require.Equal(t, []float64{-1, 1}, statuses(applied))
		n := 0
		seen.Range(func(any, any) bool { n++; return true })
		require.Equal(t, 4, n, "checkout.created, transaction.initiated, transaction.succeeded, checkout.completed")
	})
}

func TestBodies(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{ipnVersion: 1})
		shop := newMerchant(t, e.secret, e.clock.Now, false)
		txn := e.transaction(shop.URL())
		e.move(txn, domain.TxnSucceeded)
		_, err := e.s.TransitionTransaction(ctx, domain.Transition{OrganizationID: e.org.ID, TransactionID: txn.ID, To: domain.TxnDisputed,
			EventData: map[string]any{"disputeStatus": "open", "disputeId": "dp_123"}})
		require.NoError(t, err)
		e.settle(time.Hour)
		_, applied, _ := shop.snapshot()
		require.Equal(t, []float64{-1, 1, 4}, statuses(applied))
		require.Equal(t, "open", applied[2].field("disputeStatus"), "v1 bodies carry dispute details")
		require.Equal(t, "dp_123", applied[2].field("disputeId"))
		require.Nil(t, applied[1].field("disputeStatus"))
		raw, err := io.ReadAll(strings.NewReader(string(applied[2].Body)))
		require.NoError(t, err)
		require.Equal(t, e.deliveries(txn)[2].Body, string(raw), "the body sent is the body stored")
	})
}

// A transaction's notifications are one job at a time: dispatching its three events at once
// queues one job, and sweeping again while it waits queues none.
func TestOneJobPerTransaction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{noBackend: true}) // nobody works the queue: the jobs stay queued
		n := ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](e.s), Secrets: e.svc.Tenancy, Log: logging.Discard(), Now: e.clock.Now, AllowPrivate: true})
		disp := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](e.s), Log: logging.Discard(), Now: e.clock.Now})
		disp.Register("ipn", n.DispatchEvent)
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		txn := e.transaction(shop.URL())
		e.move(txn, domain.TxnPendingProvider)
		e.move(txn, domain.TxnSucceeded)
		other := e.transaction(shop.URL())
		_, err := disp.DispatchOnce(ctx)
		require.NoError(t, err)
		for i := 0; i < 3; i++ {
			queued, err := n.Sweep(ctx)
			require.NoError(t, err)
			require.Zero(t, queued, "a transaction with a job waiting gets no other")
		}
		jobs, err := e.s.ListRiverJobs(ctx, ipn.KindDeliver, 10)
		require.NoError(t, err)
		require.Len(t, jobs, 2, "one per transaction")
		byTxn := map[string]int{}
		for _, j := range jobs {
			var a ipn.DeliverArgs
			require.NoError(t, json.Unmarshal([]byte(j.Args), &a))
			byTxn[a.TransactionID]++
			require.Equal(t, "ipn", j.Queue)
		}
		require.Equal(t, map[string]int{txn.ID: 1, other.ID: 1}, byTxn)
	})
}

// Two backends with several workers each, and a merchant that refuses every third
// notification: every notification arrives, in event order per transaction.
func TestOrderPerTransactionHoldsWithSeveralWorkersAndRetries(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		e := newEnv(t, d, envOptions{staleAfter: time.Hour, concurrency: 3}) // the fast clock must not make attempts stale
		shop := newMerchant(t, e.secret, e.clock.Now, true)
		var script []int
		for i := 0; i < 300; i++ {
			if i%3 == 2 {
				script = append(script, http.StatusInternalServerError)
			} else {
				script = append(script, http.StatusOK)
			}
		}
		shop.answer(script...)
		backends := []*backend{e.backend, e.newBackend("backend-2", 3)}
		const txns = 15
		for i := 0; i < txns; i++ {
			txn := e.transaction(shop.URL())
			e.move(txn, domain.TxnPendingProvider)
			e.move(txn, domain.TxnSucceeded)
		}
		run, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, b := range backends {
			wg.Add(2)
			go func(b *backend) { defer wg.Done(); b.n.RunSweeper(run, 50*time.Millisecond) }(b)
			go func(b *backend) { defer wg.Done(); _ = b.d.Run(run) }(b)
		}
		go func() {
			// Retries (10 s, 30 s, 1 min ...) come due on a clock 40 times faster than real time:
			// fast, but slow enough that a request still arrives within the merchant's 300 s
			// signature window on a loaded machine.
			for run.Err() == nil {
				e.clock.Advance(200 * time.Millisecond)
				time.Sleep(5 * time.Millisecond)
			}
		}()
		ok := assert.Eventually(t, func() bool {
			_, applied, _ := shop.snapshot()
			return len(applied) >= 3*txns
		}, 180*time.Second, 20*time.Millisecond)
		if !ok { // what was left, for the record
			rows, _ := e.s.DumpTable(ctx, "ipn_deliveries")
			t.Logf("now %s", e.clock.Now())
			for _, r := range rows {
				if strings.Contains(r, "pending") {
					t.Logf("pending: %.300s", r)
				}
			}
			rows, _ = e.s.DumpTable(ctx, "ipn_attempts")
			for _, r := range rows {
				if !strings.Contains(r, "|200|") {
					t.Logf("attempt: %.200s", r)
				}
			}
			jobs, _ := e.s.ListRiverJobs(ctx, ipn.KindDeliver, 1000)
			for _, j := range jobs {
				if j.State != "completed" {
					t.Logf("job: %+v", j)
				}
			}
			t.FailNow()
		}
		stop()
		wg.Wait()
		requests, applied, problems := shop.snapshot()
		require.Empty(t, problems, "never a later event before an earlier one, never a changed body")
		require.Len(t, applied, 3*txns)
		refused := 0
		for _, r := range requests {
			if r.Code == http.StatusInternalServerError {
				refused++
			}
		}
		require.Positive(t, refused, "some were retried")
		perTxn := map[string][]float64{}
		for _, r := range applied {
			id, _ := r.field("id").(string)
			v, _ := r.field("eventVersion").(float64)
			perTxn[id] = append(perTxn[id], v)
		}
		require.Len(t, perTxn, txns)
		for id, vs := range perTxn {
			require.Equal(t, []float64{1, 2, 3}, vs, id)
		}
	})
}
