package paypal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	pp "github.com/plutov/paypal/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// Answers is how PayPal expects deliveries answered: any 2xx, and 400 for a refused signature.
var Answers = providers.Answers{OK: http.StatusOK, BadSignature: http.StatusBadRequest}

// WebhookAnswers are Answers.
func (a *Provider) WebhookAnswers() providers.Answers { return Answers }

// Webhook headers PayPal signs a delivery with.
var signatureHeaders = []string{"Paypal-Transmission-Id", "Paypal-Transmission-Time", "Paypal-Transmission-Sig", "Paypal-Cert-Url", "Paypal-Auth-Algo"}

// event is a PayPal webhook event with the parts of its resource the provider reads.
type event struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	CreateTime time.Time       `json:"create_time"`
	Resource   json.RawMessage `json:"resource"`
}

// resource is the union of the fields read from orders, captures, refunds and disputes.
type resource struct {
	ID                string    `json:"id"`
	Status            string    `json:"status"`
	CustomID          string    `json:"custom_id"`
	InvoiceID         string    `json:"invoice_id"`
	Amount            *pp.Money `json:"amount"`
	Links             []pp.Link `json:"links"`
	SupplementaryData *struct {
		RelatedIDs struct {
			OrderID   string `json:"order_id"`
			CaptureID string `json:"capture_id"`
		} `json:"related_ids"`
	} `json:"supplementary_data"`
	// Disputes
	DisputeID            string    `json:"dispute_id"`
	Reason               string    `json:"reason"`
	DisputeAmount        *pp.Money `json:"dispute_amount"`
	DisputedTransactions []struct {
		SellerTransactionID string `json:"seller_transaction_id"`
	} `json:"disputed_transactions"`
	DisputeOutcome *struct {
		OutcomeCode string `json:"outcome_code"`
	} `json:"dispute_outcome"`
}

func (r *resource) objectID() string {
	if r.DisputeID != "" {
		return r.DisputeID
	}
	return r.ID
}

// VerifyWebhook asks PayPal (verify-webhook-signature, with the provider's webhook id) whether
// the delivery's transmission signature is PayPal's over this body, and only then reads the
// event. A delivery without PayPal's headers, or one PayPal calls FAILURE, wraps
// providers.ErrBadSignature; a verified body that is not an event wraps ErrMalformed; PayPal
// unavailable is an error of its own (5xx: PayPal delivers again).
func (a *Provider) VerifyWebhook(ctx context.Context, p *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]providers.IncomingEvent, error) {
	for _, k := range signatureHeaders {
		if h.Get(k) == "" {
			return nil, fmt.Errorf("%w: PayPal webhook without %s", providers.ErrBadSignature, k)
		}
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("%w: PayPal webhook body is not JSON", providers.ErrBadSignature)
	}
	if creds["webhookId"] == "" {
		return nil, domain.Unprocessable("PROVIDER_MISCONFIGURED", "the PayPal provider has no webhook id")
	}
	cl, err := a.Client(p, creds)
	if err != nil {
		return nil, err
	}
	var res *pp.VerifyWebhookResponse
	err = a.retry(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header = h.Clone()
		res, err = cl.VerifyWebhookSignature(ctx, req, creds["webhookId"])
		return err
	})
	if err != nil {
		if s := status(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests && s != http.StatusUnauthorized {
			return nil, fmt.Errorf("%w: PayPal refused to verify it: %w", providers.ErrBadSignature, err)
		}
		return nil, providerError(err)
	}
	if res.VerificationStatus != "SUCCESS" {
		return nil, fmt.Errorf("%w: PayPal says %s", providers.ErrBadSignature, res.VerificationStatus)
	}
	var ev event
	var r resource
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.EventType == "" || len(ev.Resource) == 0 {
		return nil, fmt.Errorf("%w: not a PayPal event", providers.ErrMalformed)
	}
	if err := json.Unmarshal(ev.Resource, &r); err != nil || r.objectID() == "" {
		return nil, fmt.Errorf("%w: PayPal event %s has no resource id", providers.ErrMalformed, ev.ID)
	}
	return []providers.IncomingEvent{{ExternalID: ev.ID, Type: ev.EventType, Payload: body, ObjectID: r.objectID(), OccurredAt: ev.CreateTime}}, nil
}

