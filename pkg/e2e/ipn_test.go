package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// wooMerchant verifies notifications exactly as the WooCommerce plugin does: the timestamp
// within 300 s of its clock, HMAC-SHA256 over "<timestamp>.<raw body>" with the site's secret
// compared in constant time, and only then HTTP 200. failFirst answers 500 to that many valid
// notifications first. It is written here, independently of the platform's own signing code.
type repeat struct {
	deliveryID, body string
	timestamp        int64
}

type wooMerchant struct {
	t         *testing.T
	secret    string
	mu        sync.Mutex
	failFirst int
	accepted  []map[string]any
	rejected  int
	// repeats are valid re-deliveries of an accepted delivery id, acknowledged idempotently.
	repeats []repeat
	srv     *httptest.Server
}

func newWooMerchant(t *testing.T, secret string, failFirst int) *wooMerchant {
	m := &wooMerchant{t: t, secret: secret, failFirst: failFirst}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *wooMerchant) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Signature-Timestamp")
	sig := r.Header.Get("X-Signature-HMAC-SHA256")
	n, err := strconv.ParseInt(ts, 10, 64)
	mac := hmac.New(sha256.New, []byte(m.secret))
	mac.Write([]byte(ts + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	now := time.Now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil || n < now-300 || n > now+300 || !hmac.Equal([]byte(sig), []byte(want)) {
		m.rejected++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var payload map[string]any
	if json.Unmarshal(body, &payload) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if r.Header.Get("X-IPN-Version") == "2" {
		// v2 receivers: header and body agree, no legacy keys, versions strictly increase.
		for _, legacy := range []string{"transactionId", "gatewayTransactionId", "paymentStatus", "disputeStatus", "chargebackStatus", "external_reference", "chargeback"} {
			if _, ok := payload[legacy]; ok {
				http.Error(w, "legacy key "+legacy, http.StatusBadRequest)
				return
			}
		}
		if payload["deliveryId"] != r.Header.Get("X-IPN-Delivery-ID") || payload["schemaVersion"] != float64(2) {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		if _, err := time.Parse(time.RFC3339, payload["occurredAt"].(string)); err != nil {
			http.Error(w, "bad occurredAt", http.StatusBadRequest)
			return
		}
		for _, a := range m.accepted {
			if a["deliveryId"] == payload["deliveryId"] {
				m.repeats = append(m.repeats, repeat{deliveryID: payload["deliveryId"].(string), body: string(body), timestamp: n})
				w.WriteHeader(http.StatusOK) // already processed: acknowledge, change nothing
				return
			}
		}
		// Versions increase per transaction (another attempt of the order starts its own).
		for i := len(m.accepted) - 1; i >= 0; i-- {
			if m.accepted[i]["id"] == payload["id"] {
				if payload["eventVersion"].(float64) <= m.accepted[i]["eventVersion"].(float64) {
					http.Error(w, "stale event", http.StatusConflict)
					return
				}
				break
			}
		}
	}
	if m.failFirst > 0 && payload["status"] == float64(1) {
		m.failFirst--
		http.Error(w, "temporarily down", http.StatusInternalServerError)
		return
	}
	payload["_raw"], payload["_ts"] = string(body), n
	m.accepted = append(m.accepted, payload)
	w.WriteHeader(http.StatusOK)
}

func (m *wooMerchant) statuses() []float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []float64
	for _, p := range m.accepted {
		out = append(out, p["status"].(float64))
	}
	return out
}

func TestIPNEndToEndOnePerStatusChangeAfterTwoFailures(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true, MainBackend: func(c *config.MainBackend) {
			c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
		}})
		tn := env.NewTenant(t)
		m := newWooMerchant(t, tn.SiteHook, 2)
		co := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": 2500, "currency": "EUR", "externalReference": "ipn-1", "ipnUrl": m.srv.URL + "/?wc-api=payment_gateway_app"}).JSON(t)
		res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{"country": "DE"}})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		id := res.JSON(t)["transactionId"].(string)
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+id+"/mark-paid", tn.TestKey, nil).Status)

		require.Eventually(t, func() bool { return len(m.statuses()) == 3 }, 30*time.Second, 50*time.Millisecond, "accepted: %v", m.statuses())
		require.Equal(t, []float64{-1, 0, 1}, m.statuses(), "one accepted notification per status change, in order")
		require.Zero(t, m.rejected, "every signature verified")
		m.mu.Lock()
		require.Equal(t, id, m.accepted[2]["id"])
		require.Equal(t, "ipn-1", m.accepted[2]["externalReference"])
		require.Equal(t, co["sessionPublicId"], m.accepted[2]["sessionPublicId"])
		m.mu.Unlock()

		// The merchant has answered; the worker records the answer just after: read once it has.
		byStatus := map[float64][]float64{}
		require.Eventually(t, func() bool {
			attempts := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/transactions/"+id+"/ipn-attempts", tn.TestKey, nil).JSON(t)["data"].([]any)
			byStatus = map[float64][]float64{}
			recorded := true
			for _, a := range attempts {
				am := a.(map[string]any)
				var body map[string]any
				require.NoError(t, json.Unmarshal([]byte(am["requestBody"].(string)), &body))
				code := float64(0)
				if am["statusCode"] != nil {
					code = am["statusCode"].(float64)
				} else if am["finishedAt"] == nil {
					recorded = false
				}
				byStatus[body["status"].(float64)] = append(byStatus[body["status"].(float64)], code)
			}
			return recorded
		}, 10*time.Second, 20*time.Millisecond, "every attempt's outcome is recorded")
		require.Equal(t, []float64{500, 500, 200}, byStatus[1], "the success was delivered on the third attempt")

		// A manual resend: same delivery id and body, fresh signature, accepted again by the merchant.
		rs := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+id+"/ipn/resend", tn.TestKey, nil)
		require.Equal(t, http.StatusAccepted, rs.Status, string(rs.Body))
		require.Eventually(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return len(m.repeats) == 1 }, 10*time.Second, 50*time.Millisecond)
		m.mu.Lock()
		defer m.mu.Unlock()
		last := m.accepted[2]
		require.Equal(t, rs.JSON(t)["id"], last["deliveryId"], "the resend is the latest notification")
		require.Equal(t, last["deliveryId"], m.repeats[0].deliveryID, "same delivery id")
		require.Equal(t, last["_raw"], m.repeats[0].body, "same immutable body")
		require.GreaterOrEqual(t, m.repeats[0].timestamp, last["_ts"].(int64), "signed at resend time (and verified by the merchant)")
		require.Equal(t, []float64{-1, 0, 1}, statusesLocked(m), "a resend changes no order state")
	})
}

func statusesLocked(m *wooMerchant) []float64 {
	var out []float64
	for _, p := range m.accepted {
		out = append(out, p["status"].(float64))
	}
	return out
}
