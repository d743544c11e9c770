package mollie

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mollieapi"
	"paygate.dev/pkg/providers"
)

// EventType is the type of every stored Mollie webhook call.
const EventType = "payment.changed"

// Answers are how Mollie expects its calls answered: 200. Its calls are not signed, so no call is refused for its
// signature (BadSignature is never used).
var Answers = providers.Answers{OK: http.StatusOK, BadSignature: http.StatusBadRequest}

// WebhookAnswers are Answers.
func (a *Provider) WebhookAnswers() providers.Answers { return Answers }

var paymentIDPattern = regexp.MustCompile(`^tr_[A-Za-z0-9]{1,64}$`)

// event is what is stored of a webhook call: the payment id and the state Mollie gave when
// the call was received (its fingerprint deduplicates calls that report nothing new).
type event struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

// VerifyWebhook takes the call's id as a hint only. It reads the payment with the
// provider's API key: an id that is not a payment of this account in the provider's mode is
// answered 200 with nothing stored (a forged or stray call learns nothing); a real one is
// stored under the payment's current state, so a repeated call with nothing new is stored
// once. Mollie unreachable is an error (answered 5xx: Mollie calls again).
func (a *Provider) VerifyWebhook(ctx context.Context, p *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]providers.IncomingEvent, error) {
	form, err := url.ParseQuery(string(body))
	id := form.Get("id")
	if err != nil || !paymentIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%w: a Mollie webhook call posts id=tr_…", providers.ErrMalformed)
	}
	cl, err := a.Client(p, creds)
	if err != nil {
		return nil, err
	}
	pm, err := cl.GetPayment(ctx, id)
	if mollieapi.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, providerError(err)
	}
	if pm.Mode != "" && pm.Mode != string(p.Mode) {
		return nil, nil
	}
	state, err := a.fingerprint(ctx, cl, pm)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(event{ID: pm.ID, State: state})
	if err != nil {
		return nil, err
	}
	return []providers.IncomingEvent{{ExternalID: pm.ID + ":" + state, Type: EventType, Payload: payload, ObjectID: pm.ID}}, nil
}

// fingerprint is the payment's state as far as we apply it: its status, refunded and charged
// back amounts, and its refunds' and chargebacks' states.
func (a *Provider) fingerprint(ctx context.Context, cl *mollieapi.Client, pm *mollieapi.Payment) (string, error) {
	parts := []string{string(pm.Status), amountText(pm.AmountRefunded), amountText(pm.AmountChargedBack)}
	if pm.Links.Refunds != nil || pm.AmountRefunded != nil && pm.AmountRefunded.Value != "" && pm.AmountRefunded.Value != "0.00" {
		rfs, err := cl.ListRefunds(ctx, pm.ID)
		if err != nil {
			return "", providerError(err)
		}
		for _, r := range rfs {
			parts = append(parts, r.ID+"="+string(r.Status))
		}
	}
	if pm.Links.Chargebacks != nil {
		cbs, err := cl.ListChargebacks(ctx, pm.ID)
		if err != nil {
			return "", providerError(err)
		}
		for _, c := range cbs {
			parts = append(parts, c.ID+"="+fmt.Sprint(c.ReversedAt != nil))
		}
	}
	sort.Strings(parts[3:])
	return strings.Join(parts, ","), nil
}

func amountText(a *mollieapi.Amount) string {
	if a == nil {
		return "-"
	}
	return a.Value
}

// ApplyEvent reads the payment the stored call names, with the organisation's key, and
// applies its current state; the stored state is never used.
func (a *Provider) ApplyEvent(ctx context.Context, stored *domain.ProviderEvent) (string, error) {
	var ev event
	if err := json.Unmarshal([]byte(stored.Payload), &ev); err != nil {
		return "", fmt.Errorf("decode stored Mollie call: %w", err)
	}
	if ev.ID == "" {
		return providers.IgnoredBecause("not a Mollie payment call"), nil
	}
	st := a.Platform.Store()
	prov, err := st.GetProvider(ctx, stored.OrganizationID, stored.ProviderID)
	if err != nil {
		return "", err
	}
	t, err := st.GetTransactionByProviderRef(ctx, prov.ID, ev.ID)
	if domain.IsNotFound(err) {
		return providers.IgnoredBecause("no transaction of this provider for " + ev.ID), nil
	}
	if err != nil {
		return "", err
	}
	cl, err := a.client(ctx, prov)
	if err != nil {
		return "", err
	}
	if err := a.syncPayment(ctx, cl, t, "webhook"); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// client builds the client of a provider from its stored credentials.
func (a *Provider) client(ctx context.Context, prov *domain.Provider) (*mollieapi.Client, error) {
	creds, err := a.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	return a.Client(prov, creds)
}

// syncPayment reads the transaction's payment now and applies it: its status, then its
// chargebacks and refunds.
func (a *Provider) syncPayment(ctx context.Context, cl *mollieapi.Client, t *domain.Transaction, why string) error {
	readAt := providers.Now()
	pm, err := cl.GetPayment(ctx, *t.ProviderReference)
	if err != nil {
		return providerError(err)
	}
	if pm.Metadata["transaction_id"] != "" && pm.Metadata["transaction_id"] != t.ID {
		a.Platform.Log().ErrorContext(ctx, "Mollie payment names another transaction", "transaction_id", t.ID, "payment", pm.ID)
		return nil
	}
	t, err = a.applyPayment(ctx, t, pm, why, readAt)
	if err != nil {
		return err
	}
	if pm.Links.Chargebacks != nil {
		if t, err = a.applyChargebacks(ctx, cl, t, pm, why, readAt); err != nil {
			return err
		}
	}
	if pm.Links.Refunds != nil || pm.AmountRefunded != nil {
		return a.applyRefunds(ctx, cl, t, pm)
	}
	return nil
}

var open = []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider}

