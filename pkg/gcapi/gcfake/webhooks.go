package gcfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// recordEventLocked appends an event to the log and to the delivery queue.
func (s *Server) recordEventLocked(resourceType, action string, links map[string]string, d EventDetails, metadata, resourceMetadata map[string]string) {
	e := Event{
		ID: s.newIDLocked("EV"), CreatedAt: s.nowUTC(), ResourceType: resourceType, Action: action,
		Links: links, Details: d, Metadata: cloneMap(metadata), ResourceMetadata: cloneMap(resourceMetadata),
	}
	for k, v := range e.Links {
		if v == "" {
			delete(e.Links, k)
		}
	}
	s.events = append(s.events, e)
	s.pending = append(s.pending, e.ID)
}

// Events returns every event recorded so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		out[i] = e.clone()
	}
	return out
}

// PendingEvents returns the events not yet put in a delivery batch.
func (s *Server) PendingEvents() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventsLocked(s.pending)
}

func (s *Server) eventsLocked(ids []string) []Event {
	byID := make(map[string]Event, len(s.events))
	for _, e := range s.events {
		byID[e.ID] = e
	}
	out := make([]Event, 0, len(ids))
	for _, id := range ids {
		out = append(out, byID[id].clone())
	}
	return out
}

// SetWebhook sets (or, with an empty url, removes) the webhook endpoint and secret.
func (s *Server) SetWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL, s.webhookSecret = url, secret
}

// Delivery is one webhook POST the fake made.
type Delivery struct {
	WebhookID  string
	EventIDs   []string
	Body       []byte
	Signature  string
	StatusCode int   // 0 when the request failed
	Err        error // transport error, if any
	At         time.Time
}

// OK reports whether the endpoint acknowledged the delivery (2xx).
func (d Delivery) OK() bool { return d.Err == nil && d.StatusCode >= 200 && d.StatusCode < 300 }

type batch struct {
	webhookID string
	eventIDs  []string
	body      []byte
}

type batchJSON struct {
	Events []Event `json:"events"`
	Meta   struct {
		WebhookID string `json:"webhook_id"`
	} `json:"meta"`
}

func (s *Server) newBatchLocked(events []Event) *batch {
	var b batchJSON
	b.Events = events
	b.Meta.WebhookID = s.newIDLocked("WB")
	body, err := json.Marshal(b)
	if err != nil {
		panic("gcfake: encoding webhook batch: " + err.Error())
	}
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return &batch{webhookID: b.Meta.WebhookID, eventIDs: ids, body: body}
}

// DeliverEvents puts all pending events in one signed batch and POSTs it, after first re-sending
// (same webhook id, same body, like GoCardless's retries) any earlier batch the endpoint did not
// acknowledge. It returns the deliveries it made and an error if no endpoint is configured or
// any delivery was not answered 2xx; unacknowledged batches stay queued for the next call.
func (s *Server) DeliverEvents(ctx context.Context) ([]Delivery, error) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()

	s.mu.Lock()
	url, secret := s.webhookURL, s.webhookSecret
	if url == "" {
		s.mu.Unlock()
		return nil, errors.New("gcfake: no webhook endpoint configured (WithWebhook or SetWebhook)")
	}
	if len(s.pending) > 0 {
		s.outbox = append(s.outbox, s.newBatchLocked(s.eventsLocked(s.pending)))
		s.pending = nil
	}
	queue := append([]*batch(nil), s.outbox...)
	s.delivering++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.delivering--
		s.mu.Unlock()
	}()

	var made []Delivery
	var errs []error
	var kept []*batch
	for _, b := range queue {
		d := s.post(ctx, url, secret, b.webhookID, b.eventIDs, b.body)
		made = append(made, d)
		if !d.OK() {
			kept = append(kept, b)
			errs = append(errs, fmt.Errorf("gcfake: webhook %s: status %d: %w", b.webhookID, d.StatusCode, d.Err))
		}
	}
	s.mu.Lock()
	// Only DeliverEvents touches the outbox and it holds deliverMu, so the queue we sent is
	// still its head.
	s.outbox = append(kept, s.outbox[len(queue):]...)
	s.deliveries = append(s.deliveries, made...)
	s.mu.Unlock()
	return made, errors.Join(errs...)
}

