package domain_test

import (
	"testing"
	"time"

	"paygate.dev/pkg/domain"
)

// TestTransitionTableNeverMovesAPaymentBackwards checks the table's promises pair by pair.
func TestTransitionTableNeverMovesAPaymentBackwards(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	before, after := t0.Add(-time.Second), t0.Add(time.Second)
	cases := []struct {
		name     string
		from     domain.TransactionStatus
		kind     domain.OutcomeKind
		last     *time.Time
		at       time.Time
		move     bool
		stale    bool
		wantRule domain.Rule
	}{
		{"success pays an open attempt", domain.TxnInitiated, domain.OutcomeSucceeded, nil, t0, true, false, domain.ApplyIfNotOlder},
		{"success pays a pending attempt", domain.TxnPendingProvider, domain.OutcomeSucceeded, &t0, after, true, false, domain.ApplyIfNotOlder},
		{"a failure older than the last report is stale", domain.TxnPendingProvider, domain.OutcomeFailed, &t0, before, false, true, domain.ApplyIfNotOlder},
		{"a success after a dispute opened never applies", domain.TxnDisputed, domain.OutcomeSucceeded, &t0, after, false, false, domain.Ignore},
		{"a late success after a refund never applies", domain.TxnRefunded, domain.OutcomeSucceeded, &t0, after, false, false, domain.Ignore},
		{"a success after a partial refund never applies", domain.TxnPartiallyRefunded, domain.OutcomeSucceeded, &t0, after, false, false, domain.Ignore},
		{"only a dispute won returns a disputed payment", domain.TxnDisputed, domain.OutcomeDisputeWon, &t0, before, true, false, domain.Apply},
		{"a failure created before the success is ignored", domain.TxnSucceeded, domain.OutcomeFailed, &t0, before, false, true, domain.ApplyIfNewer},
		{"a failure created in the same second as the success is ignored", domain.TxnSucceeded, domain.OutcomeFailed, &t0, t0, false, true, domain.ApplyIfNewer},
		{"a failure created after the success applies (Direct Debit late failure)", domain.TxnSucceeded, domain.OutcomeFailed, &t0, after, true, false, domain.ApplyIfNewer},
		{"a success created after the failure applies (money taken late)", domain.TxnFailed, domain.OutcomeSucceeded, &t0, after, true, false, domain.ApplyIfNotOlder},
		{"a success in the failure's second applies", domain.TxnFailed, domain.OutcomeSucceeded, &t0, t0, true, false, domain.ApplyIfNotOlder},
		{"a success created before the failure is stale", domain.TxnFailed, domain.OutcomeSucceeded, &t0, before, false, true, domain.ApplyIfNotOlder},
		{"a transfer marked paid after the buyer cancelled", domain.TxnCanceled, domain.OutcomeSucceeded, nil, time.Time{}, true, false, domain.ApplyIfNotOlder},
		{"a dispute opens whatever the times", domain.TxnSucceeded, domain.OutcomeDisputeOpened, &t0, before, true, false, domain.Apply},
		{"a dispute on a partially refunded payment", domain.TxnPartiallyRefunded, domain.OutcomeDisputeOpened, &t0, after, true, false, domain.Apply},
		{"a lost dispute whose opening was never seen", domain.TxnSucceeded, domain.OutcomeDisputeLost, &t0, after, true, false, domain.Apply},
		{"a lost dispute keeps the payment disputed", domain.TxnDisputed, domain.OutcomeDisputeLost, &t0, after, false, false, domain.Stay},
		{"no dispute on an unpaid attempt", domain.TxnInitiated, domain.OutcomeDisputeOpened, nil, t0, false, false, domain.Ignore},
		{"a refund completes during a dispute", domain.TxnDisputed, domain.OutcomePartiallyRefunded, &t0, time.Time{}, true, false, domain.Apply},
		{"processing only moves an initiated attempt", domain.TxnSucceeded, domain.OutcomeProcessing, &t0, after, false, false, domain.Ignore},
		{"processing on a pending attempt stays", domain.TxnPendingProvider, domain.OutcomeProcessing, &t0, after, false, false, domain.Stay},
		{"a cancellation never undoes a payment", domain.TxnSucceeded, domain.OutcomeCancelled, &t0, after, false, false, domain.Ignore},
		{"a failure never undoes a refund", domain.TxnRefunded, domain.OutcomeFailed, &t0, after, false, false, domain.Ignore},
		{"a failure never undoes a dispute", domain.TxnDisputed, domain.OutcomeFailed, &t0, after, false, false, domain.Ignore},
		{"an unknown time is never stale", domain.TxnSucceeded, domain.OutcomeFailed, &t0, time.Time{}, true, false, domain.ApplyIfNewer},
		{"the first report after an upgrade is compared with nothing", domain.TxnSucceeded, domain.OutcomeFailed, nil, before, true, false, domain.ApplyIfNewer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := domain.Decide(c.from, c.kind, c.last, c.at)
			if d.Rule != c.wantRule || d.Move != c.move || d.Stale != c.stale {
				t.Fatalf("Decide(%s, %s) = %+v, want rule %s move %v stale %v", c.from, c.kind, d, c.wantRule, c.move, c.stale)
			}
		})
	}
}

// TestTransitionTableIsComplete: every kind has a target, a Stay is always the target status,
// and the derived CanTransition agrees with the table.
func TestTransitionTableIsComplete(t *testing.T) {
	for _, k := range domain.OutcomeKinds {
		if k.Target() == "" {
			t.Fatalf("kind %s has no target", k)
		}
		for _, s := range domain.TransactionStatuses {
			r := domain.RuleFor(s, k)
			if r == domain.Stay && s != k.Target() {
				t.Errorf("(%s, %s) is Stay but the kind moves to %s", s, k, k.Target())
			}
			if r != domain.Ignore && r != domain.Stay && !domain.CanTransition(s, k.Target()) {
				t.Errorf("(%s, %s) applies but CanTransition(%s, %s) is false", s, k, s, k.Target())
			}
		}
	}
	for _, s := range []domain.TransactionStatus{domain.TxnDisputed, domain.TxnRefunded, domain.TxnPartiallyRefunded} {
		if domain.RuleFor(s, domain.OutcomeSucceeded) != domain.Ignore {
			t.Errorf("a payment report moves a %s payment back to succeeded", s)
		}
	}
	if got := domain.SourcesFor(domain.TxnSucceeded); len(got) != 5 {
		t.Errorf("SourcesFor(succeeded) = %v, want initiated, pending_provider, failed, canceled, disputed", got)
	}
}
