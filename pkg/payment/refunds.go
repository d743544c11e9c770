package payment

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// RefundInput asks for money back.
type RefundInput struct {
	// Amount in minor units; nil refunds everything still refundable.
	Amount *int64
	Reason string
	// Source says where the request came from (api, dashboard, duda).
	Source string
}

// Refund gives back all or part of a paid transaction through its provider. Partial and
// repeated refunds are allowed up to the captured amount, never beyond: the check and the
// pending refund row are written under a lock on the transaction, so concurrent refunds cannot
// together exceed it. A paid duplicate (a second attempt that also took the money) is
// refundable like any paid transaction.
//
// The provider is called outside any database transaction, with the refund id as its
// idempotency key, and one refund of a payment at a time: the call holds the transaction's
// refund lease (see sendRefunds), and the running total it sends (GoCardless's
// total_amount_confirmation) is computed at call time from the refunds the provider has
// already accepted, plus this one. A provider that confirms at once moves the transaction to
// partially_refunded or refunded (IPN 3 when full) in the same database transaction as the
// refund's success. Wire-transfer refunds are recorded as manual.
//
// Errors: NOT_FOUND for another organisation's transaction; 409 INVALID_STATE when it is not
// paid; 409 PAYMENT_DISPUTED while it is disputed (a refund on top of a chargeback would pay
// the payer twice); 400 for a bad amount; 422 REFUND_EXCEEDS_BALANCE above what is left;
// 422 or 503 PROVIDER_ERROR when the provider refuses or fails (the refund is marked failed).
func (s *Service) Refund(ctx context.Context, actor domain.Actor, orgID, txnID string, in RefundInput) (*domain.Refund, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "refund", "create"); err != nil {
		return nil, err
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Reason) > 500 {
		return nil, domain.Invalid("reason", "reason must be at most 500 characters")
	}
	if in.Source == "" {
		in.Source = "api"
		if actor.Type == domain.ActorUser {
			in.Source = "dashboard"
		}
	}
	var r *domain.Refund
	err := s.store.InTx(ctx, func(tx Store) error {
		t, err := tx.LockTransaction(ctx, orgID, txnID)
		if err != nil {
			return err
		}
		if t.Status == domain.TxnDisputed {
			if t.DisputeStatus == "lost" || t.DisputeStatus == "accepted" {
				return domain.Conflict(domain.CodePaymentDisputed, "the payment was disputed and the dispute was lost: the money already went back to the payer")
			}
			return domain.Conflict(domain.CodePaymentDisputed, "the payment is disputed; it cannot be refunded while the dispute is open")
		}
		if !t.Status.Paid() {
			return domain.Conflict(domain.CodeInvalidState, "only paid transactions can be refunded (this one is %s)", t.Status)
		}
		promised, err := tx.SumRefunds(ctx, t.ID)
		if err != nil {
			return err
		}
		left := t.GrossAmount - promised
		amount := left
		if in.Amount != nil {
			amount = *in.Amount
		}
		if amount <= 0 {
			if in.Amount == nil {
				return domain.Unprocessable(domain.CodeRefundExceedsBalance, "nothing is left to refund")
			}
			return domain.Invalid("amount", "amount must be a positive integer in minor units")
		}
		if amount > left {
			return domain.Unprocessable(domain.CodeRefundExceedsBalance, "at most %d can still be refunded (refunds so far: %d of %d)", left, promised, t.GrossAmount)
		}
		r = &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: orgID, TransactionID: t.ID, Amount: amount, Currency: t.Currency,
			Reason: in.Reason, Status: domain.RefundPending, Source: in.Source, CreatedBy: actor.Label}
		if err := tx.CreateRefund(ctx, r); err != nil {
			return err
		}
		data := map[string]any{"refundId": r.ID, "amount": amount, "currency": t.Currency, "reason": in.Reason}
		if t.Duplicate {
			data["duplicate"] = true
		}
		return tx.Audit(ctx, actor, "refund.create", "transaction", t.ID, data)
	})
	if err != nil {
		return nil, err
	}
	sent, err := s.sendRefunds(ctx, orgID, r.TransactionID, r.ID)
	if err != nil {
		return nil, err
	}
	out, err := s.store.GetRefund(ctx, orgID, r.ID)
	if err != nil {
		return nil, err
	}
	if !sent && out.Status == domain.RefundFailed {
		// Another request holding the payment's lease sent it for us, and the provider refused.
		return nil, domain.Unprocessable(domain.CodeProviderError, "the provider did not accept the refund: %s", out.FailureMessage)
	}
	return out, nil
}

