package store

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"paygate.dev/pkg/domain"
)

// CreateTransaction inserts a new attempt in status initiated, with its first event
// (version 1), in one transaction.
func (s *Store) CreateTransaction(ctx context.Context, t *domain.Transaction) error {
	now := Now()
	t.CreatedAt, t.UpdatedAt = now, now
	t.Status = domain.TxnInitiated
	t.EventVersion = 1
	if t.TaxEvidence == nil {
		t.TaxEvidence = map[string]any{}
	}
	if t.ProviderData == nil {
		t.ProviderData = map[string]any{}
	}
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.db.Create(t).Error; err != nil {
			return translate(err, "transaction")
		}
		return tx.AppendEvent(ctx, &domain.Event{
			OrganizationID: t.OrganizationID, Type: domain.TransactionEventType(domain.TxnInitiated),
			CheckoutID: &t.CheckoutID, TransactionID: &t.ID, Version: 1, Status: string(domain.TxnInitiated),
			Data: map[string]any{"provider": string(t.ProviderType), "gross": t.GrossAmount, "currency": t.Currency}, OccurredAt: now,
		})
	})
}

// GetTransaction returns NOT_FOUND for another organisation's transaction.
func (s *Store) GetTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error) {
	var t domain.Transaction
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&t).Error; err != nil {
		return nil, translate(err, "transaction")
	}
	return named(ctx, &t), nil
}

// GetTransactionByID finds a transaction by id alone (the hosted page and workers).
func (s *Store) GetTransactionByID(ctx context.Context, id string) (*domain.Transaction, error) {
	var t domain.Transaction
	if err := s.q(ctx).Where("id = ?", id).Take(&t).Error; err != nil {
		return nil, translate(err, "transaction")
	}
	return named(ctx, &t), nil
}

// GetTransactionByProviderRef finds the transaction a provider object belongs to
// (a Stripe PaymentIntent, a GoCardless billing request).
func (s *Store) GetTransactionByProviderRef(ctx context.Context, providerID, ref string) (*domain.Transaction, error) {
	var t domain.Transaction
	if err := s.q(ctx).Where("provider_id = ? AND provider_reference = ?", providerID, ref).Take(&t).Error; err != nil {
		return nil, translate(err, "transaction")
	}
	return named(ctx, &t), nil
}

// GetTransactionByProviderPayment finds a transaction by the provider's payment id
// (a GoCardless payment, a Stripe charge).
func (s *Store) GetTransactionByProviderPayment(ctx context.Context, providerID, paymentID string) (*domain.Transaction, error) {
	var t domain.Transaction
	if err := s.q(ctx).Where("provider_id = ? AND provider_payment_id = ?", providerID, paymentID).Take(&t).Error; err != nil {
		return nil, translate(err, "transaction")
	}
	return named(ctx, &t), nil
}

// ListCheckoutTransactions returns a checkout's attempts, oldest first.
func (s *Store) ListCheckoutTransactions(ctx context.Context, orgID, checkoutID string) ([]domain.Transaction, error) {
	var out []domain.Transaction
	err := s.q(ctx).Where("organization_id = ? AND checkout_id = ?", orgID, checkoutID).Order("id").Find(&out).Error
	return out, translate(err, "transactions")
}

// TransactionFilter is the domain's (the use cases and the HTTP layer speak it).
type TransactionFilter = domain.TransactionFilter

// ListTransactions lists transactions newest first, fetching Limit+1 rows (as ListCheckouts).
func (s *Store) ListTransactions(ctx context.Context, f TransactionFilter) ([]domain.Transaction, error) {
	var out []domain.Transaction
	if err := s.transactionsQuery(ctx, f).Find(&out).Error; err != nil {
		return nil, translate(err, "transactions")
	}
	if f.Before != "" {
		out = reverse(out, f.Limit)
	}
	return out, nil
}

// transactionsQuery is ListTransactions' query.
func (s *Store) transactionsQuery(ctx context.Context, f TransactionFilter) *gorm.DB {
	q := s.q(ctx).Model(&domain.Transaction{}).Where("organization_id = ?", f.OrganizationID)
	for col, v := range map[string]string{"site_id": f.SiteID, "checkout_id": f.CheckoutID, "provider_id": f.ProviderID, "status": string(f.Status), "mode": string(f.Mode)} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if f.Search != "" {
		q = s.transactionSearch(ctx, q, f.OrganizationID, f.Search)
	}
	if f.Email != "" {
		q = s.emailFilter(ctx, q, f.OrganizationID, f.Email)
	}
	q = createdRange(q, domain.PrefixTransaction, f.CreatedFrom, f.CreatedTo)
	return page(q, f.After, f.Before, f.Limit)
}