// applyPayment maps the payment's status to an outcome the transition table decides on:
// pending and authorized wait for the money, paid succeeded, failed failed, canceled and
// expired cancelled (open attempts only); open is the buyer not done yet.
func (a *Provider) applyPayment(ctx context.Context, t *domain.Transaction, pm *mollieapi.Payment, why string, readAt time.Time) (*domain.Transaction, error) {
	data := map[string]any{"source": why, "payment": pm.ID, "paymentStatus": string(pm.Status)}
	if pm.Method != "" {
		data[DataMethod] = pm.Method
	}
	o := providers.Outcome{At: readAt, EventData: data}
	switch pm.Status {
	case mollieapi.PaymentPending, mollieapi.PaymentAuthorized:
		o.Kind = domain.OutcomePending
	case mollieapi.PaymentPaid:
		if v, err := pm.Amount.Minor(); err != nil || v != t.GrossAmount || !strings.EqualFold(pm.Amount.Currency, t.Currency) {
			a.Platform.Log().ErrorContext(ctx, "Mollie amount differs from the transaction", "transaction_id", t.ID, "mollie_amount", pm.Amount.Value,
				"mollie_currency", pm.Amount.Currency, "gross", t.GrossAmount, "currency", t.Currency)
		}
		o.Kind, o.ProviderPaymentID = domain.OutcomeSucceeded, pm.ID
	case mollieapi.PaymentFailed:
		o.Kind, o.FailureCode, o.FailureMessage = domain.OutcomeFailed, "payment_failed", "the payment failed at Mollie"
		if d := pm.Details; d != nil {
			o.FailureCode, o.FailureMessage = or(d.FailureReason, o.FailureCode), or(d.FailureMessage, o.FailureMessage)
		}
	case mollieapi.PaymentCanceled:
		o.Kind, o.Only, o.FailureCode, o.FailureMessage = domain.OutcomeCancelled, open, "payment_canceled", "the buyer cancelled the payment at Mollie"
	case mollieapi.PaymentExpired:
		o.Kind, o.Only, o.FailureCode, o.FailureMessage = domain.OutcomeCancelled, open, "payment_expired", "the payment expired at Mollie before it was paid"
	default:
		return t, nil
	}
	return a.Platform.ApplyOutcome(ctx, t, o)
}

// applyChargebacks: a chargeback not reversed is a dispute lost. Mollie lists a chargeback only
// once the card issuer or bank has accepted it, and the money is then already deducted from
// the Mollie balance (docs.mollie.com, Chargebacks API); Mollie's API has no open or
// under-review stage to wait for, and a chargeback is final unless it is reversed (its
// reversedAt set). So the transaction becomes disputed with the dispute lost; once every
// chargeback is reversed the dispute is won and the payment stands again.
func (a *Provider) applyChargebacks(ctx context.Context, cl *mollieapi.Client, t *domain.Transaction, pm *mollieapi.Payment, why string, readAt time.Time) (*domain.Transaction, error) {
	cbs, err := cl.ListChargebacks(ctx, pm.ID)
	if err != nil {
		return t, providerError(err)
	}
	var active *mollieapi.Chargeback
	for i := range cbs {
		if cbs[i].ReversedAt == nil {
			active = &cbs[i]
		}
	}
	if active == nil {
		if t.Status != domain.TxnDisputed || len(cbs) == 0 {
			return t, nil
		}
		return a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeWon, At: readAt, DisputeStatus: "won",
			EventData: disputeData(&cbs[len(cbs)-1], "won", why)})
	}
	return a.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeLost, At: readAt, DisputeStatus: "lost",
		EventData: disputeData(active, "lost", why)})
}

