package duda

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
)

func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	txn := func(id string, typ domain.ProviderType, st domain.TransactionStatus) domain.Transaction {
		return domain.Transaction{ID: id, ProviderType: typ, Status: st, FailureMessage: "card declined"}
	}
	open := &domain.Checkout{Status: domain.CheckoutOpen}
	expired := &domain.Checkout{Status: domain.CheckoutExpired}
	cancelled := &domain.Checkout{Status: domain.CheckoutCancelled}
	completed := &domain.Checkout{Status: domain.CheckoutCompleted}
	for name, tc := range map[string]struct {
		c     *domain.Checkout
		txns  []domain.Transaction
		state dudaapi.ConfirmState
		txnID string
		code  string
	}{
		"NothingYet":                   {open, nil, "", "", ""},
		"ACardAttemptFailedButOpen":    {open, []domain.Transaction{txn("t1", domain.ProviderStripe, domain.TxnFailed)}, "", "", ""},
		"ACardPaymentInFlight":         {open, []domain.Transaction{txn("t1", domain.ProviderStripe, domain.TxnPendingProvider)}, "", "", ""},
		"ATransferWaits":               {open, []domain.Transaction{txn("t1", domain.ProviderWireTransfer, domain.TxnPendingProvider)}, dudaapi.StatePending, "t1", ""},
		"ADirectDebitWaits":            {open, []domain.Transaction{txn("t1", domain.ProviderGoCardless, domain.TxnPendingProvider)}, dudaapi.StatePending, "t1", ""},
		"PaidAfterAFailure":            {completed, []domain.Transaction{txn("t1", domain.ProviderStripe, domain.TxnFailed), txn("t2", domain.ProviderStripe, domain.TxnSucceeded)}, dudaapi.StateProcessed, "t2", ""},
		"RefundedIsStillProcessed":     {completed, []domain.Transaction{txn("t1", domain.ProviderWireTransfer, domain.TxnRefunded)}, dudaapi.StateProcessed, "t1", ""},
		"ExpiredWithATransferOnTheWay": {expired, []domain.Transaction{txn("t1", domain.ProviderWireTransfer, domain.TxnPendingProvider)}, dudaapi.StatePending, "t1", ""},
		"ExpiredWithACardOnTheWay":     {expired, []domain.Transaction{txn("t1", domain.ProviderStripe, domain.TxnPendingProvider)}, "", "", ""},
		"ExpiredAfterAFailedAttempt":   {expired, []domain.Transaction{txn("t1", domain.ProviderStripe, domain.TxnFailed)}, dudaapi.StateFailed, "t1", "checkout_expired"},
		"ExpiredUntried":               {expired, nil, dudaapi.StateFailed, "", "checkout_expired"},
		"Cancelled":                    {cancelled, nil, dudaapi.StateFailed, "", "checkout_cancelled"},
		"LateMoneyAfterExpiry":         {expired, []domain.Transaction{txn("t1", domain.ProviderWireTransfer, domain.TxnSucceeded)}, dudaapi.StateProcessed, "t1", ""},
	} {
		t.Run(name, func(t *testing.T) {
			o := outcomeOf(tc.c, tc.txns)
			require.Equal(t, tc.state, o.state)
			if tc.txnID == "" {
				require.Nil(t, o.txn)
			} else {
				require.Equal(t, tc.txnID, o.txn.ID)
			}
			if tc.code != "" {
				require.Equal(t, tc.code, o.failure.Code)
				require.NotEmpty(t, o.failure.Message)
			} else {
				require.Nil(t, o.failure)
			}
		})
	}
}

func TestDueNeverGoesBack(t *testing.T) {
	t.Parallel()
	id := func(s string) *string { return &s }
	t1, t2 := &domain.Transaction{ID: "t1"}, &domain.Transaction{ID: "t2"}
	for name, tc := range map[string]struct {
		confirmed string
		txn       *string
		o         outcome
		due       bool
	}{
		"FirstPending":            {"", nil, outcome{state: dudaapi.StatePending, txn: t1}, true},
		"PendingAgain":            {"PENDING", id("t1"), outcome{state: dudaapi.StatePending, txn: t1}, false},
		"AnotherPendingAttempt":   {"PENDING", id("t1"), outcome{state: dudaapi.StatePending, txn: t2}, true},
		"ProcessedAfterPending":   {"PENDING", id("t1"), outcome{state: dudaapi.StateProcessed, txn: t1}, true},
		"PendingAfterProcessed":   {"PROCESSED", id("t1"), outcome{state: dudaapi.StatePending, txn: t2}, false},
		"FailedAfterProcessed":    {"PROCESSED", id("t1"), outcome{state: dudaapi.StateFailed}, false},
		"ProcessedAgain":          {"PROCESSED", id("t1"), outcome{state: dudaapi.StateProcessed, txn: t1}, false},
		"FailedAfterPending":      {"PENDING", id("t1"), outcome{state: dudaapi.StateFailed}, true},
		"LateMoneyAfterAFailure":  {"FAILED", nil, outcome{state: dudaapi.StateProcessed, txn: t1}, true},
		"PendingAfterAFailure":    {"FAILED", nil, outcome{state: dudaapi.StatePending, txn: t1}, false},
		"NothingToSay":            {"", nil, outcome{}, false},
		"NothingToSayAfterAnswer": {"PENDING", id("t1"), outcome{}, false},
	} {
		t.Run(name, func(t *testing.T) {
			sess := &domain.DudaSession{ConfirmedState: tc.confirmed, ConfirmedTransactionID: tc.txn}
			require.Equal(t, tc.due, due(sess, tc.o))
		})
	}
}

