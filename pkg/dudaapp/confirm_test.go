package dudaapp_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestDudaConfirmations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		w.install("shop-1")

		t.Run("WireTransferPendingThenProcessedWithRetries", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			txn := w.payByWire(c, w.tn.Provider)
			w.fake.FailConfirms(ps.ID, 2)

			w.dispatch()
			confirmURL := "/payment-sessions/" + ps.ID + "/confirm"
			for attempt := 1; attempt <= 2; attempt++ {
				w.runJobs()
				require.Equal(t, attempt, w.fake.Count(http.MethodPost, confirmURL))
				require.Empty(t, w.fake.Confirms(ps.ID), "Duda refused attempt %d", attempt)
			}
			w.runJobs() // the third attempt
			require.Equal(t, 3, w.fake.Count(http.MethodPost, confirmURL))
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 1)
			pending := confirms[0]
			require.Equal(t, duda.StatePending, pending.State)
			require.Equal(t, ps.ID, pending.SessionID, "the body names the session, as Duda requires")
			require.Equal(t, txn.ID, pending.TransactionID)
			require.Equal(t, w.tn.Provider.Name, pending.Name)
			require.NotEmpty(t, pending.Icon)
			require.Contains(t, pending.Instructions, "DE89 3704 0044 0532 0130 00")
			require.Contains(t, pending.Instructions, wire.FormatReference(*txn.PaymentReference))
			require.Contains(t, pending.Instructions, "EUR 30.75")
			require.True(t, strings.HasPrefix(pending.Links.Refunds, w.url("/refunds/"+txn.ID+"/")), pending.Links.Refunds)

			sess, err := s.GetDudaSession(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, "PENDING", sess.ConfirmedState)
			require.Equal(t, txn.ID, *sess.ConfirmedTransactionID)
			require.Contains(t, sess.ReturnURL, "/store/thank-you")
			ret, err := w.env.Main.Services.Payment.ReturnURL(ctx, c, txn)
			require.NoError(t, err)
			require.Equal(t, sess.ReturnURL, ret, "the shopper goes back to Duda")

			w.markPaid(txn.ID)
			w.settle()
			confirms = w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 2)
			require.Equal(t, duda.StateProcessed, confirms[1].State)
			require.Equal(t, txn.ID, confirms[1].TransactionID)
			require.Equal(t, pending.Links.Refunds, confirms[1].Links.Refunds)
			require.Contains(t, confirms[1].Instructions, "EUR 30.75")

			// Nothing lower (nor the same) is ever sent again.
			_, err = w.env.Main.Services.Payment.CancelByBuyer(ctx, txn.ID)
			require.Error(t, err)
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 2)
		})
		t.Run("AfterAPendingConfirmTheShopperIsSentToDudasReturnURL", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			txn := w.payByWire(c, w.tn.Provider)
			statusURL := w.env.MainURL + "/api/v1/transactions/" + txn.ID
			before := apptest.Do(t, http.MethodGet, statusURL+"/status", "", nil)
			require.Equal(t, http.StatusOK, before.Status, string(before.Body))
			require.Nil(t, before.JSON(t)["leaveOnPending"], "the shopper reads the bank details first")

			// The shopper says the transfer is sent: the page sends them back to Duda, through
			// the trampoline until Duda has answered the PENDING confirm with its return_url.
			sent := apptest.Do(t, http.MethodPost, statusURL+"/mark-pending", "", nil)
			require.Equal(t, http.StatusOK, sent.Status, string(sent.Body))
			require.Equal(t, true, sent.JSON(t)["leaveOnPending"])
			ret := sent.JSON(t)["returnUrl"].(string)
			res := apptest.Do(t, http.MethodGet, ret, "", nil)
			require.Equal(t, http.StatusFound, res.Status, string(res.Body))
			require.Equal(t, w.fake.URL()+"/store/thank-you?session="+ps.ID, res.Header.Get("Location"), "Duda's return_url")
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 1)
			require.Equal(t, duda.StatePending, confirms[0].State)

			w.settle()
			after := apptest.Do(t, http.MethodGet, statusURL+"/status", "", nil)
			require.Equal(t, true, after.JSON(t)["leaveOnPending"])
			require.Equal(t, res.Header.Get("Location"), after.JSON(t)["returnUrl"], "straight to Duda once it answered")
			require.Len(t, w.fake.Confirms(ps.ID), 1)
		})
		t.Run("TheReturnTrampolineConfirmsAndRedirects", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			txn := w.payByWire(c, w.tn.Provider)
			w.markPaid(txn.ID) // the outbox has not run: nothing confirmed yet
			ret, err := w.env.Main.Services.Payment.ReturnURL(ctx, c, txn)
			require.NoError(t, err)
			require.Equal(t, w.url("/return/"+c.ID), ret)

			res := apptest.Do(t, http.MethodGet, ret, "", nil)
			require.Equal(t, http.StatusFound, res.Status, string(res.Body))
			require.Equal(t, w.fake.URL()+"/store/thank-you?session="+ps.ID, res.Header.Get("Location"))
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 1)
			require.Equal(t, duda.StateProcessed, confirms[0].State, "straight to the latest state")

			w.settle() // the queued PENDING and PROCESSED jobs find nothing left to say
			require.Len(t, w.fake.Confirms(ps.ID), 1)
			ret, err = w.env.Main.Services.Payment.ReturnURL(ctx, c, txn)
			require.NoError(t, err)
			require.Equal(t, res.Header.Get("Location"), ret)

			require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, w.env.MainURL+"/duda/dcn_other/return/"+c.ID, "", nil).Status)
		})
		t.Run("APaymentCompletedWhileUninstalledIsConfirmedAfterReinstall", func(t *testing.T) {
			w.install("shop-away")
			ps := w.fake.CreateSession("shop-away", testSpec())
			c := w.checkoutFor("shop-away", ps.ID)
			txn := w.payByWire(c, w.tn.Provider)
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 1) // PENDING

			res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/uninstall"), w.fake.UninstallPayload("shop-away")))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			w.markPaid(txn.ID) // the transfer arrives while the app is away
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 1, "nothing can be sent without the site's tokens")

			w.install("shop-away")
			w.settle()
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 2, "the outstanding confirmation is sent after the reinstall")
			require.Equal(t, duda.StateProcessed, confirms[1].State)
			require.Equal(t, txn.ID, confirms[1].TransactionID)
			sess, err := s.GetDudaSession(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, "PROCESSED", sess.ConfirmedState)
		})
		t.Run("AShoppersCancelIsConfirmedFailedWithTheReason", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			w.payByWire(c, w.tn.Provider) // shown the bank details, the shopper changes their mind
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 1) // PENDING

			// The page's cancel link, as the runtime API hands it to the hosted page.
			view := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/checkouts/"+c.SessionPublicID, "", nil)
			require.Equal(t, http.StatusOK, view.Status, string(view.Body))
			link := view.JSON(t)["cancelUrl"].(string)
			require.True(t, strings.HasPrefix(link, w.url("/cancel/"+c.ID+"/")), link)

			res := apptest.Do(t, http.MethodGet, link, "", nil)
			require.Equal(t, http.StatusFound, res.Status, string(res.Body))
			require.Equal(t, ps.CancelURL, res.Header.Get("Location"), "back to Duda's cart")
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 2, "Duda hears at once")
			require.Equal(t, duda.StateFailed, confirms[1].State)
			require.Equal(t, "shopper_cancelled", confirms[1].Error.Code)
			require.Contains(t, confirms[1].Error.Message, "cancelled")
			got, err := s.GetCheckout(ctx, w.tn.Org.ID, c.ID)
			require.NoError(t, err)
			require.Equal(t, domain.CheckoutCancelled, got.Status)

			w.settle() // the queued jobs find nothing left to say
			require.Len(t, w.fake.Confirms(ps.ID), 2)
			again := apptest.Do(t, http.MethodGet, link, "", nil)
			require.Equal(t, ps.CancelURL, again.Header.Get("Location"))
			require.Len(t, w.fake.Confirms(ps.ID), 2)
			require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, link[:strings.LastIndex(link, "/")]+"/AAAA", "", nil).Status, "a forged link")
		})
		t.Run("AnExpiredCheckoutIsConfirmedFailed", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			_, err := w.env.Services().Checkout.ExpireCheckout(ctx, w.tn.Admin, w.tn.Org.ID, c.ID)
			require.NoError(t, err)
			w.settle()
			confirms := w.fake.Confirms(ps.ID)
			require.Len(t, confirms, 1)
			require.Equal(t, duda.StateFailed, confirms[0].State)
			require.Equal(t, "checkout_expired", confirms[0].Error.Code)
			require.NotEmpty(t, confirms[0].Error.Message)
		})
		t.Run("AFailedAttemptOnAnOpenCheckoutIsNotFinal", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			txn := w.payByWire(c, w.tn.Provider)
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 1) // PENDING
			_, err := w.env.Main.Services.Payment.CancelByBuyer(ctx, txn.ID)
			require.NoError(t, err)
			w.settle()
			require.Len(t, w.fake.Confirms(ps.ID), 1, "the shopper may still pay another way")
		})
	})
}