func disputeData(cb *mollieapi.Chargeback, status, why string) map[string]any {
	d := map[string]any{"disputeId": cb.ID, "disputeStatus": status, "source": why}
	if v, err := cb.Amount.Minor(); err == nil {
		d["amount"] = v
	}
	if cb.Reason != nil {
		d["reasonCode"], d["reason"] = cb.Reason.Code, cb.Reason.Description
	}
	return d
}

// applyRefunds settles the payment's refunds: ours (they carry our refund id) complete or
// fail; one made in Mollie's dashboard is recorded once by its Mollie id.
func (a *Provider) applyRefunds(ctx context.Context, cl *mollieapi.Client, t *domain.Transaction, pm *mollieapi.Payment) error {
	rfs, err := cl.ListRefunds(ctx, pm.ID)
	if err != nil {
		return providerError(err)
	}
	st := a.Platform.Store()
	for i := range rfs {
		rf := &rfs[i]
		status := RefundStatus(rf.Status)
		if id := rf.Metadata["refund_id"]; id != "" {
			ours, err := st.GetRefund(ctx, t.OrganizationID, id)
			if err == nil && ours.TransactionID == t.ID {
				if err := a.settleOurRefund(ctx, ours, rf, status); err != nil {
					return err
				}
				continue
			}
			if err != nil && !domain.IsNotFound(err) {
				return err
			}
		}
		amount, err := rf.Amount.Minor()
		if err != nil {
			return fmt.Errorf("mollie refund %s: %w", rf.ID, err)
		}
		if err := a.Platform.RecordProviderRefund(ctx, t, rf.ID, amount, status, or(rf.Description, "refunded in Mollie")); err != nil {
			return err
		}
	}
	return nil
}

func (a *Provider) settleOurRefund(ctx context.Context, ours *domain.Refund, rf *mollieapi.Refund, status domain.RefundStatus) error {
	org := ours.OrganizationID
	if ours.Status == domain.RefundFailed && status != domain.RefundFailed {
		// We gave up on the call, but Mollie made the refund: it is pending again.
		a.Platform.Log().WarnContext(ctx, "Mollie made a refund recorded as failed; reviving it", "refund_id", ours.ID, "mollie_refund", rf.ID)
		if err := a.Platform.ReviveRefund(ctx, org, ours.ID, rf.ID); err != nil {
			return err
		}
		cur, err := a.Platform.Store().GetRefund(ctx, org, ours.ID)
		if err != nil {
			return err
		}
		ours = cur
	}
	switch {
	case ours.Status == status:
		return nil
	case status == domain.RefundSucceeded && ours.Status == domain.RefundPending:
		err := a.Platform.CompleteRefund(ctx, org, ours.ID, providers.RefundUpdate{ProviderReference: rf.ID})
		if domain.IsConflict(err) {
			if cur, gerr := a.Platform.Store().GetRefund(ctx, org, ours.ID); gerr == nil && cur.Status == domain.RefundSucceeded {
				return nil // completed concurrently
			}
		}
		return err
	case status == domain.RefundFailed && ours.Status == domain.RefundPending:
		return a.Platform.FailRefund(ctx, org, ours.ID, "Mollie: refund "+string(rf.Status))
	case status == domain.RefundPending && ours.ProviderReference == nil:
		return a.Platform.NoteRefundReference(ctx, org, ours.ID, rf.ID)
	}
	return nil
}

// Sync reads the transaction's payment and applies it (the buyer's return, status?sync=1).
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
	return a.syncPayment(ctx, cl, t, "sync")
}

// Reconcile asks Mollie about attempts still open and untouched for olderThan: their state is
// applied, and a payment still open whose checkout can no longer be paid is cancelled.
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
	if err := a.syncPayment(ctx, cl, t, "reconcile"); err != nil {
		return true, err
	}
	cur, err := a.Platform.Store().GetTransaction(ctx, t.OrganizationID, t.ID)
	if err != nil || !cur.Status.Open() {
		return true, err
	}
	c, err := a.Platform.Store().GetCheckout(ctx, t.OrganizationID, t.CheckoutID)
	if err != nil || c.OpenAt(a.Platform.Now()) {
		return true, err
	}
	pm, err := cl.CancelPayment(ctx, *t.ProviderReference, t.ID+":cancel")
	if err != nil {
		if mollieapi.IsUnprocessable(err) {
			// Not cancelable any more (paid or pending meanwhile): apply that instead.
			return true, a.syncPayment(ctx, cl, cur, "reconcile")
		}
		return true, providerError(err)
	}
	_, err = a.applyPayment(ctx, cur, pm, "reconcile", providers.Now())
	return true, err
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}
