package receipt

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/queue"
)

// KindSend is the job kind that sends one receipt.
const KindSend = "receipt.send"

// maxAttempts bounds a receipt's sending: about four hours with the default backoff.
const maxAttempts = 12

// SendArgs is a KindSend job: the receipt to send (its row holds the recipient, so no personal
// data sits in the job's arguments).
type SendArgs struct {
	OrganizationID string `json:"org_id"`
	ReceiptID      string `json:"receipt_id"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return KindSend }

// InsertOpts: the email queue (worked by the admin backend, which has the mail server); one
// unfinished job per receipt.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Email, MaxAttempts: maxAttempts,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}}
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	return queue.Retry(nil, job.Attempt)
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	return w.s.Send(ctx, job.Args.OrganizationID, job.Args.ReceiptID, job.Attempt >= job.MaxAttempts)
}

// RegisterWorkers adds the receipt job kind to ws: the admin backend works it; the main backend
// registers it too, as River's leader must know every kind.
func (s *Service) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[SendArgs](ws, &sendWorker{s: s})
}

// Send sends one receipt, at most once: it claims the receipt (pending → sending), renders it
// from the payment's current records, hands it to the mailer and records the outcome. A
// receipt already sent, or given up, is left alone; one found sending (the previous attempt
// died after claiming it, perhaps after the mail server took it) becomes uncertain, not sent
// again. A temporary mail failure puts it back to pending and returns the error, so the job
// retries it, unless last says this is the job's last attempt.
func (s *Service) Send(ctx context.Context, orgID, receiptID string, last bool) error {
	if s.mailer == nil {
		return errNoMailer
	}
	r, claimed, err := s.store.ClaimReceipt(ctx, orgID, receiptID)
	switch {
	case domain.IsNotFound(err):
		return river.JobCancel(err)
	case err != nil:
		return err
	case !claimed && r.Status == domain.ReceiptSending:
		_, err := s.store.FinishReceipt(ctx, orgID, receiptID, domain.ReceiptUncertain,
			"an earlier attempt ended without recording whether the mail server took the receipt; not sent again")
		s.log.WarnContext(ctx, "receipt attempt found unfinished, marked uncertain", "org_id", orgID, "receipt", receiptID)
		return err
	case !claimed:
		return nil // sent, failed or uncertain already
	}
	msg, err := s.render(ctx, r)
	if err != nil {
		return s.finish(ctx, r, err, !domain.IsNotFound(err) && !last)
	}
	err = s.mailer.Send(ctx, msg)
	if err == nil {
		_, err = s.store.FinishReceipt(context.WithoutCancel(ctx), orgID, receiptID, domain.ReceiptSent, "")
		if err == nil {
			s.log.InfoContext(ctx, "receipt sent", "org_id", orgID, "receipt", receiptID, "transaction", r.TransactionID,
				"kind", string(r.Kind), "language", r.Language)
		}
		return err // an unrecorded success: the retry finds it sending and marks it uncertain
	}
	return s.finish(ctx, r, err, errors.Is(err, ErrTemporary) && !last)
}

// finish records a failed attempt: pending again (retried) or failed for good.
func (s *Service) finish(ctx context.Context, r *domain.Receipt, cause error, retry bool) error {
	status := domain.ReceiptFailed
	if retry {
		status = domain.ReceiptPending
	}
	if _, err := s.store.FinishReceipt(context.WithoutCancel(ctx), r.OrganizationID, r.ID, status, cause.Error()); err != nil {
		return err
	}
	// The mail server's answer may quote the address: the log gets it without.
	s.log.WarnContext(ctx, "receipt not sent", "org_id", r.OrganizationID, "receipt", r.ID, "retry", retry,
		"error", strings.ReplaceAll(cause.Error(), r.Recipient, "<buyer>"))
	if retry {
		return cause
	}
	return nil
}

// render loads the payment's records and builds the message.
func (s *Service) render(ctx context.Context, r *domain.Receipt) (Message, error) {
	txn, err := s.store.GetTransaction(ctx, r.OrganizationID, r.TransactionID)
	if err != nil {
		return Message{}, err
	}
	chk, err := s.store.GetCheckout(ctx, r.OrganizationID, r.CheckoutID)
	if err != nil {
		return Message{}, err
	}
	site, err := s.store.GetSite(ctx, r.OrganizationID, r.SiteID)
	if err != nil {
		return Message{}, err
	}
	org, err := s.store.GetOrganization(ctx, r.OrganizationID)
	if err != nil {
		return Message{}, err
	}
	return s.catalog.Render(Facts{Organization: org, Site: site, Checkout: chk, Transaction: txn}, r.Language, r.Recipient)
}
