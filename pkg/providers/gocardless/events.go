package gocardless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"paygate.dev/pkg/gcapi"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// Answers is how GoCardless expects webhooks to be answered: 204, and 498 for a bad signature.
var Answers = providers.Answers{OK: http.StatusNoContent, BadSignature: 498}

// WebhookAnswers are Answers.
func (p *Provider) WebhookAnswers() providers.Answers { return Answers }

// DefaultChargeGrace is how long after a payment's charge date reconciliation waits before it
// asks GoCardless about a payment still not confirmed.
const DefaultChargeGrace = 3 * 24 * time.Hour

// client builds the GoCardless client of a provider from its stored credentials.
func (p *Provider) client(ctx context.Context, prov *domain.Provider) (*gcapi.Client, error) {
	creds, err := p.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	return p.Client(prov, creds)
}

// Verify checks a delivery's Webhook-Signature (constant-time HMAC of the raw body with the
// provider's webhook secret) and only then reads its events, each with its own raw JSON. A bad
// signature wraps providers.ErrBadSignature; a signed body that is not a batch of events (each with
// an id, a resource type and an action) wraps providers.ErrMalformed.
func (p *Provider) Verify(ctx context.Context, prov *domain.Provider, body []byte, signature string) ([]providers.IncomingEvent, error) {
	creds, err := p.Platform.ProviderCredentials(ctx, prov)
	if err != nil {
		return nil, err
	}
	return verifyBatch(body, signature, creds)
}

// VerifyWebhook is Verify with the provider's credentials already decrypted.
func (p *Provider) VerifyWebhook(_ context.Context, _ *domain.Provider, creds map[string]string, body []byte, h http.Header) ([]providers.IncomingEvent, error) {
	return verifyBatch(body, h.Get(gcapi.WebhookSignatureHeader), creds)
}

