package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// SignatureTolerance is how old a signed webhook may be.
const SignatureTolerance = 300 * time.Second

// ErrBadSignature means a webhook's Stripe-Signature did not verify.
var ErrBadSignature = errors.New("stripe: webhook signature does not verify")

// Verify checks a webhook's Stripe-Signature against the provider's webhook secret (300 s
// tolerance) and only then reads the event to store. A bad signature wraps ErrBadSignature;
// a correctly signed body that is not a well-formed event wraps providers.ErrMalformed.
func (p *Provider) Verify(ctx context.Context, prov *domain.Provider, body []byte, signature string) (providers.IncomingEvent, error) {
	creds, err := p.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return providers.IncomingEvent{}, err
	}
	return verifyEvent(body, signature, creds["webhookSecret"])
}

// verifyEvent is the pure part of Verify: the Stripe-Signature check with the webhook secret
// first, then the shape of the event it carries (a signed but malformed body is ErrMalformed).
func verifyEvent(body []byte, signature, secret string) (providers.IncomingEvent, error) {
	if secret == "" { // an HMAC with an empty key is one anybody can make
		return providers.IncomingEvent{}, fmt.Errorf("%w: the provider has no webhook secret", ErrBadSignature)
	}
	if err := webhook.ValidatePayloadWithTolerance(body, signature, secret, SignatureTolerance); err != nil {
		return providers.IncomingEvent{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	ev, err := parseEvent(body)
	if err != nil {
		return providers.IncomingEvent{}, err
	}
	in := providers.IncomingEvent{ExternalID: ev.ID, Type: string(ev.Type), Payload: body}
	if ev.Created > 0 {
		in.OccurredAt = time.Unix(ev.Created, 0).UTC()
	}
	if ev.Data != nil {
		if id, ok := ev.Data.Object["id"].(string); ok {
			in.ObjectID = id
		}
	}
	return in, nil
}

// paymentIntentEvents are the PaymentIntent events applied: each carries the PaymentIntent's
// whole state when Stripe created it, so the newest one (by "created") is the truth.
var paymentIntentEvents = []string{"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing"}

// eventTime is the provider time of a stored Stripe event (zero if not known).
func eventTime(stored *domain.ProviderEvent, ev *stripego.Event) time.Time {
	if stored.OccurredAt != nil {
		return *stored.OccurredAt
	}
	if ev.Created > 0 {
		return time.Unix(ev.Created, 0).UTC()
	}
	return time.Time{}
}

// eventObject is what data.object of each event type ApplyEvent handles decodes into.
func eventObject(t stripego.EventType) any {
	switch t {
	case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing":
		return &stripego.PaymentIntent{}
	case "charge.refunded":
		return &stripego.Charge{}
	case "charge.refund.updated", "refund.updated", "refund.failed":
		return &stripego.Refund{}
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
		return &stripego.Dispute{}
	}
	return nil
}

// parseEvent reads a Stripe event (after its signature has verified): it must be one event
// with an id, a type and an object in data.object, and the object of a type we act on must
// decode as that type and carry its id. Anything else wraps providers.ErrMalformed.
func parseEvent(body []byte) (*stripego.Event, error) {
	var ev stripego.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%w: not a Stripe event: %w", providers.ErrMalformed, err)
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%w: the Stripe event has no id or no type", providers.ErrMalformed)
	}
	if ev.Data == nil || ev.Data.Object == nil {
		return nil, fmt.Errorf("%w: the Stripe event %s has no data.object", providers.ErrMalformed, ev.ID)
	}
	if obj := eventObject(ev.Type); obj != nil {
		if err := json.Unmarshal(ev.Data.Raw, obj); err != nil {
			return nil, fmt.Errorf("%w: data.object of the Stripe event %s (%s) does not decode: %w", providers.ErrMalformed, ev.ID, ev.Type, err)
		}
		if id, _ := ev.Data.Object["id"].(string); id == "" {
			return nil, fmt.Errorf("%w: data.object of the Stripe event %s (%s) has no id", providers.ErrMalformed, ev.ID, ev.Type)
		}
	}
	return &ev, nil
}

// ApplyEvent applies one stored Stripe event (the provider.event job).
func (p *Provider) ApplyEvent(ctx context.Context, stored *domain.ProviderEvent) (string, error) {
	var ev stripego.Event
	if err := json.Unmarshal([]byte(stored.Payload), &ev); err != nil {
		return "", fmt.Errorf("decode Stripe event: %w", err)
	}
	prov, err := p.Platform.Store().GetProvider(ctx, stored.OrganizationID, stored.ProviderID)
	if err != nil {
		return "", err
	}
	at := eventTime(stored, &ev)
	switch ev.Type {
	case "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled", "payment_intent.processing":
		var pi stripego.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			return "", err
		}
		// Stripe does not order events: if it already sent a newer state of this
		// PaymentIntent, this one is old news (a decline before the card that succeeded).
		// Recorded, not applied; the newer event is applied by its own job.
		if !at.IsZero() {
			newer, err := p.Platform.Store().NewerProviderEvent(ctx, prov.ID, pi.ID, at, paymentIntentEvents)
			if err != nil {
				return "", err
			}
			if newer != "" {
				return providers.IgnoredBecause("superseded by the newer event " + newer), nil
			}
		}
		return p.applyPaymentIntent(ctx, prov, &pi, string(ev.Type), at)
	case "charge.refunded", "charge.refund.updated", "refund.updated", "refund.failed":
		return p.applyRefundEvent(ctx, prov, &ev)
	case "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed":
		var d stripego.Dispute
		if err := json.Unmarshal(ev.Data.Raw, &d); err != nil {
			return "", err
		}
		return p.applyDispute(ctx, prov, &d, string(ev.Type), at)
	}
	return domain.ProviderEventIgnored, nil
}

