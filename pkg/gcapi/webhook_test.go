package gcapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
)

const hookSecret = "whsec_test_secret"

const sampleBatch = `{"events":[{"id":"EV123","created_at":"2025-03-14T12:00:00.000Z","resource_type":"payments",
"action":"failed","links":{"payment":"PM123","parent_event":"EV122","something_new":"XX1"},
"details":{"origin":"bank","cause":"insufficient_funds","description":"No money","scheme":"bacs",
"reason_code":"ARUDD-0","will_attempt_retry":true,"bank_account_id":"BA1"},
"metadata":{},"resource_metadata":{"transaction_id":"txn_42"},"unknown_top_level":[1,2]},
{"id":"EV124","created_at":"2025-03-14T12:00:01.000Z","resource_type":"magic_links","action":"sparkled",
"links":{},"details":{}}],"meta":{"webhook_id":"WB123","extra":"ignored"}}`

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	body := []byte(sampleBatch)
	good := gcapi.SignWebhook(body, hookSecret)

	t.Run("SignatureIsLowercaseHexHMACSHA256", func(t *testing.T) {
		t.Parallel()
		require.Len(t, good, 64)
		require.Equal(t, strings.ToLower(good), good)
		// Known answer, so a change in how we sign cannot go unnoticed.
		require.Equal(t, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8",
			gcapi.SignWebhook([]byte("The quick brown fox jumps over the lazy dog"), "key"))
	})

	for _, tc := range []struct {
		name, body, signature, secret string
	}{
		{"RejectsMissingSignature", sampleBatch, "", hookSecret},
		{"RejectsSignatureFromAnotherSecret", sampleBatch, gcapi.SignWebhook(body, "other"), hookSecret},
		{"RejectsTamperedBody", strings.Replace(sampleBatch, "PM123", "PM999", 1), good, hookSecret},
		{"RejectsNonHexSignature", sampleBatch, "not-hex-at-all", hookSecret},
		{"RejectsTruncatedSignature", sampleBatch, good[:32], hookSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			batch, err := gcapi.ParseWebhook([]byte(tc.body), tc.signature, tc.secret)
			require.ErrorIs(t, err, gcapi.ErrInvalidSignature)
			require.Nil(t, batch)
		})
	}

	t.Run("EmptySecretIsAConfigurationErrorNotABadSignature", func(t *testing.T) {
		t.Parallel()
		_, err := gcapi.ParseWebhook(body, gcapi.SignWebhook(body, ""), "")
		require.Error(t, err)
		require.NotErrorIs(t, err, gcapi.ErrInvalidSignature)
	})

	t.Run("SignedGarbageIsADecodingError", func(t *testing.T) {
		t.Parallel()
		garbage := []byte("<html>")
		_, err := gcapi.ParseWebhook(garbage, gcapi.SignWebhook(garbage, hookSecret), hookSecret)
		require.Error(t, err)
		require.NotErrorIs(t, err, gcapi.ErrInvalidSignature)
	})

	t.Run("DecodesValidBatchLeniently", func(t *testing.T) {
		t.Parallel()
		batch, err := gcapi.ParseWebhook(body, " "+good+"\n", hookSecret)
		require.NoError(t, err)
		require.Equal(t, "WB123", batch.Meta.WebhookID)
		require.Len(t, batch.Events, 2)

		e := batch.Events[0]
		require.Equal(t, "EV123", e.ID)
		require.Equal(t, time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC), e.CreatedAt)
		require.Equal(t, gcapi.ResourceTypePayments, e.ResourceType)
		require.Equal(t, "failed", e.Action)
		require.Equal(t, "PM123", e.Links.Payment)
		require.Equal(t, "EV122", e.Links.ParentEvent)
		require.Equal(t, gcapi.EventDetails{Origin: "bank", Cause: "insufficient_funds", Description: "No money",
			Scheme: "bacs", ReasonCode: "ARUDD-0", WillAttemptRetry: true}, e.Details)
		require.Equal(t, "txn_42", e.ResourceMetadata["transaction_id"])

		require.Equal(t, "magic_links", batch.Events[1].ResourceType, "unknown resource types are kept for the caller to ignore")
		require.Equal(t, "sparkled", batch.Events[1].Action)
	})
}

// hookReceiver is a webhook endpoint that verifies deliveries with ParseWebhook, as the platform does.
type hookReceiver struct {
	mu      sync.Mutex
	batches []*gcapi.WebhookBatch
	status  int // answer for valid deliveries; 0 means 204
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	batch, err := gcapi.ParseWebhook(body, r.Header.Get(gcapi.WebhookSignatureHeader), hookSecret)
	if err != nil {
		w.WriteHeader(498)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches = append(h.batches, batch)
	if h.status != 0 {
		w.WriteHeader(h.status)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) Events() []gcapi.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []gcapi.Event
	for _, b := range h.batches {
		out = append(out, b.Events...)
	}
	return out
}

func TestWebhooksFromTheFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DeliveredBatchesVerifyAndDecode", func(t *testing.T) {
		t.Parallel()
		recv := &hookReceiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		gc := newFake(t, gcfake.WithWebhook(hook.URL, hookSecret))
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)

		deliveries, err := gc.DeliverEvents(ctx)
		require.NoError(t, err)
		require.Len(t, deliveries, 1)
		require.Equal(t, http.StatusNoContent, deliveries[0].StatusCode)

		var confirmed *gcapi.Event
		for _, e := range recv.Events() {
			if e.ResourceType == gcapi.ResourceTypePayments && e.Action == "confirmed" {
				confirmed = &e
			}
		}
		require.NotNil(t, confirmed)
		require.Equal(t, pm, confirmed.Links.Payment)
		require.Equal(t, "txn_42", confirmed.ResourceMetadata["transaction_id"])
		require.Equal(t, "gocardless", confirmed.Details.Origin)
		require.True(t, strings.HasPrefix(confirmed.ID, "EV"))
	})

	t.Run("HandBuiltBatchesCanBeReplayedAndTampered", func(t *testing.T) {
		t.Parallel()
		recv := &hookReceiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		gc := newFake(t, gcfake.WithWebhook(hook.URL, hookSecret))

		body, sig := gc.WebhookBatch(gcfake.Event{ResourceType: "payments", Action: "charged_back",
			Links: map[string]string{"payment": "PM1"}, Details: gcfake.EventDetails{Origin: "bank", Cause: "payment_charged_back"}})
		for range 2 { // a duplicate delivery verifies just the same
			status, err := gc.PostWebhook(ctx, body, sig)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, status)
		}
		events := recv.Events()
		require.Len(t, events, 2)
		require.Equal(t, events[0].ID, events[1].ID, "deduplicate by event id")

		status, err := gc.PostWebhook(ctx, []byte(strings.Replace(string(body), "PM1", "PM2", 1)), sig)
		require.NoError(t, err)
		require.Equal(t, 498, status)
	})
}