func verifyBatch(body []byte, signature string, creds map[string]string) ([]providers.IncomingEvent, error) {
	batch, err := gcapi.ParseWebhook(body, signature, creds["webhookSecret"])
	switch {
	case errors.Is(err, gcapi.ErrInvalidSignature):
		return nil, fmt.Errorf("%w: %w", providers.ErrBadSignature, err)
	case err != nil && creds["webhookSecret"] == "":
		return nil, err // our configuration: answer 5xx so GoCardless retries once it is fixed
	case err != nil:
		return nil, fmt.Errorf("%w: not a GoCardless webhook batch: %w", providers.ErrMalformed, err)
	}
	var raw struct {
		Events *[]json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil || raw.Events == nil || len(*raw.Events) != len(batch.Events) {
		return nil, fmt.Errorf("%w: not a GoCardless webhook batch: no events list", providers.ErrMalformed)
	}
	out := make([]providers.IncomingEvent, 0, len(batch.Events))
	for i, ev := range batch.Events {
		if ev.ID == "" || ev.ResourceType == "" || ev.Action == "" {
			return nil, fmt.Errorf("%w: GoCardless event %d of the batch has no id, resource_type or action", providers.ErrMalformed, i)
		}
		out = append(out, providers.IncomingEvent{ExternalID: ev.ID, Type: ev.ResourceType + "." + ev.Action, Payload: (*raw.Events)[i],
			ObjectID: eventObject(&ev), OccurredAt: ev.CreatedAt})
	}
	return out, nil
}

// ApplyEvent applies one stored GoCardless event (the provider.event job). Events of other
// resources or actions are acknowledged and ignored.
func (p *Provider) ApplyEvent(ctx context.Context, stored *domain.ProviderEvent) (string, error) {
	var ev gcapi.Event
	if err := json.Unmarshal([]byte(stored.Payload), &ev); err != nil {
		return "", fmt.Errorf("decode GoCardless event: %w", err)
	}
	prov, err := p.Platform.Store().GetProvider(ctx, stored.OrganizationID, stored.ProviderID)
	if err != nil {
		return "", err
	}
	var apply func(context.Context, *domain.Provider, *gcapi.Event) (string, error)
	switch ev.ResourceType {
	case gcapi.ResourceTypeBillingRequests:
		switch ev.Action {
		case "fulfilled", "cancelled", "failed":
			apply = p.applyBillingRequestEvent
		}
	case gcapi.ResourceTypePayments:
		switch ev.Action {
		case "created", "submitted", "confirmed", "paid_out", "failed", "cancelled", "customer_approval_denied",
			"charged_back", "chargeback_cancelled", "chargeback_settled", "late_failure_settled", "resubmission_requested":
			apply = p.applyPaymentEvent
		}
	case gcapi.ResourceTypeMandates:
		switch ev.Action {
		case "failed", "cancelled", "expired", "blocked":
			apply = p.applyMandateEvent
		}
	case gcapi.ResourceTypeRefunds:
		switch ev.Action {
		case "created", "paid", "failed", "bounced", "cancelled", "funds_returned":
			apply = p.applyRefundEvent
		}
	}
	if apply == nil {
		return domain.ProviderEventIgnored, nil
	}
	return apply(ctx, prov, &ev)
}

func eventSource(ev *gcapi.Event) string { return ev.ResourceType + "." + ev.Action }

// eventObject is the id of the resource an event is about.
func eventObject(ev *gcapi.Event) string {
	switch ev.ResourceType {
	case gcapi.ResourceTypePayments:
		return ev.Links.Payment
	case gcapi.ResourceTypeBillingRequests:
		return ev.Links.BillingRequest
	case gcapi.ResourceTypeMandates:
		return ev.Links.Mandate
	case gcapi.ResourceTypeRefunds:
		return ev.Links.Refund
	}
	return ""
}

// transactionFor finds our transaction of a GoCardless object: by the billing request
// (provider reference), the payment (provider payment id), or the transaction id we put in
// the metadata. Another provider's transaction is NOT_FOUND.
func (p *Provider) transactionFor(ctx context.Context, prov *domain.Provider, billingRequestID, paymentID string, metas ...map[string]string) (*domain.Transaction, error) {
	st := p.Platform.Store()
	if billingRequestID != "" {
		t, err := st.GetTransactionByProviderRef(ctx, prov.ID, billingRequestID)
		if !domain.IsNotFound(err) {
			return t, err
		}
	}
	if paymentID != "" {
		t, err := st.GetTransactionByProviderPayment(ctx, prov.ID, paymentID)
		if !domain.IsNotFound(err) {
			return t, err
		}
	}
	for _, m := range metas {
		id := m["transaction_id"]
		if id == "" {
			continue
		}
		t, err := st.GetTransaction(ctx, prov.OrganizationID, id)
		if domain.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if t.ProviderID != prov.ID {
			continue
		}
		if paymentID != "" && t.ProviderPaymentID != nil && *t.ProviderPaymentID != "" && *t.ProviderPaymentID != paymentID {
			continue // another payment of ours: not this transaction's
		}
		return t, nil
	}
	return nil, domain.NotFound("transaction")
}

// applyBillingRequestEvent: fulfilled links the payment and applies its state; cancelled ends
// an open attempt.
func (p *Provider) applyBillingRequestEvent(ctx context.Context, prov *domain.Provider, ev *gcapi.Event) (string, error) {
	t, err := p.transactionFor(ctx, prov, ev.Links.BillingRequest, "", ev.ResourceMetadata)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil // not a payment of this platform
	}
	if err != nil {
		return "", err
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return "", err
	}
	readAt := providers.Now()
	br, err := cl.GetBillingRequest(ctx, ev.Links.BillingRequest)
	if err != nil {
		return "", providerError(err)
	}
	if err := p.applyBillingRequest(ctx, cl, t, br, eventSource(ev), &ev.Details, readAt); err != nil {
		return "", err
	}
	if ev.Action == "failed" && br.Status != gcapi.BillingRequestStatusFulfilled && br.Status != gcapi.BillingRequestStatusCancelled {
		if _, err := p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeFailed, At: readAt, Only: open,
			FailureCode: or(ev.Details.Cause, "billing_request_failed"), FailureMessage: or(ev.Details.Description, "the payment could not be set up at GoCardless"),
			EventData: map[string]any{"source": eventSource(ev), "billingRequest": br.ID}}); err != nil {
			return "", err
		}
	}
	return domain.ProviderEventProcessed, nil
}

var open = []domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider}