// transactionFor finds our transaction of a PaymentIntent (by its id, else the metadata we set).
func (p *Provider) transactionFor(ctx context.Context, prov *domain.Provider, piID string, meta map[string]string) (*domain.Transaction, error) {
	st := p.Platform.Store()
	t, err := st.GetTransactionByProviderRef(ctx, prov.ID, piID)
	if domain.IsNotFound(err) && meta["transaction_id"] != "" {
		t, err = st.GetTransaction(ctx, prov.OrganizationID, meta["transaction_id"])
		if err == nil && t.ProviderID != prov.ID {
			return nil, domain.NotFound("transaction")
		}
	}
	return t, err
}

// applyPaymentIntent maps a PaymentIntent's state, as of provider time at, to an outcome; the
// transition table decides what it does (a failure older than the success, or a success after
// a dispute opened, changes nothing; "processing" only moves an initiated attempt).
func (p *Provider) applyPaymentIntent(ctx context.Context, prov *domain.Provider, pi *stripego.PaymentIntent, why string, at time.Time) (string, error) {
	t, err := p.transactionFor(ctx, prov, pi.ID, pi.Metadata)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil // not a payment of this platform
	}
	if err != nil {
		return "", err
	}
	var o *providers.Outcome
	switch pi.Status {
	case stripego.PaymentIntentStatusSucceeded:
		charge := ""
		if pi.LatestCharge != nil {
			charge = pi.LatestCharge.ID
		}
		if pi.Amount != t.GrossAmount || !strings.EqualFold(string(pi.Currency), t.Currency) {
			// Stripe took a different amount than we asked: record it for an operator.
			p.Platform.Log().ErrorContext(ctx, "Stripe amount differs from the transaction", "transaction_id", t.ID, "stripe_amount", pi.Amount, "gross", t.GrossAmount)
		}
		o = &providers.Outcome{Kind: domain.OutcomeSucceeded, ProviderPaymentID: charge, EventData: map[string]any{"source": why, "paymentIntent": pi.ID}}
	case stripego.PaymentIntentStatusProcessing:
		o = &providers.Outcome{Kind: domain.OutcomeProcessing, EventData: map[string]any{"source": why}}
	case stripego.PaymentIntentStatusCanceled:
		o = &providers.Outcome{Kind: domain.OutcomeCancelled, FailureCode: string(pi.CancellationReason), FailureMessage: "the payment was cancelled at Stripe",
			EventData: map[string]any{"source": why}}
	case stripego.PaymentIntentStatusRequiresPaymentMethod:
		// Only a failed payment attempt Stripe reports, with its code, fails the attempt, with
		// Stripe's own decline code (else error code) and message; none is made up. Without
		// last_payment_error, or with one that names no code (Stripe reports no decline), nothing
		// has happened yet: the buyer has not paid, whatever the event's type.
		code, msg := declineOf(pi.LastPaymentError)
		if code == "" {
			return domain.ProviderEventProcessed, nil
		}
		o = &providers.Outcome{Kind: domain.OutcomeFailed, FailureCode: code, FailureMessage: msg, EventData: map[string]any{"source": why, "code": code}}
	default:
		return domain.ProviderEventProcessed, nil // requires_action, requires_confirmation ...: still with the buyer
	}
	o.At = at
	if _, err := p.Platform.ApplyOutcome(ctx, t, *o); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// declineOf reads a PaymentIntent's last_payment_error: the decline code (else the error code)