// Refund lease timings: a holder renews its lease every refundLeaseTTL/3, so a lease outlives
// its holder by at most refundLeaseTTL (a crash); a request waits at most refundLockWait for
// its turn, after which its refund stays queued for the holder (or ResumeRefunds) to send.
const (
	refundLeaseTTL = 30 * time.Second
	refundLockWait = time.Minute
	// refundDrainTimeout bounds one holder's work (provider calls continue if the caller that
	// holds the lease goes away: other callers' refunds may be in its queue).
	refundDrainTimeout = 5 * time.Minute
)

// sendRefunds sends a transaction's refunds the provider has not accepted yet, oldest first,
// one at a time, while holding the transaction's refund lease, until none is left. Whoever
// holds the lease sends every queued refund (its own and those of requests still waiting), so
// the provider sees them in the order they were allocated, each with the running total of the
// refunds it has accepted plus this one. A refund interrupted by a crash is still queued and is
// sent again with the same idempotency key, which makes the retry safe.
//
// own names the caller's refund: sent reports whether this call sent it, and err is its
// outcome. When the lease is not free within refundLockWait, the refund stays queued (pending)
// for the holder to send, and sent is false.
func (s *Service) sendRefunds(ctx context.Context, orgID, txnID, own string) (sent bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, refundLockWait)
	defer cancel()
	release, err := s.lockRefunds(wctx, txnID)
	if err != nil {
		if own != "" && ctx.Err() == nil {
			s.log.WarnContext(ctx, "another refund of the payment is still at the provider; this one stays queued", "transaction_id", txnID, "refund_id", own, "error", err)
			return false, nil
		}
		return false, err
	}
	defer release()
	work, stop := context.WithTimeout(context.WithoutCancel(ctx), refundDrainTimeout)
	defer stop()
	tried := map[string]bool{}
	var ownErr error
	for {
		queue, err := s.store.ListUnsentRefunds(work, orgID, txnID)
		if err != nil {
			if sent {
				s.log.ErrorContext(ctx, "list queued refunds", "transaction_id", txnID, "error", err)
				return sent, ownErr
			}
			return false, err
		}
		progressed := false
		for i := range queue {
			r := &queue[i]
			if tried[r.ID] {
				continue
			}
			tried[r.ID], progressed = true, true
			rerr := s.sendRefund(work, r)
			switch {
			case r.ID == own:
				sent, ownErr = true, rerr
			case rerr != nil:
				s.log.WarnContext(ctx, "queued refund not accepted by the provider", "transaction_id", txnID, "refund_id", r.ID, "error", rerr)
			}
		}
		if !progressed {
			return sent, ownErr
		}
	}
}

