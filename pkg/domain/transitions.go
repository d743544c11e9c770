package domain

import "time"

// OutcomeKind is what a provider (or an operator standing in for one, for wire transfers)
// reports about a payment. Every provider's events are mapped to one of these kinds, and the
// one table below (Decide) says what each kind does to a transaction in each status.
type OutcomeKind string

// Outcome kinds.
const (
	// OutcomePending: the attempt waits for the money (the buyer says the transfer was sent,
	// a Direct Debit was authorised and submitted).
	OutcomePending OutcomeKind = "pending"
	// OutcomeProcessing: the provider is processing the payment (Stripe "processing").
	OutcomeProcessing OutcomeKind = "processing"
	// OutcomeSucceeded: the money was taken (Stripe succeeded, GoCardless confirmed or paid
	// out, a wire transfer marked paid).
	OutcomeSucceeded OutcomeKind = "succeeded"
	// OutcomeFailed: the payment failed (a card declined, a Direct Debit failed, even after it
	// was confirmed).
	OutcomeFailed OutcomeKind = "failed"
	// OutcomeCancelled: the attempt was cancelled (by the buyer, at the provider, abandoned).
	OutcomeCancelled OutcomeKind = "cancelled"
	// OutcomeDisputeOpened: the payer disputed the payment (Stripe dispute, GoCardless chargeback).
	OutcomeDisputeOpened OutcomeKind = "dispute_opened"
	// OutcomeDisputeWon: the dispute was decided for the merchant (or the chargeback reversed).
	OutcomeDisputeWon OutcomeKind = "dispute_won"
	// OutcomeDisputeLost: the dispute was decided for the payer; the money is gone.
	OutcomeDisputeLost OutcomeKind = "dispute_lost"
	// OutcomePartiallyRefunded and OutcomeRefunded: a refund completed, leaving part or none
	// of the payment with the merchant.
	OutcomePartiallyRefunded OutcomeKind = "partially_refunded"
	OutcomeRefunded          OutcomeKind = "refunded"
)

// OutcomeKinds lists every kind, in the order of the README's table.
var OutcomeKinds = []OutcomeKind{OutcomePending, OutcomeProcessing, OutcomeSucceeded, OutcomeFailed, OutcomeCancelled,
	OutcomeDisputeOpened, OutcomeDisputeWon, OutcomeDisputeLost, OutcomePartiallyRefunded, OutcomeRefunded}

// TransactionStatuses lists every transaction status.
var TransactionStatuses = []TransactionStatus{TxnInitiated, TxnPendingProvider, TxnSucceeded, TxnFailed, TxnCanceled,
	TxnRefunded, TxnPartiallyRefunded, TxnDisputed}

// Target is the status an outcome of this kind moves a transaction to.
func (k OutcomeKind) Target() TransactionStatus {
	switch k {
	case OutcomePending, OutcomeProcessing:
		return TxnPendingProvider
	case OutcomeSucceeded, OutcomeDisputeWon:
		return TxnSucceeded
	case OutcomeFailed:
		return TxnFailed
	case OutcomeCancelled:
		return TxnCanceled
	case OutcomeDisputeOpened, OutcomeDisputeLost:
		return TxnDisputed
	case OutcomePartiallyRefunded:
		return TxnPartiallyRefunded
	case OutcomeRefunded:
		return TxnRefunded
	}
	return ""
}

// Rule is what the table says about one (status, kind) pair.
type Rule string

// Rules. The "provider time" of a report is when the provider created it (Stripe's event
// "created", or — for a state read from the provider, as every GoCardless event is applied —
// the time of the read); a transaction remembers the provider time of the last report applied
// to it (ProviderEventAt).
const (
	// Ignore: never applied from this status (recorded with the provider event, no status
	// change, no notification). A disputed or refunded payment never returns to succeeded
	// through a payment report; a late payment report never undoes a dispute or a refund.
	Ignore Rule = "ignore"
	// Stay: the transaction already is where the report puts it; details may be recorded.
	Stay Rule = "stay"
	// Apply: applied whatever the provider times say: a move that can only happen after the
	// state it leaves (a dispute after a payment, a refund after a payment).
	Apply Rule = "apply"
	// ApplyIfNotOlder: applied unless the report was created before the last report applied
	// to the transaction (a stale report never overrides a newer state).
	ApplyIfNotOlder Rule = "apply_if_not_older"
	// ApplyIfNewer: applied only if the report was created strictly after the last report
	// applied (a failure after a success must be news, not an old failure delivered late).
	ApplyIfNewer Rule = "apply_if_newer"
)