// ApplyEvent applies one stored PayPal event (the provider.event job).
func (a *Provider) ApplyEvent(ctx context.Context, stored *domain.ProviderEvent) (string, error) {
	var ev event
	var r resource
	if err := json.Unmarshal([]byte(stored.Payload), &ev); err != nil {
		return "", fmt.Errorf("decode PayPal event: %w", err)
	}
	if err := json.Unmarshal(ev.Resource, &r); err != nil {
		return "", fmt.Errorf("decode PayPal event resource: %w", err)
	}
	prov, err := a.Platform.Store().GetProvider(ctx, stored.OrganizationID, stored.ProviderID)
	if err != nil {
		return "", err
	}
	switch {
	case ev.EventType == "CHECKOUT.ORDER.APPROVED" || ev.EventType == "CHECKOUT.ORDER.COMPLETED":
		return a.applyOrderEvent(ctx, prov, &ev, &r)
	case ev.EventType == "PAYMENT.CAPTURE.REFUNDED" || strings.HasPrefix(ev.EventType, "PAYMENT.REFUND."):
		return a.applyRefundEvent(ctx, prov, &ev, &r)
	case strings.HasPrefix(ev.EventType, "PAYMENT.CAPTURE."):
		return a.applyCaptureEvent(ctx, prov, &ev, &r)
	case strings.HasPrefix(ev.EventType, "CUSTOMER.DISPUTE."):
		return a.applyDisputeEvent(ctx, prov, &ev, &r)
	}
	return domain.ProviderEventIgnored, nil
}

// transactionFor finds our transaction of a PayPal object: by the order (provider reference),
// the capture (provider payment id), or the transaction id in custom_id. Another provider's
// transaction is NOT_FOUND.
func (a *Provider) transactionFor(ctx context.Context, prov *domain.Provider, orderID, captureID, customID string) (*domain.Transaction, error) {
	st := a.Platform.Store()
	if orderID != "" {
		t, err := st.GetTransactionByProviderRef(ctx, prov.ID, orderID)
		if !domain.IsNotFound(err) {
			return t, err
		}
	}
	if captureID != "" {
		t, err := st.GetTransactionByProviderPayment(ctx, prov.ID, captureID)
		if !domain.IsNotFound(err) {
			return t, err
		}
	}
	if customID != "" {
		t, err := st.GetTransaction(ctx, prov.OrganizationID, customID)
		if err == nil && t.ProviderID == prov.ID && (captureID == "" || t.ProviderPaymentID == nil || *t.ProviderPaymentID == "" || *t.ProviderPaymentID == captureID) {
			return t, nil
		}
		if err != nil && !domain.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, domain.NotFound("transaction")
}

var open = []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider}

// applyOrderEvent: the buyer approved the order: capture it (once: the capture's
// PayPal-Request-Id is the transaction's) and apply the capture.
func (a *Provider) applyOrderEvent(ctx context.Context, prov *domain.Provider, ev *event, r *resource) (string, error) {
	t, err := a.transactionFor(ctx, prov, r.ID, "", "")
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction of order " + r.ID), nil
	}
	if err != nil {
		return "", err
	}
	if !t.Status.Open() {
		return providers.IgnoredBecause("the transaction is " + string(t.Status)), nil
	}
	cl, err := a.client(ctx, prov)
	if err != nil {
		return "", err
	}
	if err := a.syncOrder(ctx, cl, t, ev.EventType); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// syncOrder reads the order and applies it: an approved order is captured.
func (a *Provider) syncOrder(ctx context.Context, cl *pp.Client, t *domain.Transaction, why string) error {
	readAt := providers.Now()
	var o *pp.Order
	if err := a.retry(ctx, func() (err error) { o, err = cl.GetOrder(ctx, *t.ProviderReference); return err }); err != nil {
		return providerError(err)
	}
	return a.applyOrder(ctx, cl, t, o, why, readAt)
}