// ResumeRefunds sends the refunds whose request ended before their provider accepted them (a
// crash mid-call, or a caller that stopped waiting for its turn), created more than olderThan
// ago: each is sent again under its payment's lease with its own idempotency key, so a refund
// the provider did make is not made twice. It is the main backend's periodic refunds.resume
// job, and returns how many payments it looked at.
func (s *Service) ResumeRefunds(ctx context.Context, olderThan time.Duration) (int, error) {
	queued, err := s.store.ListQueuedRefunds(ctx, domain.Now().Add(-olderThan), 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, q := range queued {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.sendRefunds(wait, q.OrganizationID, q.TransactionID, "")
		cancel()
		if err != nil {
			s.log.WarnContext(ctx, "resume queued refunds", "transaction_id", q.TransactionID, "error", err)
			continue
		}
		n++
	}
	return n, nil
}

// sendRefund makes one refund at its provider with the running total computed now, and records
// the answer (failRefund on a refusal).
func (s *Service) sendRefund(ctx context.Context, r *domain.Refund) error {
	t, err := s.store.GetTransaction(ctx, r.OrganizationID, r.TransactionID)
	if err != nil {
		return err
	}
	p, err := s.store.GetProvider(ctx, r.OrganizationID, t.ProviderID)
	if err != nil {
		return err
	}
	adapter, err := s.providers.Get(p.Type)
	if err != nil {
		return s.failRefund(ctx, r, err)
	}
	creds, err := s.ProviderCredentials(ctx, p)
	if err != nil {
		return s.failRefund(ctx, r, err)
	}
	accepted, err := s.store.SumAcceptedRefunds(ctx, t.ID)
	if err != nil {
		return err
	}
	res, err := adapter.Refund(ctx, providers.RefundRequest{Provider: p, Credentials: creds, Transaction: t, Refund: r,
		TotalRefunded: accepted + r.Amount, IdempotencyKey: "refund:" + r.ID})
	if err != nil {
		return s.failRefund(ctx, r, err)
	}
	return s.settleRefund(ctx, r, res)
}

// lockRefunds takes a transaction's refund lease: first among this process's callers (in
// memory, so they queue without polling), then in the database (compare-and-set on
// refund_locks, so callers in other processes and replicas queue too). No database
// transaction stays open while it is held. The lease is renewed until release is called; a
// holder that dies loses it after refundLeaseTTL.
func (s *Service) lockRefunds(ctx context.Context, txnID string) (release func(), err error) {
	unlock, err := s.refundLocks.lock(ctx, txnID)
	if err != nil {
		return nil, err
	}
	token := domain.RandomString(24)
	delay := 5 * time.Millisecond
	for {
		ok, err := s.store.ClaimRefundLock(ctx, txnID, token, refundLeaseTTL)
		if err != nil {
			unlock()
			return nil, err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			unlock()
			return nil, ctx.Err()
		case <-time.After(delay + time.Duration(rand.Int64N(int64(delay)))):
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
	bg := context.WithoutCancel(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(refundLeaseTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if ok, err := s.store.ClaimRefundLock(bg, txnID, token, refundLeaseTTL); !ok || err != nil {
					s.log.WarnContext(bg, "refund lease not renewed", "transaction_id", txnID, "error", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if err := s.store.ReleaseRefundLock(bg, txnID, token); err != nil {
			s.log.WarnContext(bg, "release refund lease", "transaction_id", txnID, "error", err)
		}
		unlock()
	}, nil
}

// keyedLocks queue this process's callers per key (a transaction's refunds), honouring contexts.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func newKeyedLocks() *keyedLocks { return &keyedLocks{m: map[string]*keyedLock{}} }

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	done := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; done() }, nil
	case <-ctx.Done():
		done()
		return nil, ctx.Err()
	}
}

// failRefund marks a refund failed and explains the provider's refusal.
func (s *Service) failRefund(ctx context.Context, r *domain.Refund, cause error) error {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	if err := s.store.UpdateRefund(ctx, r.OrganizationID, r.ID, domain.RefundPending, domain.RefundChanges{Status: domain.Ptr(domain.RefundFailed), FailureMessage: &msg}); err != nil {
		s.log.ErrorContext(ctx, "mark refund failed", "refund_id", r.ID, "error", err)
	}
	if de, ok := errors.AsType[*domain.Error](cause); ok && de.Kind != domain.KindInternal {
		return cause
	}
	return domain.Unavailable(domain.CodeProviderError, cause, "the provider did not accept the refund: %s", msg)
}

// settleRefund records what the provider did with a refund.
func (s *Service) settleRefund(ctx context.Context, r *domain.Refund, res *providers.RefundResult) error {
	set := domain.RefundChanges{Manual: domain.Ptr(res.Manual)}
	if res.ProviderReference != "" {
		set.ProviderReference = domain.Ptr(res.ProviderReference)
	}
	if res.Status == domain.RefundFailed {
		msg := res.FailureMessage
		if msg == "" {
			msg = "the provider refused the refund"
		}
		set.Status, set.FailureMessage = domain.Ptr(domain.RefundFailed), &msg
	}
	if res.Status != domain.RefundSucceeded {
		return s.store.UpdateRefund(ctx, r.OrganizationID, r.ID, domain.RefundPending, set)
	}
	return s.completeRefund(ctx, r.OrganizationID, r.ID, set)
}

// CompleteRefund marks a pending refund succeeded (with the provider's id of it, when reported)
// and moves its transaction to partially_refunded or refunded — both in one database
// transaction, with the events. A refund already completed is left as it is.
func (s *Service) CompleteRefund(ctx context.Context, orgID, refundID string, upd providers.RefundUpdate) error {
	var set domain.RefundChanges
	if upd.ProviderReference != "" {
		set.ProviderReference = domain.Ptr(upd.ProviderReference)
	}
	return s.completeRefund(ctx, orgID, refundID, set)
}

func (s *Service) completeRefund(ctx context.Context, orgID, refundID string, set domain.RefundChanges) error {
	set.Status = domain.Ptr(domain.RefundSucceeded)
	return s.store.InTx(ctx, func(tx Store) error {
		r, err := tx.GetRefund(ctx, orgID, refundID)
		if err != nil {
			return err
		}
		if r.Status == domain.RefundSucceeded {
			return nil
		}
		if err := tx.UpdateRefund(ctx, orgID, refundID, domain.RefundPending, set); err != nil {
			return err
		}
		t, err := tx.LockTransaction(ctx, orgID, r.TransactionID)
		if err != nil {
			return err
		}
		refunded := t.RefundedAmount + r.Amount
		if refunded > t.GrossAmount {
			return domain.Conflict(domain.CodeRefundExceedsBalance, "refunds would exceed the captured amount")
		}
		kind, to := domain.OutcomePartiallyRefunded, domain.TxnPartiallyRefunded
		if refunded == t.GrossAmount {
			kind, to = domain.OutcomeRefunded, domain.TxnRefunded
		}
		_, err = tx.TransitionTransaction(ctx, domain.Transition{OrganizationID: orgID, TransactionID: t.ID, Kind: kind,
			Changes: domain.TransactionChanges{RefundedAmount: &refunded}, EventData: map[string]any{"refundId": r.ID, "amount": r.Amount, "refundedAmount": refunded}})
		if err == nil {
			s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), string(to)).Inc()
		}
		return err
	})
}

// FailRefund marks a pending refund failed (a provider reported it bounced or was refused).
func (s *Service) FailRefund(ctx context.Context, orgID, refundID, message string) error {
	err := s.store.UpdateRefund(ctx, orgID, refundID, domain.RefundPending, domain.RefundChanges{Status: domain.Ptr(domain.RefundFailed), FailureMessage: &message})
	if domain.IsConflict(err) {
		return nil
	}
	return err
}

// ReviveRefund makes a refund recorded as failed pending again, with the provider's id of it:
// the provider did make a refund whose call we had given up on (its answers were lost, then
// the provider was unavailable). A refund no longer failed is left as it is.
func (s *Service) ReviveRefund(ctx context.Context, orgID, refundID, providerRef string) error {
	err := s.store.UpdateRefund(ctx, orgID, refundID, domain.RefundFailed, domain.RefundChanges{Status: domain.Ptr(domain.RefundPending),
		ProviderReference: &providerRef, FailureMessage: domain.Ptr("")})
	if domain.IsConflict(err) {
		return nil
	}
	return err
}

// NoteRefundReference records the provider's id of a refund still pending. A refund no longer
// pending is left as it is.
func (s *Service) NoteRefundReference(ctx context.Context, orgID, refundID, providerRef string) error {
	err := s.store.UpdateRefund(ctx, orgID, refundID, domain.RefundPending, domain.RefundChanges{ProviderReference: &providerRef})
	if domain.IsConflict(err) {
		return nil
	}
	return err
}

// ListRefunds lists a transaction's refunds.
func (s *Service) ListRefunds(ctx context.Context, actor domain.Actor, orgID, txnID string) ([]domain.Refund, error) {
	if err := auth.InOrg(actor, orgID); err != nil {
		return nil, err
	}
	if err := auth.Authorize(actor, "refund", "read"); err != nil {
		return nil, err
	}
	if _, err := s.store.GetTransaction(ctx, orgID, txnID); err != nil {
		return nil, err
	}
	return s.store.ListRefunds(ctx, orgID, txnID)
}