// transitionTable is THE state machine of provider outcomes, shared by Stripe, GoCardless and
// wire transfers (mark paid, cancel). A pair missing from a row is Ignore.
var transitionTable = map[TransactionStatus]map[OutcomeKind]Rule{
	TxnInitiated: {
		OutcomePending: ApplyIfNotOlder, OutcomeProcessing: ApplyIfNotOlder, OutcomeSucceeded: ApplyIfNotOlder,
		OutcomeFailed: ApplyIfNotOlder, OutcomeCancelled: ApplyIfNotOlder,
	},
	TxnPendingProvider: {
		OutcomePending: Stay, OutcomeProcessing: Stay, OutcomeSucceeded: ApplyIfNotOlder,
		OutcomeFailed: ApplyIfNotOlder, OutcomeCancelled: ApplyIfNotOlder,
	},
	TxnSucceeded: {
		OutcomeSucceeded: Stay,
		// A Direct Debit can fail after it was confirmed; only a failure newer than the success is.
		OutcomeFailed:        ApplyIfNewer,
		OutcomeDisputeOpened: Apply, OutcomeDisputeLost: Apply,
		OutcomePartiallyRefunded: Apply, OutcomeRefunded: Apply,
	},
	TxnPartiallyRefunded: {
		OutcomeDisputeOpened: Apply, OutcomeDisputeLost: Apply,
		OutcomePartiallyRefunded: Apply, OutcomeRefunded: Apply,
	},
	TxnDisputed: {
		// Only the dispute's own outcome returns the money; a (late or replayed) payment
		// success never does.
		OutcomeDisputeOpened: Stay, OutcomeDisputeWon: Apply, OutcomeDisputeLost: Stay,
		// A refund asked for before the dispute opened may still complete (new refunds are
		// refused while the payment is disputed).
		OutcomePartiallyRefunded: Apply, OutcomeRefunded: Apply,
	},
	TxnRefunded: {
		OutcomeRefunded: Stay,
	},
	// Money taken after a failure or cancellation report (a buyer's second card, a transfer
	// arriving after the buyer cancelled) is recorded, unless the report is older than the
	// failure; one success per checkout still holds.
	TxnFailed: {
		OutcomeSucceeded: ApplyIfNotOlder, OutcomeFailed: Stay,
	},
	TxnCanceled: {
		OutcomeSucceeded: ApplyIfNotOlder, OutcomeCancelled: Stay,
	},
}

// RuleFor is the table's rule for a report of kind k about a transaction in status s.
func RuleFor(s TransactionStatus, k OutcomeKind) Rule {
	if r, ok := transitionTable[s][k]; ok {
		return r
	}
	return Ignore
}

// Decision is what to do with one report.
type Decision struct {
	Rule Rule
	// Move: the transaction moves to the kind's target status.
	Move bool
	// Stale: the table would allow the move but the report is older than the last applied one
	// (or not newer, for ApplyIfNewer).
	Stale bool
}

// Decide applies the table and the provider times: s is the transaction's status, last the
// provider time of the last report applied to it (nil: none recorded), at the report's
// provider time (zero: not known, treated as newest).
func Decide(s TransactionStatus, k OutcomeKind, last *time.Time, at time.Time) Decision {
	r := RuleFor(s, k)
	d := Decision{Rule: r}
	switch r {
	case Apply:
		d.Move = true
	case ApplyIfNotOlder:
		d.Stale = last != nil && !at.IsZero() && at.Before(*last)
		d.Move = !d.Stale
	case ApplyIfNewer:
		d.Stale = last != nil && !at.IsZero() && !at.After(*last)
		d.Move = !d.Stale
	}
	return d
}
