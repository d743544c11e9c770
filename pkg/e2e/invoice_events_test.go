package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// eventsReceiver is a site's events URL: it verifies the signature (HMAC-SHA256 of
// "<timestamp>.<raw body>" with the site's secret, written here independently of the
// platform's code), answers 500 to the first failFirst valid events, then 200, and records
// every request.
type eventsReceiver struct {
	secret    string
	mu        sync.Mutex
	failFirst int
	accepted  []map[string]any
	failed    []string // the types answered 500
	rejected  int      // bad signatures
	srv       *httptest.Server
}

func newEventsReceiver(t *testing.T, secret string, failFirst int) *eventsReceiver {
	m := &eventsReceiver{secret: secret, failFirst: failFirst}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *eventsReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get("X-Signature-Timestamp")
	mac := hmac.New(sha256.New, []byte(m.secret))
	mac.Write([]byte(ts + "." + string(body)))
	m.mu.Lock()
	defer m.mu.Unlock()
	if ts == "" || !hmac.Equal([]byte(r.Header.Get("X-Signature-HMAC-SHA256")), []byte(hex.EncodeToString(mac.Sum(nil)))) {
		m.rejected++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var payload map[string]any
	if json.Unmarshal(body, &payload) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if m.failFirst > 0 {
		m.failFirst--
		m.failed = append(m.failed, payload["type"].(string))
		http.Error(w, "temporarily down", http.StatusInternalServerError)
		return
	}
	m.accepted = append(m.accepted, payload)
	w.WriteHeader(http.StatusOK)
}

func (m *eventsReceiver) types() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, p := range m.accepted {
		out = append(out, p["type"].(string))
	}
	return out
}