// applyBillingRequest applies a billing request's current state, read at readAt, to its
// transaction: once fulfilled, the payment it created is linked and its state applied;
// cancelled ends an open attempt; otherwise the buyer has not finished yet.
func (p *Provider) applyBillingRequest(ctx context.Context, cl *gcapi.Client, t *domain.Transaction, br *gcapi.BillingRequest, why string, d *gcapi.EventDetails, readAt time.Time) error {
	switch br.Status {
	case gcapi.BillingRequestStatusFulfilled:
		pmID := br.Links.PaymentRequestPayment
		if pmID == "" {
			_, err := p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomePending, At: readAt,
				EventData: map[string]any{"source": why, "billingRequest": br.ID}})
			return err
		}
		readAt = providers.Now()
		pm, err := cl.GetPayment(ctx, pmID)
		if err != nil {
			return providerError(err)
		}
		if err := p.link(ctx, t, pm, br.Links.MandateRequestMandate); err != nil {
			return err
		}
		return p.applyPayment(ctx, t, pm, why, nil, readAt)
	case gcapi.BillingRequestStatusCancelled:
		code, msg := "billing_request_cancelled", "the payment was cancelled at GoCardless"
		if d != nil && d.Description != "" {
			msg = d.Description
		}
		_, err := p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeCancelled, At: readAt, FailureCode: code, FailureMessage: msg,
			EventData: map[string]any{"source": why, "billingRequest": br.ID}})
		return err
	}
	return nil
}

// link records the payment (and mandate, charge date, status) on the transaction.
func (p *Provider) link(ctx context.Context, t *domain.Transaction, pm *gcapi.Payment, mandateID string) error {
	data := map[string]any{DataPayment: pm.ID, DataPaymentStatus: string(pm.Status)}
	if pm.ChargeDate != "" {
		data[DataChargeDate] = pm.ChargeDate
	}
	if mandateID == "" {
		mandateID = pm.Links.Mandate
	}
	if mandateID != "" {
		data[DataMandate] = mandateID
	}
	err := p.Platform.LinkProviderPayment(ctx, t, pm.ID, data)
	if domain.IsConflict(err) {
		p.Platform.Log().ErrorContext(ctx, "GoCardless payment does not match the transaction's", "transaction_id", t.ID, "payment", pm.ID, "error", err)
		return nil
	}
	if err == nil && (t.ProviderPaymentID == nil || *t.ProviderPaymentID == "") {
		id := pm.ID
		t.ProviderPaymentID = &id
	}
	return err
}

// applyPaymentEvent fetches the payment an event names and applies its current state.
func (p *Provider) applyPaymentEvent(ctx context.Context, prov *domain.Provider, ev *gcapi.Event) (string, error) {
	if ev.Links.Payment == "" {
		return domain.ProviderEventIgnored, nil
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return "", err
	}
	// GoCardless events carry ids only: the payment's state is read now, and ordered by the time
	// of the read (a state read earlier, applied late, is older news).
	readAt := providers.Now()
	pm, err := cl.GetPayment(ctx, ev.Links.Payment)
	if gcapi.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", providerError(err)
	}
	t, err := p.transactionFor(ctx, prov, "", pm.ID, pm.Metadata, ev.ResourceMetadata)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", err
	}
	if err := p.link(ctx, t, pm, ""); err != nil {
		return "", err
	}
	why := eventSource(ev)
	switch ev.Action {
	case "chargeback_cancelled":
		// The payer's bank reversed the chargeback: the money is the merchant's again.
		if t.Status == domain.TxnDisputed && (pm.Status == gcapi.PaymentStatusPaidOut || pm.Status == gcapi.PaymentStatusConfirmed) {
			_, err := p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeDisputeWon, At: readAt,
				DisputeStatus: "won", EventData: disputeData(pm, "won", why, &ev.Details)})
			if err != nil {
				return "", err
			}
			return domain.ProviderEventProcessed, nil
		}
	case "chargeback_settled":
		if t.Status == domain.TxnDisputed {
			if err := p.Platform.RecordDispute(ctx, t, domain.EventDisputeClosed, "lost", disputeData(pm, "lost", why, &ev.Details)); err != nil {
				return "", err
			}
			return domain.ProviderEventProcessed, nil
		}
	}
	var d *gcapi.EventDetails
	if ev.Action == string(pm.Status) {
		d = &ev.Details // the event explains the state we apply
	}
	if err := p.applyPayment(ctx, t, pm, why, d, readAt); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

func disputeData(pm *gcapi.Payment, status, why string, d *gcapi.EventDetails) map[string]any {
	data := map[string]any{"disputeId": pm.ID, "disputeStatus": status, "amount": pm.Amount, "source": why}
	if d != nil {
		if d.ReasonCode != "" {
			data["reasonCode"] = d.ReasonCode
		}
		if d.Cause != "" {
			data["reason"] = d.Cause
		}
	}
	return data
}

