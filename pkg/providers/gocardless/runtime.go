package gocardless

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/gcapi"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/runtimeapi"
)

// CreateBillingRequest serves POST /api/v1/billing-requests/create on the runtime API: it
// starts (or resumes) the checkout's GoCardless attempt through the platform's StartPayment —
// which creates the billing request and its flow for the authoritative gross amount — and
// answers where to send the buyer.
//
// Errors: 400 without sessionPublicId or providerId; 404 for an unknown session, or a
// transactionId of another checkout; 422 PROVIDER_NOT_AVAILABLE when the checkout does not
// offer this GoCardless provider (e.g. a currency GoCardless cannot collect); 422
// PROVIDER_ERROR when GoCardless refuses the request; 409 when the checkout is paid, expired
// or the attempt was already authorised; 503 when GoCardless is unavailable.
func (p *Provider) CreateBillingRequest(c echo.Context) error {
	var in runtimeapi.BillingRequestRequest
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return err
	}
	if in.SessionPublicID == "" || in.ProviderID == "" {
		return domain.Invalid("providerId", "sessionPublicId and providerId are required")
	}
	ctx := c.Request().Context()
	address := in.BillingAddress
	pc := address.PostalCode
	if pc == "" {
		pc = address.Postcode
	}
	t, res, err := p.Platform.StartPayment(ctx, domain.ProviderGoCardless, providers.StartPayment{SessionPublicID: in.SessionPublicID, ProviderID: in.ProviderID,
		TransactionID: in.TransactionID, Language: in.Language, ShortCode: in.ShortCode,
		Billing: domain.BillingDetails{Name: address.Name, Email: address.Email, Company: address.Company,
			Line1: address.Line1, Line2: address.Line2, City: address.City, PostalCode: pc, Country: address.Country, VATID: address.VATID}})
	if err != nil {
		return err
	}
	if res.Next.Type != "redirect" || res.Next.RedirectURL == "" {
		return domain.Conflict(domain.CodeInvalidState, "the payment was already authorised at GoCardless; its confirmation is on its way")
	}
	// A resumed attempt may have a new flow: keep it, so the next resume reuses it.
	if flow, _ := res.ProviderData[DataFlow].(string); flow != "" && flow != t.ProviderData[DataFlow] {
		if err := p.Platform.MergeProviderData(ctx, t, res.ProviderData); err != nil {
			p.Platform.Log().WarnContext(ctx, "keep the new GoCardless flow", "transaction_id", t.ID, "error", err)
		}
	}
	return c.JSON(http.StatusOK, runtimeapi.BillingRequestResponse{TransactionID: t.ID, AuthorisationURL: res.Next.RedirectURL})
}

// JobCancelBillingRequest is the job kind that cancels the billing request of an attempt the
// buyer abandoned.
const JobCancelBillingRequest = "gocardless.cancel_billing_request"

// CancelHook is an outbox hook (ipn.Hook): when a GoCardless attempt is cancelled (the buyer
// left the flow, or chose another method), it queues a job that cancels the billing request at
// GoCardless, so the abandoned authorisation page cannot take money any more.
func (p *Provider) CancelHook(ctx context.Context, tx providers.HookTx, e domain.Event) error {
	if e.TransactionID == nil || e.Type != domain.TransactionEventType(domain.TxnCanceled) {
		return nil
	}
	if _, reported := e.Data["source"]; reported {
		return nil // GoCardless's own state, applied by this package: nothing left to cancel there
	}
	t, err := tx.GetTransaction(ctx, e.OrganizationID, *e.TransactionID)
	if err != nil {
		return err
	}
	if t.ProviderType != domain.ProviderGoCardless || t.ProviderReference == nil || *t.ProviderReference == "" {
		return nil
	}
	return tx.Enqueue(ctx, CancelArgs{OrganizationID: t.OrganizationID, TransactionID: t.ID})
}

// CancelArgs is a JobCancelBillingRequest job: cancel the billing request of a transaction.
type CancelArgs struct {
	OrganizationID string `json:"organizationId"`
	TransactionID  string `json:"transactionId" river:"unique"`
}

// Kind implements river.JobArgs.
func (CancelArgs) Kind() string { return JobCancelBillingRequest }

// InsertOpts: the providers queue, 10 attempts, one job per transaction.
func (CancelArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Providers, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type cancelWorker struct {
	river.WorkerDefaults[CancelArgs]
	p *Provider
}

func (w *cancelWorker) NextRetry(job *river.Job[CancelArgs]) time.Time {
	return queue.Retry(nil, job.Attempt)
}

func (w *cancelWorker) Work(ctx context.Context, job *river.Job[CancelArgs]) error {
	return w.p.cancelBillingRequest(ctx, job.Args.OrganizationID, job.Args.TransactionID)
}

// RegisterWorkers adds the processor's job kinds to ws.
func (p *Provider) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[CancelArgs](ws, &cancelWorker{p: p})
}

// cancelBillingRequest runs JobCancelBillingRequest. Cancelling is idempotent (an already cancelled request
// is fine); a request the buyer fulfilled meanwhile cannot be cancelled and is left to its
// webhooks (a payment taken after a cancellation is still recorded).
func (p *Provider) cancelBillingRequest(ctx context.Context, orgID, txnID string) error {
	st := p.Platform.Store()
	t, err := st.GetTransaction(ctx, orgID, txnID)
	if domain.IsNotFound(err) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if t.ProviderReference == nil {
		return nil
	}
	prov, err := st.GetProvider(ctx, t.OrganizationID, t.ProviderID)
	if err != nil {
		return err
	}
	cl, err := p.client(ctx, prov)
	if domain.ErrorKind(err) == domain.KindUnprocessable {
		return river.JobCancel(err) // a misconfigured provider: retrying cannot help
	}
	if err != nil {
		return err
	}
	_, err = cl.CancelBillingRequest(ctx, *t.ProviderReference, map[string]string{"transaction_id": t.ID}, t.ID+":cancel")
	var ae *gcapi.APIError
	switch {
	case err == nil, gcapi.IsNotFound(err):
		return nil
	case errors.As(err, &ae) && ae.Type == gcapi.ErrorTypeInvalidState:
		p.Platform.Log().InfoContext(ctx, "GoCardless billing request not cancelled: the buyer completed it", "transaction_id", t.ID, "error", err)
		return nil
	}
	return err
}