// TransitionTransaction moves a transaction under a lock on its row (compare-and-set on its
// status as well) and writes its event, with the next event version, in the same database
// transaction. A move to succeeded also completes the checkout (and writes checkout.completed);
// a late failure of the payment that completed the checkout reopens it (checkout.reopened: open,
// or expired if its time is up) unless another attempt paid it.
//
// Errors: NOT_FOUND for an unknown or foreign transaction; CONFLICT ALREADY_IN_STATE when the
// transaction is already in To; CONFLICT STALE_REPORT when a report (Kind) is older than the
// last applied one; CONFLICT INVALID_STATE when the move is not allowed from its current status;
// CONFLICT CHECKOUT_ALREADY_PAID when another attempt of the checkout succeeded.
func (s *Store) TransitionTransaction(ctx context.Context, tr domain.Transition) (*domain.Transaction, error) {
	from, err := transitionSources(&tr)
	if err != nil {
		return nil, err
	}
	occurred := tr.OccurredAt
	if occurred.IsZero() {
		occurred = Now()
	}
	var out *domain.Transaction
	var stay error // the report confirms the current status: its time is kept, then this is returned
	err = s.InTx(ctx, func(tx *Store) error {
		now := Now()
		stay = nil
		cur, err := tx.LockTransaction(ctx, tr.OrganizationID, tr.TransactionID)
		if err != nil {
			return err
		}
		set := map[string]any{}
		if from, stay, err = tx.admitTransition(ctx, &tr, cur, from, set); err != nil || stay != nil {
			return err
		}
		t, err := tx.moveTransaction(ctx, &tr, from, set, now)
		if err != nil {
			return err
		}
		if err := tx.appendTransitionEvent(ctx, &tr, t, occurred); err != nil {
			return err
		}
		if err := tx.settleCheckout(ctx, tr.To, cur, t, now, occurred); err != nil {
			return err
		}
		out = t
		return nil
	})
	if err == nil && stay != nil {
		return nil, stay
	}
	return out, err
}

// transitionSources sets To from Kind when a report is applied and returns the statuses the move may
// start from (From, or every status the state machine allows to reach To), each checked
// against the state machine.
func transitionSources(tr *domain.Transition) ([]domain.TransactionStatus, error) {
	if tr.Kind != "" {
		tr.To = tr.Kind.Target()
		if tr.To == "" {
			return nil, domain.Internal(nil, "unknown outcome kind %q", tr.Kind)
		}
	}
	from := tr.From
	if len(from) == 0 {
		from = domain.SourcesFor(tr.To)
	}
	for _, f := range from {
		if !domain.CanTransition(f, tr.To) {
			return nil, domain.Internal(nil, "transition %s → %s is not in the state machine", f, tr.To)
		}
	}
	return from, nil
}

// admitTransition decides, under the lock on cur's row, whether tr may move cur. A report
// (Kind) is decided by the transition table: when it moves, the update is guarded by cur's
// status alone (returned as the new from) and a later provider time goes into set; when it
// confirms the current status, a later provider time is written at once and stay is returned
// (from unchanged). Without Kind, cur's status must be one of from.
func (s *Store) admitTransition(ctx context.Context, tr *domain.Transition, cur *domain.Transaction, from []domain.TransactionStatus,
	set map[string]any) (_ []domain.TransactionStatus, stay, err error) {
	if tr.Kind == "" {
		if !slices.Contains(from, cur.Status) {
			if cur.Status == tr.To {
				return from, nil, domain.Conflict(domain.CodeAlreadyInState, "the transaction is already %s", cur.Status)
			}
			return from, nil, domain.Conflict(domain.CodeInvalidState, "the transaction is %s and cannot become %s", cur.Status, tr.To)
		}
		return from, nil, nil
	}
	d := domain.Decide(cur.Status, tr.Kind, cur.ProviderEventAt, tr.At)
	if len(tr.Only) > 0 && !slices.Contains(tr.Only, cur.Status) && d.Rule != domain.Stay {
		d = domain.Decision{Rule: domain.Ignore}
	}
	if !d.Move {
		switch {
		case d.Rule == domain.Stay:
			if later(tr.At, cur.ProviderEventAt) {
				// The same state, reported (or read) later: later reports are compared with this one.
				if err := s.q(ctx).Model(&domain.Transaction{}).Where("id = ?", cur.ID).
					Update("provider_event_at", UTC(tr.At)).Error; err != nil {
					return from, nil, translate(err, "transaction")
				}
			}
			return from, domain.Conflict(domain.CodeAlreadyInState, "the transaction is already %s", cur.Status), nil
		case d.Stale:
			return from, nil, domain.Conflict(domain.CodeStaleReport, "the report (%s at %s) is older than the transaction's last one (%s)",
				tr.Kind, UTC(tr.At).Format(time.RFC3339Nano), cur.ProviderEventAt.UTC().Format(time.RFC3339Nano))
		}
		return from, nil, domain.Conflict(domain.CodeInvalidState, "the transaction is %s and a %s report does not apply to it", cur.Status, tr.Kind)
	}
	if later(tr.At, cur.ProviderEventAt) {
		set["provider_event_at"] = UTC(tr.At)
	}
	return []domain.TransactionStatus{cur.Status}, nil, nil
}

