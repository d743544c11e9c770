package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// openDisputeEnded are the dispute statuses of a disputed transaction whose dispute is over
// (the money went back to the payer): it no longer counts as an open dispute.
var openDisputeEnded = []string{"lost", "accepted"}

// day is the SQL expression of a timestamp column's UTC calendar day as "YYYY-MM-DD". Both
// databases hold UTC (the application writes it); SQLite keeps it as text starting with the date.
func (s *Store) day(col string) string {
	if s.dialect == Postgres {
		return "to_char(" + col + ", 'YYYY-MM-DD')"
	}
	return "substr(" + col + ", 1, 10)"
}

// ReportBuckets aggregates an organisation's transactions in one mode (and optionally one
// site) over [q.From, q.To) per kind, UTC day, site and currency: succeeded payments by success
// time, succeeded refunds by the time they succeeded, failed payments by failure time. See
// domain.ReportKind for each kind's definition.
func (s *Store) ReportBuckets(ctx context.Context, q domain.ReportQuery) ([]domain.ReportBucket, error) {
	from, to := UTC(q.From), UTC(q.To)
	site := "AND (? = '' OR t.site_id = ?)"
	sql := `SELECT 'succeeded' AS kind, ` + s.day("t.succeeded_at") + ` AS day, t.site_id, t.currency,
			COUNT(*) AS count, CAST(COALESCE(SUM(t.gross_amount), 0) AS BIGINT) AS amount
		FROM transactions t
		WHERE t.organization_id = ? AND t.mode = ? AND t.succeeded_at IS NOT NULL AND t.succeeded_at >= ? AND t.succeeded_at < ?
			AND t.status IN ? ` + site + `
		GROUP BY 2, t.site_id, t.currency
	UNION ALL
	SELECT 'refunded', ` + s.day("r.updated_at") + `, t.site_id, r.currency,
			COUNT(*), CAST(COALESCE(SUM(r.amount), 0) AS BIGINT)
		FROM refunds r JOIN transactions t ON t.id = r.transaction_id AND t.organization_id = r.organization_id
		WHERE r.organization_id = ? AND r.status = 'succeeded' AND r.updated_at >= ? AND r.updated_at < ?
			AND t.mode = ? ` + site + `
		GROUP BY 2, t.site_id, r.currency
	UNION ALL
	SELECT 'failed', ` + s.day("t.updated_at") + `, t.site_id, t.currency,
			COUNT(*), CAST(COALESCE(SUM(t.gross_amount), 0) AS BIGINT)
		FROM transactions t
		WHERE t.organization_id = ? AND t.mode = ? AND t.status = 'failed' AND t.updated_at >= ? AND t.updated_at < ? ` + site + `
		GROUP BY 2, t.site_id, t.currency
	ORDER BY 2, 3, 4, 1`
	var out []domain.ReportBucket
	err := s.q(ctx).Raw(sql,
		q.OrganizationID, q.Mode, from, to, paidStatuses, q.SiteID, q.SiteID,
		q.OrganizationID, from, to, q.Mode, q.SiteID, q.SiteID,
		q.OrganizationID, q.Mode, from, to, q.SiteID, q.SiteID,
	).Scan(&out).Error
	if err != nil {
		return nil, translate(err, "report")
	}
	return out, nil
}

// ReportOpen counts what is open now in an organisation's mode (optionally one site), per
// kind, site and currency: transactions awaiting the provider (pending) and transactions with
// an open dispute (disputed, the dispute neither lost nor accepted). Day is "".
func (s *Store) ReportOpen(ctx context.Context, orgID string, mode domain.Mode, siteID string) ([]domain.ReportBucket, error) {
	var out []domain.ReportBucket
	err := s.q(ctx).Raw(`SELECT CASE WHEN t.status = 'pending_provider' THEN 'pending' ELSE 'disputed' END AS kind,
			'' AS day, t.site_id, t.currency, COUNT(*) AS count, CAST(COALESCE(SUM(t.gross_amount), 0) AS BIGINT) AS amount
		FROM transactions t
		WHERE t.organization_id = ? AND t.mode = ? AND (? = '' OR t.site_id = ?)
			AND (t.status = 'pending_provider' OR (t.status = 'disputed' AND t.dispute_status NOT IN ?))
		GROUP BY 1, t.site_id, t.currency
		ORDER BY 1, 3, 4`, orgID, mode, siteID, siteID, openDisputeEnded).Scan(&out).Error
	if err != nil {
		return nil, translate(err, "report")
	}
	return out, nil
}