// applyPayment maps a payment's current state, read at readAt, to outcomes the transition table
// decides on. d explains the state when the event being applied reported it (failure causes,
// chargeback reasons).
//
//   - pending_customer_approval, pending_submission, submitted: the buyer authorised it;
//     an initiated attempt waits for the money (pending_provider).
//   - confirmed, paid_out: succeeded (also after an earlier failure or cancellation report:
//     money taken late is recorded).
//   - failed: failed — also after it was confirmed (a late failure the state machine allows).
//   - customer_approval_denied: failed; cancelled: canceled (open attempts only).
//   - charged_back: disputed (via succeeded if the confirmation was never applied).
func (p *Provider) applyPayment(ctx context.Context, t *domain.Transaction, pm *gcapi.Payment, why string, d *gcapi.EventDetails, readAt time.Time) error {
	data := map[string]any{"source": why, "payment": pm.ID, "paymentStatus": string(pm.Status)}
	fail := func(code, msg string) (string, string) {
		if d != nil {
			code = or(d.ReasonCode, or(d.Cause, code))
			msg = or(d.Description, msg)
			if d.Cause != "" {
				data["cause"] = d.Cause
			}
		}
		data["code"] = code
		return code, msg
	}
	var outcomes []providers.Outcome
	switch pm.Status {
	case gcapi.PaymentStatusPendingCustomerApproval, gcapi.PaymentStatusPendingSubmission, gcapi.PaymentStatusSubmitted:
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomePending, EventData: data})
	case gcapi.PaymentStatusConfirmed, gcapi.PaymentStatusPaidOut:
		if pm.Amount != t.GrossAmount || !strings.EqualFold(pm.Currency, t.Currency) {
			p.Platform.Log().ErrorContext(ctx, "GoCardless amount differs from the transaction", "transaction_id", t.ID,
				"gocardless_amount", pm.Amount, "gocardless_currency", pm.Currency, "gross", t.GrossAmount, "currency", t.Currency)
		}
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeSucceeded, EventData: data})
	case gcapi.PaymentStatusFailed:
		code, msg := fail("payment_failed", "the payment failed at GoCardless")
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeFailed, FailureCode: code, FailureMessage: msg, EventData: data})
	case gcapi.PaymentStatusCustomerApprovalDenied:
		code, msg := fail("customer_approval_denied", "the payer did not approve the payment")
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeFailed, Only: open, FailureCode: code, FailureMessage: msg, EventData: data})
	case gcapi.PaymentStatusCancelled:
		code, msg := fail("payment_cancelled", "the payment was cancelled at GoCardless")
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeCancelled, FailureCode: code, FailureMessage: msg, EventData: data})
	case gcapi.PaymentStatusChargedBack:
		if t.Status.Open() {
			// The confirmation never reached us; the money was taken before it was charged back.
			outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeSucceeded, Only: open, EventData: data})
		}
		outcomes = append(outcomes, providers.Outcome{Kind: domain.OutcomeDisputeOpened,
			DisputeStatus: "open", EventData: disputeData(pm, "open", why, d)})
	}
	for _, o := range outcomes {
		o.At = readAt
		moved, err := p.Platform.ApplyOutcome(ctx, t, o)
		if err != nil {
			return err
		}
		t = moved
	}
	return nil
}

// applyMandateEvent records a mandate that failed, was cancelled or expired on its transaction
// and, unless the payment was already collected, fails the attempt: nothing can be collected
// without a mandate.
func (p *Provider) applyMandateEvent(ctx context.Context, prov *domain.Provider, ev *gcapi.Event) (string, error) {
	if ev.Links.Mandate == "" {
		return domain.ProviderEventIgnored, nil
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return "", err
	}
	metas := []map[string]string{ev.ResourceMetadata}
	if ev.ResourceMetadata["transaction_id"] == "" {
		md, err := cl.GetMandate(ctx, ev.Links.Mandate)
		if gcapi.IsNotFound(err) {
			return domain.ProviderEventIgnored, nil
		}
		if err != nil {
			return "", providerError(err)
		}
		metas = append(metas, md.Metadata)
	}
	t, err := p.transactionFor(ctx, prov, "", "", metas...)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", err
	}
	why := eventSource(ev)
	note := map[string]any{"mandate": ev.Links.Mandate, "source": why, "cause": ev.Details.Cause, "description": ev.Details.Description}
	if ev.Details.ReasonCode != "" {
		note["reasonCode"] = ev.Details.ReasonCode
	}
	if err := p.Platform.RecordTransactionNote(ctx, t, "mandate."+ev.Action, note); err != nil {
		return "", err
	}
	// The payment may have been collected before the mandate went: apply its state first.
	readAt := providers.Now()
	if t.ProviderPaymentID != nil && *t.ProviderPaymentID != "" {
		pm, err := cl.GetPayment(ctx, *t.ProviderPaymentID)
		if err != nil {
			return "", providerError(err)
		}
		if err := p.applyPayment(ctx, t, pm, why, nil, readAt); err != nil {
			return "", err
		}
	}
	_, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeFailed, At: readAt, Only: open, FailureCode: "mandate_" + ev.Action,
		FailureMessage: or(ev.Details.Description, "the Direct Debit mandate "+ev.Action), EventData: note})
	if err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