// moveTransaction writes the move (compare-and-set on the statuses in from) with tr's changes
// and the next event version, and returns the transaction as it is now.
func (s *Store) moveTransaction(ctx context.Context, tr *domain.Transition, from []domain.TransactionStatus, set map[string]any,
	now time.Time) (*domain.Transaction, error) {
	for k, v := range transactionColumns(tr.Changes) {
		set[k] = v
	}
	set["status"] = tr.To
	set["updated_at"] = now
	set["event_version"] = gormExpr("event_version + 1")
	if tr.To == domain.TxnSucceeded {
		set["succeeded_at"] = gormExpr("COALESCE(succeeded_at, ?)", now)
	}
	res := s.db.Model(&domain.Transaction{}).
		Where("id = ? AND organization_id = ? AND status IN ?", tr.TransactionID, tr.OrganizationID, from).Updates(set)
	if res.Error != nil {
		return nil, translate(res.Error, "transaction")
	}
	t, err := s.GetTransaction(ctx, tr.OrganizationID, tr.TransactionID)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		if t.Status == tr.To {
			return nil, domain.Conflict(domain.CodeAlreadyInState, "the transaction is already %s", t.Status)
		}
		return nil, domain.Conflict(domain.CodeInvalidState, "the transaction is %s and cannot become %s", t.Status, tr.To)
	}
	return t, nil
}

// appendTransitionEvent writes the event of the move (tr's type and data, or the defaults)
// with t's event version.
func (s *Store) appendTransitionEvent(ctx context.Context, tr *domain.Transition, t *domain.Transaction, occurred time.Time) error {
	typ := tr.EventType
	if typ == "" {
		typ = domain.TransactionEventType(tr.To)
	}
	data := tr.EventData
	if data == nil {
		data = map[string]any{}
	}
	return s.AppendEvent(ctx, &domain.Event{
		OrganizationID: t.OrganizationID, Type: typ, CheckoutID: &t.CheckoutID, TransactionID: &t.ID,
		Version: t.EventVersion, Status: string(t.Status), Data: data, OccurredAt: occurred,
	})
}

// settleCheckout carries the move of t (from cur's status to) over to its checkout: a success
// completes it (checkout.completed), a late failure of the payment that completed it reopens it.
func (s *Store) settleCheckout(ctx context.Context, to domain.TransactionStatus, cur, t *domain.Transaction, now, occurred time.Time) error {
	switch {
	case to == domain.TxnSucceeded:
		return s.completeCheckout(ctx, t, now, occurred)
	case cur.Status.Paid() && !t.Status.Paid() && t.Status != domain.TxnRefunded:
		// The payment that completed the checkout was lost after all (a late failure).
		return s.reopenCheckout(ctx, t, now, occurred)
	}
	return nil
}

// completeCheckout completes t's checkout, paid by t, and writes checkout.completed when it
// was not complete yet.
func (s *Store) completeCheckout(ctx context.Context, t *domain.Transaction, now, occurred time.Time) error {
	// Money was taken: the checkout is complete even if it had expired meanwhile.
	res := s.db.Model(&domain.Checkout{}).
		Where("id = ? AND organization_id = ? AND status IN ?", t.CheckoutID, t.OrganizationID,
			[]domain.CheckoutStatus{domain.CheckoutOpen, domain.CheckoutExpired, domain.CheckoutCancelled}).
		Updates(map[string]any{"status": domain.CheckoutCompleted, "completed_at": now, "updated_at": now})
	if res.Error != nil {
		return translate(res.Error, "checkout")
	}
	if res.RowsAffected == 0 {
		return nil
	}
	return s.AppendEvent(ctx, &domain.Event{
		OrganizationID: t.OrganizationID, Type: domain.EventCheckoutCompleted, CheckoutID: &t.CheckoutID,
		Status: string(domain.CheckoutCompleted), Data: map[string]any{"transactionId": t.ID}, OccurredAt: occurred,
	})
}

