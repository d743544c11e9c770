package duda_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
)

func TestParseRefundNotificationFindsWhatItCan(t *testing.T) {
	t.Parallel()
	type want struct {
		intentID, txID, originalTxID, currency, reason string
		minor                                          int64 // -1: no amount found
		mode                                           duda.Mode
	}
	for _, tc := range []struct {
		name string
		body string
		want want
	}{
		{
			name: "flat snake_case with a string amount",
			body: `{"refund_intent_id":"ri_1","amount":"10.50","currency":"EUR","transaction_id":"tx_1"}`,
			want: want{intentID: "ri_1", txID: "tx_1", currency: "EUR", minor: 1050},
		},
		{
			name: "flat camelCase with a numeric amount and a lower-case currency",
			body: `{"refundIntentId":"ri_2","refundAmount":10.5,"currency":"eur","originalTransactionId":"tx_2"}`,
			want: want{intentID: "ri_2", originalTxID: "tx_2", currency: "EUR", minor: 1050},
		},
		{
			name: "nested refund_intent object",
			body: `{"event":"REFUND_CREATED","refund_intent":{"id":"ri_3","total":"500","currency":"JPY","original_transaction_id":"tx_3"}}`,
			want: want{intentID: "ri_3", originalTxID: "tx_3", currency: "JPY", minor: 500},
		},
		{
			name: "the refund intent itself",
			body: `{"id":"ri_4","mode":"TEST","purchase_id":"cart_1","purchase_type":"CART","original_transaction_id":"tx_4",
				"reason":"damaged","items":[{"product_id":"p1","type":"PHYSICAL","quantity":1,"amount":12.3}],"currency":"EUR","total":12.3}`,
			want: want{intentID: "ri_4", originalTxID: "tx_4", currency: "EUR", reason: "damaged", minor: 1230, mode: duda.ModeTest},
		},
		{
			name: "deeply wrapped with an amount object",
			body: `{"type":"refund","data":{"refund":{"id":"ri_5","amount":{"value":"7.00","currency":"usd"}},"transaction_id":"tx_5"}}`,
			want: want{intentID: "ri_5", txID: "tx_5", currency: "USD", minor: 700},
		},
		{
			name: "a one-element array",
			body: `[{"refund_intent_id":"ri_6","refund_amount":"3.333","currency":"KWD"}]`,
			want: want{intentID: "ri_6", currency: "KWD", minor: 3333},
		},
		{
			name: "the intent id as a plain refund_intent string",
			body: `{"refund_intent":"ri_7","total":1,"currency":"EUR"}`,
			want: want{intentID: "ri_7", currency: "EUR", minor: 100},
		},
		{"an empty object", `{}`, want{minor: -1}},
		{"an empty array", `[]`, want{minor: -1}},
		{"a bare string", `"refund"`, want{minor: -1}},
		{"a bare number", `42`, want{minor: -1}},
		{"unknown keys only", `{"foo":{"bar":[1,2,{"baz":true}]}}`, want{minor: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := duda.ParseRefundNotification([]byte(tc.body))
			require.NoError(t, err)
			require.Equal(t, tc.want.intentID, n.RefundIntentID)
			require.Equal(t, tc.want.txID, n.TransactionID)
			require.Equal(t, tc.want.originalTxID, n.OriginalTransactionID)
			require.Equal(t, tc.want.reason, n.Reason)
			require.Equal(t, tc.want.mode, n.Mode)
			require.JSONEq(t, tc.body, string(n.Raw), "the whole body is kept for the log")
			if tc.want.minor < 0 {
				require.False(t, n.Amount.IsSet())
				return
			}
			require.Equal(t, tc.want.currency, n.Currency)
			got, err := n.Amount.Minor(n.Currency)
			require.NoError(t, err)
			require.Equal(t, tc.want.minor, got)
		})
	}
}

func TestParseRefundNotificationPrefersOurTransactionID(t *testing.T) {
	t.Parallel()
	n, err := duda.ParseRefundNotification([]byte(`{"transaction_id":"duda_refund_9","original_transaction_id":"tx_ours"}`))
	require.NoError(t, err)
	require.Equal(t, "tx_ours", n.OurTransactionID())
	n, err = duda.ParseRefundNotification([]byte(`{"transaction_id":"tx_ours"}`))
	require.NoError(t, err)
	require.Equal(t, "tx_ours", n.OurTransactionID())
}

func TestParseRefundNotificationRejectsOnlyNonJSON(t *testing.T) {
	t.Parallel()
	for _, body := range []string{``, `not json`, `{"a":`, `{} {}`, `<xml/>`} {
		t.Run(body, func(t *testing.T) {
			t.Parallel()
			_, err := duda.ParseRefundNotification([]byte(body))
			require.Error(t, err)
		})
	}
}

// Found by FuzzDudaRequests: "\v0]" was read as the notification 0, because the body was
// trimmed of Unicode spaces (JSON allows only space, tab, CR and LF) and the decoder's More let
// the stray "]" through. What is not JSON is refused.
func TestParseRefundNotificationRefusesTextAroundTheValue(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"\v0]", `{"refund_intent_id":"ri_1"}]`, `{"refund_intent_id":"ri_1"}}`, "\u00a0{}", `{} x`} {
		_, err := duda.ParseRefundNotification([]byte(body))
		require.Error(t, err, body)
	}
	n, err := duda.ParseRefundNotification([]byte(" \r\n{\"refund_intent_id\":\"ri_1\"}\t\n"))
	require.NoError(t, err)
	require.Equal(t, "ri_1", n.RefundIntentID)
	require.JSONEq(t, `{"refund_intent_id":"ri_1"}`, string(n.Raw))
}
