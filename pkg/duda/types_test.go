package duda_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
)

func TestItemKindMapsDudaTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ dudaType, want string }{
		{"PHYSICAL", "goods"},
		{"DIGITAL", "digital_service"},
		{"TAX", "tax"},
		{"SHIPPING", "shipping"},
		{"DISCOUNT", "discount"},
		{"physical", "goods"},
		{" Digital ", "digital_service"},
		{"GIFT_CARD", ""},
		{"", ""},
	} {
		t.Run(tc.dudaType, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, duda.SessionItem{Type: tc.dudaType}.Kind())
			require.Equal(t, tc.want, duda.PaymentMethodsItem{Type: tc.dudaType}.Kind())
		})
	}
}

func TestSessionItemAmounts(t *testing.T) {
	t.Parallel()
	decode := func(t *testing.T, js string) duda.SessionItem {
		var it duda.SessionItem
		require.NoError(t, json.Unmarshal([]byte(js), &it))
		return it
	}
	t.Run("the line discount is subtracted once from the whole line", func(t *testing.T) {
		t.Parallel()
		a, err := decode(t, `{"type":"PHYSICAL","name":"Mug","unit_price":"10.00","quantity":3,"discount_amount":"2.50","total":"27.50"}`).Amounts("EUR")
		require.NoError(t, err)
		require.Equal(t, duda.ItemAmounts{UnitPrice: 1000, Quantity: 3, Discount: 250, Total: 2750}, a)
		require.True(t, a.Consistent())
	})
	t.Run("a total that ignores the discount is reported as inconsistent", func(t *testing.T) {
		t.Parallel()
		a, err := decode(t, `{"unit_price":10,"quantity":3,"discount_amount":2.5,"total":30}`).Amounts("EUR")
		require.NoError(t, err)
		require.False(t, a.Consistent())
	})
	t.Run("missing quantity, discount and total get their defaults", func(t *testing.T) {
		t.Parallel()
		a, err := decode(t, `{"type":"SHIPPING","unit_price":"4.90"}`).Amounts("EUR")
		require.NoError(t, err)
		require.Equal(t, duda.ItemAmounts{UnitPrice: 490, Quantity: 1, Total: 490}, a)
	})
	t.Run("a missing unit price is an error", func(t *testing.T) {
		t.Parallel()
		_, err := decode(t, `{"name":"x","total":"1"}`).Amounts("EUR")
		require.ErrorIs(t, err, duda.ErrMissingAmount)
	})
	t.Run("a fractional quantity is an error", func(t *testing.T) {
		t.Parallel()
		_, err := decode(t, `{"unit_price":"1","quantity":1.5}`).Amounts("EUR")
		require.ErrorIs(t, err, duda.ErrInvalidAmount)
	})
}

func TestConfirmRequestJSON(t *testing.T) {
	t.Parallel()
	t.Run("links are written even when empty", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(duda.ConfirmRequest{State: duda.StateFailed, Error: &duda.ConfirmError{Code: "declined", Message: "Card declined"}})
		require.NoError(t, err)
		require.JSONEq(t, `{"state":"FAILED","links":{"refunds":""},"error":{"code":"declined","message":"Card declined"}}`, string(b))
	})
	t.Run("a processed confirm carries transaction and refunds link", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(duda.ConfirmRequest{
			State: duda.StateProcessed, TransactionID: "tx_1", Name: "Card", Icon: "https://x/i.png",
			Links: duda.ConfirmLinks{Refunds: "https://pay.example/duda/refunds/tx_1"},
		})
		require.NoError(t, err)
		require.JSONEq(t, `{"state":"PROCESSED","transaction_id":"tx_1","name":"Card","icon":"https://x/i.png",
			"links":{"refunds":"https://pay.example/duda/refunds/tx_1"}}`, string(b))
	})
	for _, tc := range []struct {
		name string
		req  duda.ConfirmRequest
		ok   bool
	}{
		{"processed with transaction and link", duda.ConfirmRequest{State: duda.StateProcessed, TransactionID: "t", Links: duda.ConfirmLinks{Refunds: "u"}}, true},
		{"pending with transaction and link", duda.ConfirmRequest{State: duda.StatePending, TransactionID: "t", Links: duda.ConfirmLinks{Refunds: "u"}}, true},
		{"failed with an error", duda.ConfirmRequest{State: duda.StateFailed, Error: &duda.ConfirmError{Code: "c"}}, true},
		{"processed without transaction", duda.ConfirmRequest{State: duda.StateProcessed, Links: duda.ConfirmLinks{Refunds: "u"}}, false},
		{"processed without refunds link", duda.ConfirmRequest{State: duda.StateProcessed, TransactionID: "t"}, false},
		{"failed without an error", duda.ConfirmRequest{State: duda.StateFailed}, false},
		{"unknown state", duda.ConfirmRequest{State: "DONE"}, false},
	} {
		t.Run("validate: "+tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.ok {
				require.NoError(t, tc.req.Validate())
			} else {
				require.Error(t, tc.req.Validate())
			}
		})
	}
}