// applyRefundEvent records the refund an event names, in its current state: a refund we asked
// for (it carries our refund id) completes or fails our row; one made in GoCardless's dashboard
// is recorded once by its GoCardless id.
func (p *Provider) applyRefundEvent(ctx context.Context, prov *domain.Provider, ev *gcapi.Event) (string, error) {
	if ev.Links.Refund == "" {
		return domain.ProviderEventIgnored, nil
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return "", err
	}
	rf, err := cl.GetRefund(ctx, ev.Links.Refund)
	if gcapi.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", providerError(err)
	}
	status := RefundStatus(rf.Status)
	if ev.Action == "failed" && status == domain.RefundPending {
		status = domain.RefundFailed
	}
	st := p.Platform.Store()
	if id := rf.Metadata["refund_id"]; id != "" {
		ours, err := st.GetRefund(ctx, prov.OrganizationID, id)
		if err == nil {
			if err := p.settleOurRefund(ctx, ours, rf, status, ev); err != nil {
				return "", err
			}
			return domain.ProviderEventProcessed, nil
		}
		if !domain.IsNotFound(err) {
			return "", err
		}
	}
	paymentID := rf.Links.Payment
	if paymentID == "" {
		paymentID = ev.Links.Payment
	}
	t, err := p.transactionFor(ctx, prov, "", paymentID, rf.Metadata)
	if domain.IsNotFound(err) {
		return domain.ProviderEventIgnored, nil
	}
	if err != nil {
		return "", err
	}
	if err := p.Platform.RecordProviderRefund(ctx, t, rf.ID, rf.Amount, status, rf.Reference); err != nil {
		return "", err
	}
	return domain.ProviderEventProcessed, nil
}

func (p *Provider) settleOurRefund(ctx context.Context, ours *domain.Refund, rf *gcapi.Refund, status domain.RefundStatus, ev *gcapi.Event) error {
	st := p.Platform.Store()
	org := ours.OrganizationID
	if ours.Status == domain.RefundFailed && status != domain.RefundFailed {
		// We gave up on the call (its answers were lost, then GoCardless was unavailable) but
		// GoCardless did make the refund: it is pending again, and settles like any other.
		p.Platform.Log().WarnContext(ctx, "GoCardless made a refund recorded as failed; reviving it", "refund_id", ours.ID, "gocardless_refund", rf.ID)
		if err := p.Platform.ReviveRefund(ctx, org, ours.ID, rf.ID); err != nil {
			return err
		}
		var err error
		if ours, err = st.GetRefund(ctx, org, ours.ID); err != nil {
			return err
		}
	}
	switch status {
	case domain.RefundSucceeded:
		err := p.Platform.CompleteRefund(ctx, org, ours.ID, providers.RefundUpdate{ProviderReference: rf.ID})
		if domain.IsConflict(err) {
			// Completed concurrently (refunds.created and refunds.paid applied at once).
			if cur, gerr := st.GetRefund(ctx, org, ours.ID); gerr == nil && cur.Status == domain.RefundSucceeded {
				return nil
			}
		}
		return err
	case domain.RefundFailed:
		if ours.Status == domain.RefundSucceeded {
			// Paid, then bounced: the money came back to the merchant. Keep it on record for an
			// operator; the refunded amount is not rolled back automatically.
			p.Platform.Log().ErrorContext(ctx, "GoCardless refund failed after it was paid", "refund_id", ours.ID, "gocardless_refund", rf.ID, "status", rf.Status)
			t, err := st.GetTransaction(ctx, org, ours.TransactionID)
			if err != nil {
				return err
			}
			return p.Platform.RecordTransactionNote(ctx, t, "refund.bounced", map[string]any{"refundId": ours.ID, "gocardlessRefund": rf.ID,
				"status": string(rf.Status), "source": eventSource(ev)})
		}
		msg := "GoCardless: refund " + string(rf.Status)
		if ev.Details.Description != "" {
			msg += ": " + ev.Details.Description
		}
		return p.Platform.FailRefund(ctx, org, ours.ID, msg)
	}
	if ours.ProviderReference == nil && ours.Status == domain.RefundPending {
		return p.Platform.NoteRefundReference(ctx, org, ours.ID, rf.ID)
	}
	return nil
}