// An auto-invoiced payment of a site with an events URL: the events URL receives
// invoice.issued then invoice.paid, signed with the site's secret, each carrying the invoice as
// the Admin API renders it; the first attempt fails and is retried; the checkout's ipnUrl gets
// its order notifications only, never an invoice event.
func TestInvoiceEventsReachTheSiteEventsURL(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true, MainBackend: func(c *config.MainBackend) {
			c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
		}})
		tn := env.NewTenant(t)
		api := env.AdminURL + "/api/v1"
		events := newEventsReceiver(t, tn.SiteHook, 1)
		shop := newWooMerchant(t, tn.SiteHook, 0)

		site := apptest.Do(t, http.MethodPatch, api+"/sites/"+tn.Site.ID, tn.LiveKey, map[string]any{"eventsUrl": events.srv.URL + "/paygate-events"})
		require.Equal(t, http.StatusOK, site.Status, string(site.Body))
		require.Equal(t, events.srv.URL+"/paygate-events", site.JSON(t)["eventsUrl"])
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPatch, api+"/invoice-settings", tn.LiveKey, map[string]any{"autoIssue": true}).Status)

		co := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": 2500, "currency": "EUR", "externalReference": "inv-events-1", "ipnUrl": shop.srv.URL + "/?wc-api=payment_gateway_app"}).JSON(t)
		res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{"country": "DE"}})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		txnID := res.JSON(t)["transactionId"].(string)
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, api+"/transactions/"+txnID+"/mark-paid", tn.TestKey, nil).Status)

		require.Eventually(t, func() bool { return len(events.types()) == 2 }, 30*time.Second, 50*time.Millisecond, "accepted: %v", events.types())
		inv, err := s.GetInvoiceBySourceTransaction(ctx, tn.Org.ID, txnID)
		require.NoError(t, err)
		events.mu.Lock()
		require.Equal(t, []string{"invoice.issued"}, events.failed, "the first attempt failed")
		require.Zero(t, events.rejected, "every signature verified with the site's secret")
		accepted := append([]map[string]any(nil), events.accepted...)
		events.mu.Unlock()
		require.Equal(t, []string{"invoice.issued", "invoice.paid"}, []string{accepted[0]["type"].(string), accepted[1]["type"].(string)},
			"issued then paid, the failed one retried first")
		asAPI := apptest.Do(t, http.MethodGet, api+"/invoices/"+inv.ID, tn.TestKey, nil).JSON(t)
		for _, ev := range accepted {
			require.NotEmpty(t, ev["id"])
			_, err := time.Parse(time.RFC3339Nano, ev["createdAt"].(string))
			require.NoError(t, err)
			data := ev["data"].(map[string]any)
			require.Equal(t, inv.ID, data["id"])
			require.Equal(t, "invoice", data["object"])
			require.Equal(t, asAPI["number"], data["number"])
			require.Equal(t, asAPI["totals"], data["totals"], "the invoice as the Admin API renders it")
		}
		require.NotEqual(t, accepted[0]["id"], accepted[1]["id"])
		require.Equal(t, "paid", accepted[1]["data"].(map[string]any)["payment"].(map[string]any)["state"])

		// The main backend's documents queue stored the invoice's PDF, with no download asking.
		var doc *domain.Document
		require.Eventually(t, func() bool { doc, err = s.GetDocument(ctx, tn.Org.ID, domain.DocInvoice, inv.ID); return err == nil },
			30*time.Second, 50*time.Millisecond, "the issued invoice's PDF was not stored: %v", err)
		pdf := apptest.Do(t, http.MethodGet, api+"/invoices/"+inv.ID+"/pdf", tn.TestKey, nil)
		require.Equal(t, http.StatusOK, pdf.Status)
		require.True(t, bytes.Equal(doc.Bytes, pdf.Body), "the download is not the stored PDF")

		// The shop's ipnUrl: the order's notifications, none of them an invoice event.
		require.Eventually(t, func() bool { st := shop.statuses(); return len(st) > 0 && st[len(st)-1] == 1 }, 30*time.Second, 50*time.Millisecond)
		shop.mu.Lock()
		for _, p := range shop.accepted {
			require.True(t, strings.HasPrefix(p["eventType"].(string), "transaction."), "ipnUrl got %v", p["eventType"])
			require.NotContains(t, p, "data")
		}
		shop.mu.Unlock()
		ds, err := s.ListIPNDeliveries(ctx, tn.Org.ID, inv.ID)
		require.NoError(t, err)
		require.Len(t, ds, 2, "one delivery per event")
		for _, d := range ds {
			require.Equal(t, events.srv.URL+"/paygate-events", d.URL)
			require.Equal(t, domain.SiteEventsVersion, d.IPNVersion)
		}
		ts, err := s.ListIPNDeliveries(ctx, tn.Org.ID, txnID)
		require.NoError(t, err)
		for _, d := range ts {
			require.True(t, strings.HasPrefix(d.URL, shop.srv.URL), "a transaction's notifications go to the ipnUrl only")
		}

		// The Admin API shows the invoice's events and their attempts to a key of its mode, and
		// resends the latest: the same event (id) reaches the events URL once more.
		// (The worker records an attempt once the answer is in: the receiver may have the event
		// a moment before its delivery reads delivered.)
		var types []string
		require.Eventually(t, func() bool {
			list := apptest.Do(t, http.MethodGet, api+"/invoices/"+inv.ID+"/event-deliveries", tn.TestKey, nil)
			require.Equal(t, http.StatusOK, list.Status, string(list.Body))
			types = nil
			for _, d := range list.JSON(t)["data"].([]any) {
				if d.(map[string]any)["status"] != "delivered" {
					return false
				}
				types = append(types, d.(map[string]any)["eventType"].(string))
			}
			return len(types) == 2
		}, 30*time.Second, 50*time.Millisecond, "both events recorded delivered")
		require.Equal(t, []string{"invoice.issued", "invoice.paid"}, types)
		atts := apptest.Do(t, http.MethodGet, api+"/invoices/"+inv.ID+"/event-attempts", tn.TestKey, nil).JSON(t)["data"].([]any)
		require.Len(t, atts, 3, "the failed first attempt, its retry, the paid event")
		require.Equal(t, false, atts[0].(map[string]any)["success"])
		require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, api+"/invoices/"+inv.ID+"/event-deliveries", tn.LiveKey, nil).Status,
			"a live key reads a test invoice's events")
		resend := apptest.Do(t, http.MethodPost, api+"/invoices/"+inv.ID+"/events/resend", tn.TestKey, map[string]any{}, "Idempotency-Key", "resend-"+inv.ID)
		require.Equal(t, http.StatusAccepted, resend.Status, string(resend.Body))
		require.Equal(t, "invoice.paid", resend.JSON(t)["eventType"])
		require.Eventually(t, func() bool { return len(events.types()) == 3 }, 30*time.Second, 50*time.Millisecond, "the resend arrives")
		events.mu.Lock()
		require.Equal(t, events.accepted[1]["id"], events.accepted[2]["id"], "the same event, sent again")
		events.mu.Unlock()
	})
}
