package dudaapp_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// paidOrder is a Duda order paid by transfer and confirmed PROCESSED; it returns the
// transaction and the refunds link Duda was given.
func (w *world) paidOrder(site string) (*domain.Transaction, string, string) {
	w.t.Helper()
	ps := w.fake.CreateSession(site, testSpec())
	c := w.checkoutFor(site, ps.ID)
	txn := w.payByWire(c, w.tn.Provider)
	w.markPaid(txn.ID)
	w.settle()
	confirms := w.fake.Confirms(ps.ID)
	require.NotEmpty(w.t, confirms)
	last := confirms[len(confirms)-1]
	require.Equal(w.t, duda.StateProcessed, last.State)
	return txn, last.Links.Refunds, ps.Invoice.PurchaseID
}

func TestDudaRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		w.install("shop-1")

		t.Run("ARefundIntentBecomesARecordedRefundAndAnIPN", func(t *testing.T) {
			txn, link, _ := w.paidOrder("shop-1")
			ri := w.fake.CreateRefundIntent("shop-1", duda.RefundIntent{Mode: duda.ModeTest, OriginalTransactionID: txn.ID, Currency: "EUR",
				Total: duda.NewDecimalString("30.75"), Reason: "Customer changed their mind"})
			body := `{"refund_intent_id":"` + ri.ID + `","something_else":{"nested":true}}`
			res := apptest.Do(t, http.MethodPost, link, "", []byte(body))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			out := res.JSON(t)
			refundID := out["refundId"].(string)
			require.Equal(t, "succeeded", out["status"])
			require.Equal(t, float64(3075), out["amount"])

			r, err := s.GetRefund(ctx, w.tn.Org.ID, refundID)
			require.NoError(t, err)
			require.Equal(t, int64(3075), r.Amount)
			require.Equal(t, "duda", r.Source)
			require.Contains(t, r.Reason, "Customer changed their mind")
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, domain.TxnRefunded, got.Status)
			rec, err := s.GetDudaRefund(ctx, w.connID, "intent:"+ri.ID)
			require.NoError(t, err)
			require.Equal(t, store.DudaRefundRecorded, rec.Status)
			require.Equal(t, body, rec.RawBody, "the body is kept as Duda sent it")
			require.Equal(t, refundID, *rec.RefundID)

			w.settle()
			require.Contains(t, w.ipns.statuses(), float64(domain.IPNRefunded), "the merchant hears of the refund")

			// The same notification again: the recorded answer, no second refund.
			again := apptest.Do(t, http.MethodPost, link, "", []byte(body))
			require.Equal(t, http.StatusOK, again.Status, string(again.Body))
			require.Equal(t, refundID, again.JSON(t)["refundId"])
			refunds, err := s.ListRefunds(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Len(t, refunds, 1)
		})
		t.Run("AnAmountWithoutIntentIsRefundedInPart", func(t *testing.T) {
			txn, link, _ := w.paidOrder("shop-1")
			res := apptest.Do(t, http.MethodPost, link, "", []byte(`{"refund":{"amount":{"value":"5.25","currency":"EUR"}},"transaction_id":"`+txn.ID+`"}`))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, domain.TxnPartiallyRefunded, got.Status)
			require.Equal(t, int64(525), got.RefundedAmount)
		})
		t.Run("AnIntentOfAnotherOrderIsRejectedAndKept", func(t *testing.T) {
			txn, link, _ := w.paidOrder("shop-1")
			ri := w.fake.CreateRefundIntent("shop-1", duda.RefundIntent{OriginalTransactionID: "txn_someone_else", PurchaseID: "cart_other",
				Currency: "EUR", Total: duda.NewDecimal("1")})
			res := apptest.Do(t, http.MethodPost, link, "", []byte(`{"refundIntentId":"`+ri.ID+`"}`))
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			rec, err := s.GetDudaRefund(ctx, w.connID, "intent:"+ri.ID)
			require.NoError(t, err)
			require.Equal(t, store.DudaRefundRejected, rec.Status)
			require.NotEmpty(t, rec.Error)
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, domain.TxnSucceeded, got.Status)
		})
		t.Run("AnIntentMatchedByPurchaseID", func(t *testing.T) {
			txn, link, purchase := w.paidOrder("shop-1")
			ri := w.fake.CreateRefundIntent("shop-1", duda.RefundIntent{Mode: duda.ModeTest, PurchaseID: purchase, Currency: "EUR", Total: duda.NewDecimal("10")})
			res := apptest.Do(t, http.MethodPost, link, "", []byte(`{"id":"`+ri.ID+`"}`))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, int64(1000), got.RefundedAmount)
		})
		t.Run("RefusedRefunds", func(t *testing.T) {
			txn, link, _ := w.paidOrder("shop-1")
			cases := map[string]struct {
				url, body string
				status    int
			}{
				"ABadToken":          {link[:strings.LastIndex(link, "/")] + "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", `{"amount":"1.00"}`, http.StatusNotFound},
				"AnotherTransaction": {strings.Replace(link, txn.ID, "txn_01abcdefghjkmnpqrstvwxyz0", 1), `{"amount":"1.00"}`, http.StatusNotFound},
				"NoAmountNoIntent":   {link, `{"note":"refund please"}`, http.StatusUnprocessableEntity},
				"AnotherCurrency":    {link, `{"amount":"1.00","currency":"USD"}`, http.StatusUnprocessableEntity},
				"MoreThanPaid":       {link, `{"amount":"31.00"}`, http.StatusUnprocessableEntity},
				"TooPrecise":         {link, `{"amount":"1.001"}`, http.StatusUnprocessableEntity},
				"NotJSON":            {link, `refund=1`, http.StatusBadRequest},
			}
			for name, tc := range cases {
				res := apptest.Do(t, http.MethodPost, tc.url, "", []byte(tc.body))
				require.Equal(t, tc.status, res.Status, name+": "+string(res.Body))
			}
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, int64(0), got.RefundedAmount)
		})
		t.Run("AfterUninstallIntentAndAmountRefundsAreHeldAlikeThenAppliedAfterReinstall", func(t *testing.T) {
			w.install("shop-gone")
			byIntent, intentLink, _ := w.paidOrder("shop-gone")
			byAmount, amountLink, _ := w.paidOrder("shop-gone")
			res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/uninstall"), w.fake.UninstallPayload("shop-gone")))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))

			ri := w.fake.CreateRefundIntent("shop-gone", duda.RefundIntent{Mode: duda.ModeTest, OriginalTransactionID: byIntent.ID, Currency: "EUR",
				Total: duda.NewDecimalString("30.75")})
			intentBody, amountBody := []byte(`{"refund_intent_id":"`+ri.ID+`"}`), []byte(`{"amount":"30.75","currency":"EUR"}`)
			held := []*apptest.Response{apptest.Do(t, http.MethodPost, intentLink, "", intentBody), apptest.Do(t, http.MethodPost, amountLink, "", amountBody)}
			for i, r := range held {
				require.Equal(t, http.StatusConflict, r.Status, "%d: %s", i, r.Body)
				require.Equal(t, store.DudaRefundReceived, r.JSON(t)["status"])
				require.Contains(t, r.JSON(t)["error"], "not installed")
			}
			require.Equal(t, held[0].JSON(t)["error"], held[1].JSON(t)["error"], "the same answer either way")
			for _, txn := range []*domain.Transaction{byIntent, byAmount} {
				got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
				require.NoError(t, err)
				require.Equal(t, int64(0), got.RefundedAmount, "nothing refunded while the app is away")
			}
			rec, err := s.GetDudaRefund(ctx, w.connID, "intent:"+ri.ID)
			require.NoError(t, err)
			require.Equal(t, store.DudaRefundReceived, rec.Status, "kept, not rejected")

			// Back again: Duda's next delivery of each is carried out.
			w.install("shop-gone")
			for i, r := range []*apptest.Response{apptest.Do(t, http.MethodPost, intentLink, "", intentBody), apptest.Do(t, http.MethodPost, amountLink, "", amountBody)} {
				require.Equal(t, http.StatusOK, r.Status, "%d: %s", i, r.Body)
			}
			for _, txn := range []*domain.Transaction{byIntent, byAmount} {
				got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
				require.NoError(t, err)
				require.Equal(t, domain.TxnRefunded, got.Status)
			}
		})
		t.Run("ASignatureSentMustBeRight", func(t *testing.T) {
			txn, link, _ := w.paidOrder("shop-1")
			body := []byte(`{"amount":"2.00"}`)
			ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
			bad := apptest.Do(t, http.MethodPost, link, "", body, duda.HeaderSignatureTimestamp, ts, duda.HeaderSignature, duda.Sign("b3RoZXI=", ts, body))
			require.Equal(t, http.StatusUnauthorized, bad.Status)
			good := apptest.Do(t, http.MethodPost, link, "", body, duda.HeaderSignatureTimestamp, ts, duda.HeaderSignature, duda.Sign(w.fake.Creds().AppSecret, ts, body))
			require.Equal(t, http.StatusOK, good.Status, string(good.Body))
			got, err := s.GetTransaction(ctx, w.tn.Org.ID, txn.ID)
			require.NoError(t, err)
			require.Equal(t, int64(200), got.RefundedAmount)
		})
	})
}
