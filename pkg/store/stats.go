package store

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
)

// paidStatuses are the statuses of a transaction that took the money (later refunds and
// disputes included): its volume counts as taken.
var paidStatuses = []domain.TransactionStatus{domain.TxnSucceeded, domain.TxnPartiallyRefunded, domain.TxnRefunded, domain.TxnDisputed}

// finishedStatuses are the outcomes of an attempt that is over, succeeded or not.
var finishedStatuses = append(append([]domain.TransactionStatus{}, paidStatuses...), domain.TxnFailed, domain.TxnCanceled)

// CurrencyVolume is the domain's (the use cases and the HTTP layer speak it).
type CurrencyVolume = domain.CurrencyVolume

// PaymentStats is the domain's (the use cases and the HTTP layer speak it).
type PaymentStats = domain.PaymentStats

// Stats computes an organisation's payment statistics in one mode for each start time given
// (e.g. today, 7 and 30 days ago), in the order given. Volume counts a transaction by when it
// succeeded; the success rate counts attempts by when they were created.
func (s *Store) Stats(ctx context.Context, orgID string, mode domain.Mode, since ...time.Time) ([]PaymentStats, error) {
	out := make([]PaymentStats, len(since))
	for i, from := range since {
		from = UTC(from)
		st := PaymentStats{Since: from}
		err := s.q(ctx).Raw(`SELECT currency, COUNT(*) AS count,
				CAST(COALESCE(SUM(gross_amount), 0) AS BIGINT) AS gross,
				CAST(COALESCE(SUM(refunded_amount), 0) AS BIGINT) AS refunded
			FROM transactions
			WHERE organization_id = ? AND mode = ? AND status IN ? AND succeeded_at IS NOT NULL AND succeeded_at >= ?
			GROUP BY currency ORDER BY currency`, orgID, mode, paidStatuses, from).Scan(&st.Volumes).Error
		if err != nil {
			return nil, translate(err, "statistics")
		}
		var outcome struct {
			Succeeded int64
			Finished  int64
		}
		err = s.q(ctx).Raw(`SELECT
				CAST(COALESCE(SUM(CASE WHEN status IN ? THEN 1 ELSE 0 END), 0) AS BIGINT) AS succeeded,
				COUNT(*) AS finished
			FROM transactions
			WHERE organization_id = ? AND mode = ? AND status IN ? AND created_at >= ?`,
			paidStatuses, orgID, mode, finishedStatuses, from).Scan(&outcome).Error
		if err != nil {
			return nil, translate(err, "statistics")
		}
		st.Succeeded, st.Finished = outcome.Succeeded, outcome.Finished
		out[i] = st
	}
	return out, nil
}