// applyOrder applies an order's state: APPROVED is captured (PayPal-Request-Id
// "<transaction>:capture", so the return, the webhook and reconciliation capture once);
// COMPLETED applies its capture; VOIDED cancels the attempt.
func (a *Provider) applyOrder(ctx context.Context, cl *pp.Client, t *domain.Transaction, o *pp.Order, why string, readAt time.Time) error {
	switch o.Status {
	case OrderApproved:
		var res *pp.CaptureOrderResponse
		err := a.retry(ctx, func() (err error) {
			res, err = cl.CaptureOrderWithPaypalRequestId(ctx, o.ID, pp.CaptureOrderRequest{}, t.ID+":capture", nil)
			return err
		})
		if issue(err) == "ORDER_ALREADY_CAPTURED" {
			return a.syncOrder(ctx, cl, t, why) // captured meanwhile (by another request id)
		}
		if err != nil {
			return providerError(err)
		}
		readAt = providers.Now()
		for _, pu := range res.PurchaseUnits {
			if pu.Payments != nil && len(pu.Payments.Captures) > 0 {
				return a.applyCapture(ctx, t, capture(pu.Payments.Captures[0]), why, readAt)
			}
		}
		return domain.Unavailable(domain.CodeProviderError, nil, "PayPal answered a capture without captures")
	case OrderCompleted:
		if c := orderCapture(o); c != nil {
			return a.applyCapture(ctx, t, capture(*c), why, readAt)
		}
	case OrderVoided:
		_, err := a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeCancelled, At: readAt, Only: open,
			FailureCode: "order_voided", FailureMessage: "the PayPal order was voided", EventData: map[string]any{"source": why, "order": o.ID}})
		return err
	}
	return nil
}

func orderCapture(o *pp.Order) *pp.CaptureAmount {
	for _, pu := range o.PurchaseUnits {
		if pu.Payments != nil && len(pu.Payments.Captures) > 0 {
			return &pu.Payments.Captures[0]
		}
	}
	return nil
}

// captureState is what the provider applies of a capture.
type captureState struct {
	ID, Status, Reason string
	Amount             *pp.Money
}

func capture(c pp.CaptureAmount) captureState {
	s := captureState{ID: c.ID, Status: c.Status}
	if c.Amount != nil {
		s.Amount = &pp.Money{Currency: c.Amount.Currency, Value: c.Amount.Value}
	}
	return s
}

// applyCapture maps a capture's state to outcomes: COMPLETED (and later refunded states) is
// succeeded with the capture as the provider payment; PENDING waits for the money;
// DECLINED and FAILED fail the attempt.
func (a *Provider) applyCapture(ctx context.Context, t *domain.Transaction, c captureState, why string, readAt time.Time) error {
	data := map[string]any{"source": why, DataCapture: c.ID, DataCaptureStatus: c.Status}
	var o providers.Outcome
	switch c.Status {
	case CaptureCompleted, CaptureRefunded, CapturePartRefunded:
		if c.Amount != nil {
			if v, err := minorOf(c.Amount.Value, c.Amount.Currency); err != nil || v != t.GrossAmount || !strings.EqualFold(c.Amount.Currency, t.Currency) {
				a.Platform.Log().ErrorContext(ctx, "PayPal capture amount differs from the transaction", "transaction_id", t.ID,
					"paypal_amount", c.Amount.Value, "paypal_currency", c.Amount.Currency, "gross", t.GrossAmount, "currency", t.Currency)
			}
		}
		o = providers.Outcome{Kind: domain.OutcomeSucceeded, ProviderPaymentID: c.ID, EventData: data}
	case CapturePending:
		o = providers.Outcome{Kind: domain.OutcomePending, ProviderPaymentID: c.ID, EventData: data}
	case CaptureDeclined, CaptureFailed:
		msg := "PayPal declined the payment"
		if c.Reason != "" {
			msg += ": " + c.Reason
		}
		o = providers.Outcome{Kind: domain.OutcomeFailed, Only: open, ProviderPaymentID: c.ID, FailureCode: "capture_" + strings.ToLower(c.Status),
			FailureMessage: msg, EventData: data}
	default:
		return nil
	}
	o.At = readAt
	_, err := a.Platform.ApplyOutcome(ctx, t, o)
	return err
}

