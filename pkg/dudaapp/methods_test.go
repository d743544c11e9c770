package dudaapp_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// liveSpec is a live cart; live checkouts need an https cancel URL.
func liveSpec() dudafake.SessionSpec {
	return dudafake.SessionSpec{Mode: duda.ModeLive, CancelURL: "https://shop.example.com/cart"}
}

func testSpec() dudafake.SessionSpec { return dudafake.SessionSpec{Mode: duda.ModeTest} }

func TestDudaPaymentMethods(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		w.install("shop-1")
		checkoutURL := w.url("/checkout?provider=")

		t.Run("LiveWithAStringTotal", func(t *testing.T) {
			req := w.fake.PaymentMethodsPayload("shop-1", liveSpec())
			require.True(t, req.Invoice.Total.IsQuoted())
			got := w.methods("live", req)
			require.Len(t, got, 1)
			require.Equal(t, w.live.ID, got[0].ID)
			require.Equal(t, w.live.Name, got[0].Name)
			require.Equal(t, checkoutURL+w.live.ID, got[0].CheckoutURL)
			icon := apptest.Do(t, http.MethodGet, got[0].Icon, "", nil)
			require.Equal(t, http.StatusOK, icon.Status)
			require.Equal(t, "image/svg+xml", icon.Header.Get("Content-Type"))
		})
		t.Run("TestWithANumericTotal", func(t *testing.T) {
			spec := testSpec()
			spec.NumericAmounts = true
			spec.Items = []dudafake.Item{{Name: "Mug", UnitPrice: "12.5", Quantity: 3}, {Type: duda.ItemShipping, Name: "Post", UnitPrice: "4.95"}}
			req := w.fake.PaymentMethodsPayload("shop-1", spec)
			require.False(t, req.Invoice.Total.IsQuoted())
			require.Equal(t, "42.45", req.Invoice.Total.String())
			got := w.methods("test", req)
			require.Len(t, got, 1)
			require.Equal(t, w.tn.Provider.ID, got[0].ID)
			require.Equal(t, checkoutURL+w.tn.Provider.ID, got[0].CheckoutURL)
		})
		for name, tc := range map[string]struct {
			mode string
			edit func(*duda.PaymentMethodsRequest)
		}{
			"UnknownSite":         {"live", func(r *duda.PaymentMethodsRequest) { r.SiteName = "someone-elses-site" }},
			"UnsupportedCurrency": {"live", func(r *duda.PaymentMethodsRequest) { r.Invoice.Currency = "ABC" }},
			"ZeroTotal":           {"live", func(r *duda.PaymentMethodsRequest) { r.Invoice.Total = duda.NewDecimal("0") }},
			"NegativeTotal":       {"live", func(r *duda.PaymentMethodsRequest) { r.Invoice.Total = duda.NewDecimalString("-5.00") }},
			"TooPreciseTotal":     {"live", func(r *duda.PaymentMethodsRequest) { r.Invoice.Total = duda.NewDecimal("30.755") }},
			"ModeMismatch":        {"test", func(r *duda.PaymentMethodsRequest) {}},
			"UnknownModeInURL":    {"staging", func(r *duda.PaymentMethodsRequest) {}},
		} {
			t.Run(name+"OffersNothing", func(t *testing.T) {
				req := w.fake.PaymentMethodsPayload("shop-1", liveSpec())
				tc.edit(&req)
				require.Empty(t, w.methods(tc.mode, req))
			})
		}
		t.Run("NotJSONOffersNothing", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, w.url("/payment-methods/live"), "", []byte("{not json"))
			require.Equal(t, http.StatusOK, res.Status)
			require.Equal(t, "[]", string(res.Body[:2]))
		})
		t.Run("DisabledConnectionOffersNothing", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.LiveKey, map[string]any{"enabled": false})
			require.Equal(t, http.StatusOK, res.Status)
			require.Empty(t, w.methods("live", w.fake.PaymentMethodsPayload("shop-1", liveSpec())))
			res = apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.LiveKey, map[string]any{"enabled": true})
			require.Equal(t, http.StatusOK, res.Status)
			require.Len(t, w.methods("live", w.fake.PaymentMethodsPayload("shop-1", liveSpec())), 1)
		})
	})
}