// reopenCheckout undoes the completion of t's checkout when t, the attempt that paid it, failed
// afterwards and no other attempt holds money: the checkout is open again (expired if its time
// is up), so the order can be paid another way.
func (s *Store) reopenCheckout(ctx context.Context, t *domain.Transaction, now, occurred time.Time) error {
	var paid int64
	if err := s.q(ctx).Model(&domain.Transaction{}).
		Where("organization_id = ? AND checkout_id = ? AND id <> ? AND status IN ?", t.OrganizationID, t.CheckoutID, t.ID,
			[]domain.TransactionStatus{domain.TxnSucceeded, domain.TxnPartiallyRefunded, domain.TxnRefunded, domain.TxnDisputed}).
		Count(&paid).Error; err != nil {
		return translate(err, "transactions")
	}
	if paid > 0 {
		return nil
	}
	c, err := s.GetCheckout(ctx, t.OrganizationID, t.CheckoutID)
	if err != nil || c.Status != domain.CheckoutCompleted {
		return err
	}
	to := domain.CheckoutOpen
	if !now.Before(c.ExpiresAt) {
		to = domain.CheckoutExpired
	}
	res := s.q(ctx).Model(&domain.Checkout{}).Where("id = ? AND organization_id = ? AND status = ?", c.ID, c.OrganizationID, domain.CheckoutCompleted).
		Updates(map[string]any{"status": to, "completed_at": nil, "updated_at": now})
	if res.Error != nil || res.RowsAffected == 0 {
		return translate(res.Error, "checkout")
	}
	return s.AppendEvent(ctx, &domain.Event{OrganizationID: t.OrganizationID, Type: domain.EventCheckoutReopened, CheckoutID: &t.CheckoutID,
		Status: string(to), Data: map[string]any{"transactionId": t.ID, "transactionStatus": string(t.Status)}, OccurredAt: occurred})
}

// later reports whether at is known and after last (or last is not known).
func later(at time.Time, last *time.Time) bool {
	return !at.IsZero() && (last == nil || at.After(*last))
}

// UpdateTransactionFields writes provider details that are not a state change (a PaymentIntent
// id, a payment reference, raw provider data), guarded by the expected statuses.
func (s *Store) UpdateTransactionFields(ctx context.Context, orgID, id string, ch domain.TransactionChanges, expect ...domain.TransactionStatus) error {
	set := transactionColumns(ch)
	set["updated_at"] = Now()
	q := s.q(ctx).Model(&domain.Transaction{}).Where("id = ? AND organization_id = ?", id, orgID)
	if len(expect) > 0 {
		q = q.Where("status IN ?", expect)
	}
	res := q.Updates(set)
	if res.Error != nil {
		return translate(res.Error, "transaction")
	}
	if res.RowsAffected == 0 {
		t, err := s.GetTransaction(ctx, orgID, id)
		if err != nil {
			return err
		}
		return domain.Conflict(domain.CodeInvalidState, "the transaction is %s", t.Status)
	}
	return nil
}

// ListStaleOpenTransactions finds transactions of a provider type still initiated or pending,
// neither changed nor looked at by reconciliation since before, for reconciliation with the
// provider: those looked at longest ago first (one never looked at counts from its last change),
// so that marking each one looked at (MarkReconciled) rotates through all of them.
func (s *Store) ListStaleOpenTransactions(ctx context.Context, t domain.ProviderType, before time.Time, limit int) ([]domain.OpenTransaction, error) {
	var out []domain.OpenTransaction
	b := UTC(before)
	err := s.q(ctx).Model(&domain.Transaction{}).Select("id, organization_id, provider_id").
		Where("status IN ? AND provider_type = ? AND updated_at < ? AND (reconciled_at IS NULL OR reconciled_at < ?)",
			[]domain.TransactionStatus{domain.TxnInitiated, domain.TxnPendingProvider}, t, b, b).
		Order("COALESCE(reconciled_at, updated_at), id").Limit(limit).Scan(&out).Error
	return out, translate(err, "transactions")
}

// MarkReconciled records that reconciliation has just looked at a transaction. It changes
// nothing else (not updated_at: nothing happened to the payment).
func (s *Store) MarkReconciled(ctx context.Context, orgID, id string) error {
	err := s.q(ctx).Model(&domain.Transaction{}).Where("id = ? AND organization_id = ?", id, orgID).
		UpdateColumn("reconciled_at", Now()).Error
	return translate(err, "transaction")
}

// LockTransaction reads a transaction and, on PostgreSQL, locks its row until the surrounding
// database transaction ends (SQLite transactions already exclude each other).
func (s *Store) LockTransaction(ctx context.Context, orgID, id string) (*domain.Transaction, error) {
	q := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID)
	if s.dialect == Postgres {
		q = q.Clauses(forUpdate())
	}
	var t domain.Transaction
	if err := q.Take(&t).Error; err != nil {
		return nil, translate(err, "transaction")
	}
	return &t, nil
}