func TestLines(t *testing.T) {
	t.Parallel()
	item := func(typ, name, unit string, qty int64, disc, total string) dudaapi.SessionItem {
		it := dudaapi.SessionItem{Type: typ, Name: name, UnitPrice: dudaapi.NewDecimal(unit), Quantity: dudaapi.NewQuantity(qty)}
		if disc != "" {
			it.DiscountAmount = dudaapi.NewDecimal(disc)
		}
		if total != "" {
			it.Total = dudaapi.NewDecimalString(total)
		}
		return it
	}
	t.Run("DiscountLinesWhateverTheirSign", func(t *testing.T) {
		for _, v := range []string{"2.00", "-2.00"} {
			got, why := lines([]dudaapi.SessionItem{item("PHYSICAL", "Cup", "10", 1, "", ""), item("DISCOUNT", "", "", 1, "", v)}, "EUR", 800)
			require.Empty(t, why)
			require.Equal(t, []checkout.ItemInput{{Name: "Cup", Quantity: 1, UnitPrice: 1000, ItemType: "goods"}, {Name: "Discount", Quantity: 1, UnitPrice: -200, ItemType: "discount"}}, got)
		}
	})
	t.Run("ATotalBeforeTheLineDiscount", func(t *testing.T) {
		got, why := lines([]dudaapi.SessionItem{item("DIGITAL", "Course", "50", 2, "10", "100")}, "EUR", 9000)
		require.Empty(t, why)
		require.Len(t, got, 2)
		require.Equal(t, int64(-1000), got[1].UnitPrice)
	})
	t.Run("ZeroDecimalCurrency", func(t *testing.T) {
		got, why := lines([]dudaapi.SessionItem{item("PHYSICAL", "Tea", "1500", 2, "", "")}, "JPY", 3000)
		require.Empty(t, why)
		require.Equal(t, int64(1500), got[0].UnitPrice)
	})
	t.Run("OnlyATotal", func(t *testing.T) {
		got, why := lines([]dudaapi.SessionItem{{Type: "SHIPPING", Name: "Post", Total: dudaapi.NewDecimal("4.95")}}, "EUR", 495)
		require.Empty(t, why)
		require.Equal(t, []checkout.ItemInput{{Name: "Post", Quantity: 1, UnitPrice: 495, ItemType: "shipping"}}, got)
	})
	t.Run("UnknownTypesAreGoods", func(t *testing.T) {
		got, why := lines([]dudaapi.SessionItem{item("GIFT_CARD", "Card", "5", 1, "", "")}, "EUR", 500)
		require.Empty(t, why)
		require.Equal(t, "goods", got[0].ItemType)
	})
	for name, tc := range map[string]struct {
		items []dudaapi.SessionItem
		total int64
	}{
		"NoLines":         {nil, 100},
		"WrongSum":        {[]dudaapi.SessionItem{item("PHYSICAL", "A", "1", 1, "", "")}, 200},
		"TooManyDecimals": {[]dudaapi.SessionItem{item("PHYSICAL", "A", "1.005", 1, "", "")}, 100},
		"NegativeLine":    {[]dudaapi.SessionItem{item("SHIPPING", "A", "1", 1, "", "-1.00")}, -100},
		"NoAmountAtAll":   {[]dudaapi.SessionItem{{Type: "PHYSICAL", Name: "A"}}, 100},
	} {
		t.Run(name+"FallsBack", func(t *testing.T) {
			_, why := lines(tc.items, "EUR", tc.total)
			require.NotEmpty(t, why)
		})
	}
}

func TestRefundsToken(t *testing.T) {
	t.Parallel()
	a := refundsToken("c2VjcmV0", "dcn_1", "txn_1")
	require.Len(t, a, 43)
	require.Equal(t, a, refundsToken("c2VjcmV0", "dcn_1", "txn_1"))
	require.NotEqual(t, a, refundsToken("c2VjcmV0", "dcn_1", "txn_2"), "one transaction per link")
	require.NotEqual(t, a, refundsToken("c2VjcmV0", "dcn_2", "txn_1"), "one connection per link")
	require.NotEqual(t, a, refundsToken("b3RoZXI=", "dcn_1", "txn_1"), "keyed by the app secret")
}