func TestInstallPayloadDecodesDudaExample(t *testing.T) {
	t.Parallel()
	// The shape of Duda's documented install call, expiration_date in epoch milliseconds.
	body := `{"auth":{"type":"bearer","authorization_code":"XXX-XXXXX-XXXXX","refresh_token":"YYY-YYYYY-YYYYY",
		"expiration_date":1554254560438},"api_endpoint":"https://api.duda.co","site_name":"a1b2c3d4",
		"installer_account_uuid":"acc","account_owner_uuid":"own","user_lang":"en","app_plan_uuid":"plan",
		"recurrency":"MONTHLY","free":false,"configuration_data":{"color":"red"}}`
	var p duda.InstallPayload
	require.NoError(t, json.Unmarshal([]byte(body), &p))
	require.Equal(t, "a1b2c3d4", p.SiteName)
	require.Equal(t, duda.Tokens{
		AccessToken: "XXX-XXXXX-XXXXX", RefreshToken: "YYY-YYYYY-YYYYY", ExpiresAt: time.UnixMilli(1554254560438).UTC(),
	}, p.Tokens())
	require.JSONEq(t, `{"color":"red"}`, string(p.ConfigurationData))
	require.NoError(t, duda.CheckAPIEndpoint(p.APIEndpoint))
}

func TestUnixTimeAcceptsDudaVariants(t *testing.T) {
	t.Parallel()
	want := time.UnixMilli(1554254560438)
	for _, tc := range []struct {
		name, token string
		want        time.Time
	}{
		{"milliseconds", `1554254560438`, want},
		{"milliseconds as a string", `"1554254560438"`, want},
		{"seconds", `1554254560`, time.Unix(1554254560, 0)},
		{"RFC 3339", `"2019-04-03T01:22:40.438Z"`, want},
		{"null", `null`, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var u duda.UnixTime
			require.NoError(t, json.Unmarshal([]byte(tc.token), &u))
			require.True(t, tc.want.Equal(u.Time), "got %s", u.Time)
		})
	}
	t.Run("written as milliseconds", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal(duda.UnixTime{Time: want})
		require.NoError(t, err)
		require.Equal(t, `1554254560438`, string(b))
	})
	t.Run("garbage is an error", func(t *testing.T) {
		t.Parallel()
		var u duda.UnixTime
		require.Error(t, json.Unmarshal([]byte(`"tomorrow"`), &u))
	})
}

func TestBoolToleratesQuoting(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]bool{`true`: true, `"true"`: true, `1`: true, `false`: false, `"false"`: false, `null`: false} {
		var p duda.UninstallPayload
		require.NoError(t, json.Unmarshal([]byte(`{"site_name":"s","free":`+tok+`}`), &p), tok)
		require.Equal(t, want, bool(p.Free), tok)
	}
	var p duda.UninstallPayload
	require.Error(t, json.Unmarshal([]byte(`{"free":"maybe"}`), &p))
}

func TestModeIsTest(t *testing.T) {
	t.Parallel()
	require.True(t, duda.ModeTest.IsTest())
	require.True(t, duda.Mode("test").IsTest())
	require.False(t, duda.ModeLive.IsTest())
	require.False(t, duda.Mode("").IsTest(), "an unknown mode must not be taken for test")
}

func TestCheckAPIEndpoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		endpoint string
		allowed  []string
		ok       bool
	}{
		{"https://api.duda.co", nil, true},
		{"https://api-sandbox.duda.co/", nil, true},
		{"https://API.duda.co", nil, true},
		{"http://api.duda.co", nil, false},
		{"https://api.duda.co.evil.example", nil, false},
		{"https://user:pw@api.duda.co", nil, false},
		{"https://api.duda.co/api", nil, false},
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080"}, true},
		{"https://api.duda.co", []string{"http://127.0.0.1:8080"}, false},
	} {
		t.Run(tc.endpoint, func(t *testing.T) {
			t.Parallel()
			err := duda.CheckAPIEndpoint(tc.endpoint, tc.allowed...)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