// Sync asks GoCardless for a transaction's billing request (and payment) and applies their
// state: the buyer's return from the flow (status?sync=1) and reconciliation both use it, so a
// lost webhook never strands an order. Applying is idempotent, so a webhook arriving at the
// same time is harmless.
func (p *Provider) Sync(ctx context.Context, t *domain.Transaction) error {
	if t.ProviderType != domain.ProviderGoCardless || t.ProviderReference == nil || !t.Status.Open() {
		return nil
	}
	prov, err := p.Platform.Store().GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return err
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return err
	}
	_, err = p.sync(ctx, cl, t, "sync")
	return err
}

// sync applies the billing request's state and returns it.
func (p *Provider) sync(ctx context.Context, cl *gcapi.Client, t *domain.Transaction, why string) (*gcapi.BillingRequest, error) {
	readAt := providers.Now()
	br, err := cl.GetBillingRequest(ctx, *t.ProviderReference)
	if err != nil {
		return nil, providerError(err)
	}
	return br, p.applyBillingRequest(ctx, cl, t, br, why, nil, readAt)
}

// Reconcile looks at GoCardless transactions still open and neither changed nor looked at for
// olderThan (the periodic job, providers.Platform.ReconcileOpen): a payment whose charge date is more than
// ChargeGrace ago is fetched and its state applied, an attempt never authorised whose checkout
// can no longer be paid is cancelled (and its billing request with it), and each attempt looked
// at goes to the back of the queue. It returns how many attempts it asked GoCardless about.
func (p *Provider) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	return p.Platform.ReconcileOpen(ctx, domain.ProviderGoCardless, olderThan, p.ReconcileBatch, p.reconcile)
}

func (p *Provider) reconcile(ctx context.Context, t *domain.Transaction) (asked bool, err error) {
	if t.ProviderReference == nil || *t.ProviderReference == "" {
		return false, nil
	}
	grace := p.ChargeGrace
	if grace <= 0 {
		grace = DefaultChargeGrace
	}
	if s, _ := t.ProviderData[DataChargeDate].(string); s != "" {
		if due, err := time.Parse("2006-01-02", s); err == nil && p.now().Before(due.Add(grace)) {
			return false, nil // not expected to be confirmed yet
		}
	}
	prov, err := p.Platform.Store().GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return false, err
	}
	cl, err := p.client(ctx, prov)
	if err != nil {
		return false, err
	}
	br, err := p.sync(ctx, cl, t, "reconcile")
	if err != nil || br.Status == gcapi.BillingRequestStatusFulfilled || br.Status == gcapi.BillingRequestStatusCancelled {
		return true, err
	}
	// Never authorised: once the checkout cannot be paid any more, the attempt is over.
	c, err := p.Platform.Store().GetCheckout(ctx, t.OrganizationID, t.CheckoutID)
	if err != nil {
		return true, err
	}
	if c.OpenAt(p.now()) {
		return true, nil
	}
	if _, err := cl.CancelBillingRequest(ctx, br.ID, nil, t.ID+":cancel"); err != nil && !gcapi.IsNotFound(err) {
		var ae *gcapi.APIError
		if errors.As(err, &ae) && ae.Type == gcapi.ErrorTypeInvalidState {
			// The buyer fulfilled it meanwhile: apply that instead.
			_, err := p.sync(ctx, cl, t, "reconcile")
			return true, err
		}
		return true, providerError(err)
	}
	_, err = p.Platform.ApplyOutcome(ctx, t, providers.Outcome{Kind: domain.OutcomeCancelled, At: providers.Now(), FailureCode: "abandoned",
		FailureMessage: "the buyer never authorised the payment at GoCardless and the checkout can no longer be paid",
		EventData:      map[string]any{"source": "reconcile", "billingRequest": br.ID, "checkoutStatus": string(c.EffectiveStatus(p.now()))}})
	return true, err
}

func or(v, fallback string) string {
	if v != "" {
		return v
	}
	return fallback
}
