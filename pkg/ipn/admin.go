package ipn

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
)

// Delivery is one notification of a transaction as the Admin API shows it.
type Delivery struct {
	// ID is the deliveryId: the same in every attempt and resend of this notification.
	ID             string     `json:"id"`
	TransactionID  string     `json:"transactionId"`
	CheckoutID     string     `json:"checkoutId"`
	EventID        string     `json:"eventId"`
	EventVersion   int        `json:"eventVersion"`
	EventType      string     `json:"eventType"`
	IPNStatus      int        `json:"ipnStatus"`
	URL            string     `json:"url"`
	IPNVersion     int        `json:"ipnVersion"`
	Body           string     `json:"body"`
	Status         string     `json:"status"` // pending, delivered, failed
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"nextAttemptAt"`
	LastStatusCode *int       `json:"lastStatusCode"`
	LastError      string     `json:"lastError"`
	DeliveredAt    *time.Time `json:"deliveredAt"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// Attempt is one HTTP request of a notification as the Admin API shows it.
type Attempt struct {
	ID                 string     `json:"id"`
	DeliveryID         string     `json:"deliveryId"`
	Attempt            int        `json:"attempt"`
	Trigger            string     `json:"trigger"` // scheduled or manual
	URL                string     `json:"url"`
	EventVersion       int        `json:"eventVersion"`
	StartedAt          time.Time  `json:"startedAt"`
	FinishedAt         *time.Time `json:"finishedAt"`
	RequestBody        string     `json:"requestBody"`
	SignatureTimestamp string     `json:"signatureTimestamp"`
	StatusCode         *int       `json:"statusCode"`
	ResponseExcerpt    string     `json:"responseExcerpt"`
	LatencyMS          int        `json:"latencyMs"`
	Error              string     `json:"error"`
	Success            bool       `json:"success"`
}

func deliveryView(d *domain.IPNDelivery) Delivery {
	var head struct {
		EventType string `json:"eventType"`
		Type      string `json:"type"` // an invoice event's (site events carry "type")
		Status    int    `json:"status"`
	}
	_ = json.Unmarshal([]byte(d.Body), &head)
	if head.EventType == "" {
		head.EventType = head.Type
	}
	return Delivery{ID: d.ID, TransactionID: d.TransactionID, CheckoutID: d.CheckoutID, EventID: d.EventID,
		EventVersion: d.EventVersion, EventType: head.EventType, IPNStatus: head.Status, URL: d.URL, IPNVersion: d.IPNVersion,
		Body: d.Body, Status: d.Status, Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt, LastStatusCode: d.LastStatusCode,
		LastError: d.LastError, DeliveredAt: d.DeliveredAt, CreatedAt: d.CreatedAt}
}

// inOrg rejects an actor reaching into another organisation with NOT_FOUND.
func inOrg(actor domain.Actor, orgID string) error {
	if actor.Type == domain.ActorSystem || actor.PlatformAdmin || actor.OrganizationID == orgID {
		return nil
	}
	return domain.NotFound("transaction")
}

// authorize checks tenancy, permission and that the notifications' key exists in the
// organisation: a transaction, or an invoice whose events (keyed by its id) were sent to its
// site's events URL. Whoever shows an invoice's events authorises the invoice itself (its
// mode, invoice:read); here an invoice without events is NOT_FOUND.
func (n *Notifier) authorize(ctx context.Context, s Store, actor domain.Actor, orgID, key, action string) error {
	if err := inOrg(actor, orgID); err != nil {
		return err
	}
	if err := auth.Authorize(actor, "ipn", action); err != nil {
		return err
	}
	if strings.HasPrefix(key, domain.PrefixInvoice+"_") {
		if _, err := s.LatestIPNDelivery(ctx, orgID, key); err != nil {
			if domain.IsNotFound(err) {
				return domain.NotFound("invoice events")
			}
			return err
		}
		return nil
	}
	_, err := s.GetTransaction(ctx, orgID, key)
	return err
}

// ListDeliveries returns a transaction's notifications in event order (needs ipn:read).
// Returns NOT_FOUND for an unknown transaction or another organisation's; FORBIDDEN without
// the permission.
func (n *Notifier) ListDeliveries(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]Delivery, error) {
	if err := n.authorize(ctx, n.store, actor, orgID, txnID, "read"); err != nil {
		return nil, err
	}
	rows, err := n.store.ListIPNDeliveries(ctx, orgID, txnID)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(rows))
	for i := range rows {
		out[i] = deliveryView(&rows[i])
	}
	return out, nil
}