func (s *Server) post(ctx context.Context, url, secret, webhookID string, eventIDs []string, body []byte) Delivery {
	d := Delivery{WebhookID: webhookID, EventIDs: eventIDs, Body: body, Signature: sign(body, secret), At: s.nowUTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gocardless-webhook-service/1.1")
	req.Header.Set("Webhook-Signature", d.Signature)
	resp, err := s.hookClient.Do(req)
	if err != nil {
		d.Err = err
		return d
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	d.StatusCode = resp.StatusCode
	return d
}

// Deliveries returns every webhook delivery attempted so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// WebhookBatch builds a batch body from events, as GoCardless would send it, and signs it with
// the configured secret, so tests can replay, reorder, duplicate or tamper with deliveries. Events
// without an ID or CreatedAt get fresh ones. It fails the test if no secret is configured.
func (s *Server) WebhookBatch(events ...Event) (body []byte, signature string) {
	events = append([]Event(nil), events...) // never write to the caller's array
	s.mu.Lock()
	secret := s.webhookSecret
	for i := range events {
		events[i] = events[i].clone()
		if events[i].ID == "" {
			events[i].ID = s.newIDLocked("EV")
		}
		if events[i].CreatedAt.IsZero() {
			events[i].CreatedAt = s.nowUTC()
		}
	}
	b := s.newBatchLocked(events)
	s.mu.Unlock()
	if secret == "" {
		s.tb.Fatalf("gcfake: WebhookBatch needs a webhook secret (WithWebhook or SetWebhook)")
	}
	return b.body, sign(b.body, secret)
}

// PostWebhook POSTs body with the given signature to the configured endpoint and returns the
// status code, for replaying batches built with WebhookBatch. It is not recorded in Deliveries.
func (s *Server) PostWebhook(ctx context.Context, body []byte, signature string) (int, error) {
	s.mu.Lock()
	url := s.webhookURL
	s.mu.Unlock()
	if url == "" {
		return 0, errors.New("gcfake: no webhook endpoint configured (WithWebhook or SetWebhook)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gocardless-webhook-service/1.1")
	if signature != "" {
		req.Header.Set("Webhook-Signature", signature)
	}
	resp, err := s.hookClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// sign is the fake's own HMAC-SHA256 signing, independent of the client package.
func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// changed is called after an HTTP-triggered state change: with auto delivery it wakes the
// delivery worker, so the API answer does not wait for the webhook.
func (s *Server) changed() {
	if !s.autoDeliver {
		return
	}
	select {
	case s.kick <- struct{}{}:
	default: // a delivery run is already due and will pick these events up
	}
}

// deliverNow is called after a Go-triggered state change (Simulate, Pay): with auto delivery the
// events are delivered before the call returns, which keeps tests free of polling.
func (s *Server) deliverNow(ctx context.Context) {
	if !s.autoDeliver {
		return
	}
	s.mu.Lock()
	configured := s.webhookURL != ""
	s.mu.Unlock()
	if configured {
		_, _ = s.DeliverEvents(ctx) // failures are recorded in Deliveries and retried next time
	}
}

func (s *Server) deliveryWorker(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
			s.mu.Lock()
			configured := s.webhookURL != ""
			s.mu.Unlock()
			if configured {
				_, _ = s.DeliverEvents(ctx)
			}
		}
	}
}

// WaitIdle waits until automatic delivery has sent every pending event (acknowledged or not), or
// ctx is done. Without a configured endpoint there is nothing to wait for.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		idle := s.webhookURL == "" || !s.autoDeliver || (len(s.pending) == 0 && s.delivering == 0 && len(s.kick) == 0)
		s.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