// applyCaptureEvent fetches the capture an event names and applies its current state.
func (a *Provider) applyCaptureEvent(ctx context.Context, prov *domain.Provider, ev *event, r *resource) (string, error) {
	orderID := ""
	if r.SupplementaryData != nil {
		orderID = r.SupplementaryData.RelatedIDs.OrderID
	}
	t, err := a.transactionFor(ctx, prov, orderID, r.ID, r.CustomID)
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction of capture " + r.ID), nil
	}
	if err != nil {
		return "", err
	}
	cl, err := a.client(ctx, prov)
	if err != nil {
		return "", err
	}
	readAt := providers.Now()
	var cd *pp.CaptureDetailsResponse
	if err := a.retry(ctx, func() (err error) { cd, err = cl.CapturedDetail(ctx, r.ID); return err }); err != nil {
		return "", providerError(err)
	}
	c := captureState{ID: cd.ID, Status: cd.Status, Amount: cd.Amount}
	if cd.StatusDetails != nil {
		c.Reason = cd.StatusDetails.Reason
	}
	if c.Status == "REVERSED" {
		// The money went back to the buyer outside a dispute (a bank chargeback): lost.
		_, err := a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeLost, At: readAt, DisputeStatus: "lost",
			EventData: map[string]any{"source": ev.EventType, DataCapture: c.ID, "disputeStatus": "lost"}})
		if err != nil {
			return "", err
		}
		return domain.ProviderEventProcessed, nil
	}
	if err := a.applyCapture(ctx, t, c, ev.EventType, readAt); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// applyRefundEvent records the refund an event reports: one we asked for (its invoice_id is our
// refund id) completes or fails; one made in PayPal's dashboard is recorded once by its id.
func (a *Provider) applyRefundEvent(ctx context.Context, prov *domain.Provider, ev *event, r *resource) (string, error) {
	st := RefundStatus(r.Status)
	if ev.EventType == "PAYMENT.CAPTURE.REFUNDED" && r.Status == "" {
		st = domain.RefundSucceeded
	}
	if id := r.InvoiceID; strings.HasPrefix(id, string(domain.PrefixRefund)) {
		ours, err := a.Platform.Store().GetRefund(ctx, prov.OrganizationID, id)
		if err == nil {
			if err := a.settleOurRefund(ctx, ours, r.ID, st, ev); err != nil {
				return "", err
			}
			return domain.ProviderEventProcessed, nil
		}
		if !domain.IsNotFound(err) {
			return "", err
		}
	}
	captureID := ""
	for _, l := range r.Links {
		if l.Rel == "up" {
			captureID = l.Href[strings.LastIndexByte(l.Href, '/')+1:]
		}
	}
	t, err := a.transactionFor(ctx, prov, "", captureID, r.CustomID)
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction of refund " + r.ID), nil
	}
	if err != nil {
		return "", err
	}
	if r.Amount == nil {
		return "", fmt.Errorf("PayPal refund %s without an amount", r.ID)
	}
	amt, err := minorOf(r.Amount.Value, r.Amount.Currency)
	if err != nil {
		return "", err
	}
	if err := a.Platform.RecordProviderRefund(ctx, t, r.ID, amt, st, "refunded at PayPal"); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

func (a *Provider) settleOurRefund(ctx context.Context, ours *domain.Refund, paypalID string, st domain.RefundStatus, ev *event) error {
	org := ours.OrganizationID
	switch {
	case st == domain.RefundSucceeded && ours.Status == domain.RefundSucceeded:
		return nil
	case st == domain.RefundSucceeded:
		if ours.Status == domain.RefundFailed {
			if err := a.Platform.ReviveRefund(ctx, org, ours.ID, paypalID); err != nil {
				return err
			}
		}
		return a.Platform.CompleteRefund(ctx, org, ours.ID, providers.RefundUpdate{ProviderReference: paypalID})
	case st == domain.RefundFailed && ours.Status == domain.RefundPending:
		return a.Platform.FailRefund(ctx, org, ours.ID, "PayPal: refund failed ("+ev.EventType+")")
	case ours.Status == domain.RefundPending && ours.ProviderReference == nil:
		return a.Platform.NoteRefundReference(ctx, org, ours.ID, paypalID)
	}
	return nil
}