// and Stripe's message; "" when it reports no failed payment attempt (no error, or no code).
func declineOf(e *stripego.Error) (code, msg string) {
	if e == nil {
		return "", ""
	}
	code = string(e.DeclineCode)
	if code == "" {
		code = string(e.Code)
	}
	if code == "" {
		return "", ""
	}
	msg = e.Msg
	if msg == "" {
		msg = "the payment failed at Stripe (" + code + ")"
	}
	return code, msg
}

// applyRefundEvent records refunds Stripe reports: each refund once by its Stripe id, those we
// asked for completing our pending row, those made in Stripe's dashboard recorded as new.
func (p *Provider) applyRefundEvent(ctx context.Context, prov *domain.Provider, ev *stripego.Event) (string, error) {
	var refunds []stripego.Refund
	var piID string
	var meta map[string]string
	if ev.Type == "charge.refunded" {
		var ch stripego.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			return "", err
		}
		if ch.PaymentIntent != nil {
			piID = ch.PaymentIntent.ID
		}
		meta = ch.Metadata
		if ch.Refunds != nil && len(ch.Refunds.Data) > 0 {
			for _, r := range ch.Refunds.Data {
				refunds = append(refunds, *r)
			}
		} else if piID != "" {
			list, err := p.listRefunds(ctx, prov, piID)
			if err != nil {
				return "", err
			}
			refunds = list
		}
	} else {
		var r stripego.Refund
		if err := json.Unmarshal(ev.Data.Raw, &r); err != nil {
			return "", err
		}
		if r.PaymentIntent != nil {
			piID = r.PaymentIntent.ID
		}
		meta = r.Metadata
		refunds = append(refunds, r)
	}
	if piID == "" {
		return domain.ProviderEventIgnored, nil
	}
	t, err := p.transactionFor(ctx, prov, piID, meta)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", err
	}
	for _, r := range refunds {
		if err := p.recordRefund(ctx, t, &r); err != nil {
			return "", err
		}
	}
	return domain.ProviderEventProcessed, nil
}

func (p *Provider) recordRefund(ctx context.Context, t *domain.Transaction, r *stripego.Refund) error {
	// A refund we asked for carries our refund id; complete that row rather than adding one.
	if id := r.Metadata["refund_id"]; id != "" {
		ours, err := p.Platform.Store().GetRefund(ctx, t.OrganizationID, id)
		if err == nil {
			switch RefundStatus(r.Status) {
			case domain.RefundSucceeded:
				return p.Platform.CompleteRefund(ctx, t.OrganizationID, ours.ID, providers.RefundUpdate{ProviderReference: r.ID})
			case domain.RefundFailed:
				return p.Platform.FailRefund(ctx, t.OrganizationID, ours.ID, "Stripe: refund "+string(r.Status)+" "+string(r.FailureReason))
			}
			return nil
		}
		if !domain.IsNotFound(err) {
			return err
		}
	}
	return p.Platform.RecordProviderRefund(ctx, t, r.ID, r.Amount, RefundStatus(r.Status), string(r.Reason))
}

func (p *Provider) listRefunds(ctx context.Context, prov *domain.Provider, piID string) ([]stripego.Refund, error) {
	creds, err := p.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	params := &stripego.RefundListParams{PaymentIntent: stripego.String(piID)}
	params.Context = ctx
	it := p.Client(creds["secretKey"]).Refunds.List(params)
	var out []stripego.Refund
	for it.Next() {
		out = append(out, *it.Refund())
	}
	if err := it.Err(); err != nil {
		return nil, providerError(err)
	}
	return out, nil
}

// disputeStatus maps Stripe's dispute statuses to the contract's (open, under_review, won,
// lost, accepted).
func disputeStatus(s stripego.DisputeStatus) string {
	switch s {
	case stripego.DisputeStatusWon:
		return "won"
	case stripego.DisputeStatusLost:
		return "lost"
	case stripego.DisputeStatusUnderReview, stripego.DisputeStatusWarningUnderReview:
		return "under_review"
	case stripego.DisputeStatusWarningClosed:
		return "accepted"
	}
	return "open"
}