// ListAttempts returns every attempt of a transaction's notifications, oldest first, with what
// was sent and what came back (needs ipn:read). Returns NOT_FOUND for an unknown transaction or
// another organisation's; FORBIDDEN without the permission.
func (n *Notifier) ListAttempts(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]Attempt, error) {
	if err := n.authorize(ctx, n.store, actor, orgID, txnID, "read"); err != nil {
		return nil, err
	}
	deliveries, err := n.store.ListIPNDeliveries(ctx, orgID, txnID)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*domain.IPNDelivery, len(deliveries))
	for i := range deliveries {
		byID[deliveries[i].ID] = &deliveries[i]
	}
	rows, err := n.store.ListIPNAttempts(ctx, orgID, txnID)
	if err != nil {
		return nil, err
	}
	out := make([]Attempt, len(rows))
	for i, a := range rows {
		v := Attempt{ID: a.ID, DeliveryID: a.DeliveryID, Attempt: a.Attempt, Trigger: a.TriggerKind, StartedAt: a.StartedAt,
			FinishedAt: a.FinishedAt, RequestBody: a.RequestBody, SignatureTimestamp: a.SignatureTS, StatusCode: a.StatusCode,
			ResponseExcerpt: a.ResponseExcerpt, LatencyMS: a.LatencyMS, Error: a.Error,
			Success: a.StatusCode != nil && *a.StatusCode == 200 && a.Error == ""}
		if d := byID[a.DeliveryID]; d != nil {
			v.URL, v.EventVersion = d.URL, d.EventVersion
		}
		out[i] = v
	}
	return out, nil
}

// Resend asks for an immediate manual attempt of the transaction's latest notification (needs
// ipn:execute; audited as ipn.resend). The merchant gets the same body and deliveryId, with a
// fresh timestamp and signature; a notification already delivered is sent again all the same.
// The attempt does not disturb scheduled retries, and keeps the transaction's order: while an
// earlier notification is pending, that one is made due now and the resend follows it.
// Returns NOT_FOUND for an unknown or foreign transaction, or one without notifications;
// FORBIDDEN without the permission.
func (n *Notifier) Resend(ctx context.Context, actor domain.Actor, orgID, txnID string) (*Delivery, error) {
	if err := n.authorize(ctx, n.store, actor, orgID, txnID, "execute"); err != nil {
		return nil, err
	}
	// The delivery's id and body never change, so it is read outside the transaction, which
	// then only writes (on SQLite it starts with a write and never has to upgrade a read).
	d, err := n.store.LatestIPNDelivery(ctx, orgID, txnID)
	if err != nil {
		return nil, err
	}
	target := "transaction"
	if strings.HasPrefix(txnID, domain.PrefixInvoice+"_") {
		target = "invoice" // an invoice's events, sent to its site's events URL
	}
	err = n.store.InTx(ctx, func(tx Store) error {
		now := n.now()
		if err := tx.Audit(ctx, actor, "ipn.resend", target, txnID,
			map[string]any{"deliveryId": d.ID, "eventVersion": d.EventVersion}); err != nil {
			return err
		}
		if err := tx.RequestIPNResend(ctx, d.ID, actor.ID, now); err != nil {
			return err
		}
		// Queued now unless an attempt of the transaction is in flight: its worker then finds
		// the request when it is done.
		return n.queueNext(ctx, tx, txnID, now, true, false)
	})
	if err != nil {
		return nil, err
	}
	out := deliveryView(d)
	return &out, nil
}