// applyDisputeEvent applies a CUSTOMER.DISPUTE.* event to the transaction of the disputed
// capture: created (or updated while open) is a dispute opened; resolved in the seller's
// favour is won, in the buyer's lost.
func (a *Provider) applyDisputeEvent(ctx context.Context, prov *domain.Provider, ev *event, r *resource) (string, error) {
	var t *domain.Transaction
	var err error = domain.NotFound("transaction")
	for _, dt := range r.DisputedTransactions {
		if t, err = a.transactionFor(ctx, prov, "", dt.SellerTransactionID, ""); err == nil {
			break
		}
	}
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction of dispute " + r.DisputeID), nil
	}
	if err != nil {
		return "", err
	}
	data := map[string]any{"source": ev.EventType, "disputeId": r.DisputeID, "reason": r.Reason, "paypalStatus": r.Status}
	if r.DisputeAmount != nil {
		if v, err := minorOf(r.DisputeAmount.Value, r.DisputeAmount.Currency); err == nil {
			data["amount"] = v
		}
	}
	o := providers.Outcome{Kind: domain.OutcomeDisputeOpened, DisputeStatus: "open", At: ev.CreateTime}
	switch {
	case r.Status == "RESOLVED" && r.DisputeOutcome != nil && r.DisputeOutcome.OutcomeCode == "RESOLVED_BUYER_FAVOUR":
		o.Kind, o.DisputeStatus = domain.OutcomeDisputeLost, "lost"
	case r.Status == "RESOLVED":
		o.Kind, o.DisputeStatus = domain.OutcomeDisputeWon, "won"
	case r.Status == "UNDER_REVIEW":
		o.DisputeStatus = "under_review"
	}
	data["disputeStatus"] = o.DisputeStatus
	o.EventData = data
	if t.Status.Open() {
		// The capture's confirmation never reached us; the money was taken before it was disputed.
		if t, err = a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeSucceeded, Only: open, At: ev.CreateTime,
			EventData: map[string]any{"source": ev.EventType}}); err != nil {
			return "", err
		}
	}
	if t.Status == domain.TxnDisputed && o.Kind != domain.OutcomeDisputeWon {
		// Still disputed: the dispute's progress (under review, lost) is recorded on it.
		ev := domain.EventDisputeUpdated
		if o.Kind == domain.OutcomeDisputeLost {
			ev = domain.EventDisputeClosed
		}
		if err := a.Platform.RecordDispute(ctx, t, ev, o.DisputeStatus, data); err != nil {
			return "", err
		}
		return domain.ProviderEventProcessed, nil
	}
	if _, err := a.Platform.ApplyOutcome(ctx, t, o); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// Sync asks PayPal about a transaction's order and applies it (the buyer's return,
// status?sync=1): an approved order is captured.
func (a *Provider) Sync(ctx context.Context, t *domain.Transaction) error {
	if t.ProviderType != Type || t.ProviderReference == nil || *t.ProviderReference == "" || !t.Status.Open() {
		return nil
	}
	prov, err := a.Platform.Store().GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return err
	}
	cl, err := a.client(ctx, prov)
	if err != nil {
		return err
	}
	return a.syncOrder(ctx, cl, t, "sync")
}

// Reconcile looks at PayPal attempts open and untouched for olderThan: each is synced (an
// approved order is captured), and an order never approved whose checkout can no longer be
// paid, or that PayPal no longer knows (unapproved orders expire), cancels the attempt.
func (a *Provider) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	return a.Platform.ReconcileOpen(ctx, Type, olderThan, a.ReconcileBatch, a.reconcile)
}

func (a *Provider) reconcile(ctx context.Context, t *domain.Transaction) (bool, error) {
	if t.ProviderReference == nil || *t.ProviderReference == "" {
		return false, nil
	}
	prov, err := a.Platform.Store().GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return false, err
	}
	cl, err := a.client(ctx, prov)
	if err != nil {
		return false, err
	}
	readAt := providers.Now()
	var o *pp.Order
	err = a.retry(ctx, func() (err error) { o, err = cl.GetOrder(ctx, *t.ProviderReference); return err })
	gone := status(err) == http.StatusNotFound
	if err != nil && !gone {
		return true, providerError(err)
	}
	if !gone && o.Status != OrderCreated && o.Status != OrderPayerAction && o.Status != OrderSaved {
		return true, a.applyOrder(ctx, cl, t, o, "reconcile", readAt)
	}
	c, err := a.Platform.Store().GetCheckout(ctx, t.OrganizationID, t.CheckoutID)
	if err != nil {
		return true, err
	}
	if !gone && c.OpenAt(a.Platform.Now()) {
		return true, nil
	}
	_, err = a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeCancelled, At: readAt, Only: []domain.TransactionStatus{domain.TxnInitiated},
		FailureCode: "abandoned", FailureMessage: "the buyer never approved the payment at PayPal",
		EventData: map[string]any{"source": "reconcile", DataOrder: *t.ProviderReference, "orderExpired": gone}})
	return true, err
}