// applyDispute: a new dispute makes the transaction disputed (IPN 4) — after recording the
// success first if the payment's own event has not been applied yet (a charge is only disputed
// once it was paid); a dispute won returns it to succeeded (IPN 1); a lost one is recorded on it.
func (p *Provider) applyDispute(ctx context.Context, prov *domain.Provider, d *stripego.Dispute, why string, at time.Time) (string, error) {
	var piID, chargeID string
	if d.PaymentIntent != nil {
		piID = d.PaymentIntent.ID
	}
	if d.Charge != nil {
		chargeID = d.Charge.ID
	}
	st := p.Platform.Store()
	t, err := st.GetTransactionByProviderPayment(ctx, prov.ID, chargeID)
	if domain.IsNotFound(err) && piID != "" {
		t, err = p.transactionFor(ctx, prov, piID, nil)
	}
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", err
	}
	status := disputeStatus(d.Status)
	data := map[string]any{"disputeId": d.ID, "disputeStatus": status, "reason": string(d.Reason), "amount": d.Amount, "source": why}
	switch {
	case why == "charge.dispute.created":
		if t.Status.Open() {
			if t, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeSucceeded, At: at, Only: []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider},
				ProviderPaymentID: chargeID, EventData: map[string]any{"source": why, "paymentIntent": piID}}); err != nil {
				return "", err
			}
		}
		_, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeOpened, At: at, DisputeStatus: status, EventData: data})
	case status == "won":
		_, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeWon, At: at, DisputeStatus: status, EventData: data})
	case status == "lost" && t.Status != domain.TxnDisputed:
		// Lost before its opening reached us: the money went back to the payer.
		_, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeLost, At: at, DisputeStatus: status, EventData: data})
	case why == "charge.dispute.closed":
		err = p.Platform.RecordDispute(ctx, t, domain.EventDisputeClosed, status, data)
	default:
		err = p.Platform.RecordDispute(ctx, t, domain.EventDisputeUpdated, status, data)
	}
	if err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// Sync asks Stripe for a transaction's PaymentIntent and applies its state: the buyer's return
// from Stripe and the reconciliation job both use it, so a lost webhook never leaves a paid
// order unpaid. Applying is idempotent, so a webhook arriving at the same time is harmless.
func (p *Provider) Sync(ctx context.Context, t *domain.Transaction) error {
	if t.ProviderType != domain.ProviderStripe || t.ProviderReference == nil || !t.Status.Open() {
		return nil
	}
	prov, err := p.Platform.Store().GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return err
	}
	creds, err := p.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return err
	}
	params := &stripego.PaymentIntentParams{}
	params.Context = ctx
	// The state read is at least as new as the moment we asked: events Stripe created before
	// then are older news.
	readAt := providers.Now()
	pi, err := p.Client(creds["secretKey"]).PaymentIntents.Get(*t.ProviderReference, params)
	if err != nil {
		return providerError(err)
	}
	_, err = p.applyPaymentIntent(ctx, prov, pi, "sync", readAt)
	return err
}

// Reconcile asks Stripe about the Stripe transactions still open and neither changed nor looked
// at for olderThan (the periodic job), in turn (providers.Platform.ReconcileOpen): each run takes the
// ReconcileBatch attempts looked at longest ago. It returns how many it asked Stripe about.
func (p *Provider) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	return p.Platform.ReconcileOpen(ctx, domain.ProviderStripe, olderThan, p.ReconcileBatch, func(ctx context.Context, t *domain.Transaction) (bool, error) {
		if t.ProviderReference == nil || *t.ProviderReference == "" {
			return false, nil // no PaymentIntent yet: nothing to ask about
		}
		return true, p.Sync(ctx, t)
	})
}

// StatusCode is what a webhook request is answered with for an error.
func StatusCode(err error) int {
	if errors.Is(err, ErrBadSignature) {
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// WebhookAnswers: Stripe expects 200, and 400 for a bad signature.
func (p *Provider) WebhookAnswers() providers.Answers {
	return providers.Answers{OK: http.StatusOK, BadSignature: http.StatusBadRequest}
}

// VerifyWebhook checks a delivery's Stripe-Signature against the provider's webhook secret and
// parses its one event.
func (p *Provider) VerifyWebhook(_ context.Context, _ *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]providers.IncomingEvent, error) {
	ev, err := verifyEvent(body, h.Get("Stripe-Signature"), creds["webhookSecret"])
	if err != nil {
		if errors.Is(err, ErrBadSignature) {
			return nil, fmt.Errorf("%w: %w", providers.ErrBadSignature, err)
		}
		return nil, err
	}
	return []providers.IncomingEvent{ev}, nil
}
