package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"paygate.dev/pkg/domain"
)

// ExplainCheckouts is the plan of ListCheckouts' query for f; on PostgreSQL the generic plan
// (the one a prepared statement settles on after five executions).
func (s *Store) ExplainCheckouts(ctx context.Context, f CheckoutFilter) (string, error) {
	return s.explain(ctx, s.checkoutsQuery(ctx, f).Session(&gorm.Session{DryRun: true}).Find(&[]domain.Checkout{}).Statement)
}

// ExplainTransactions is ExplainCheckouts for ListTransactions.
func (s *Store) ExplainTransactions(ctx context.Context, f TransactionFilter) (string, error) {
	return s.explain(ctx, s.transactionsQuery(ctx, f).Session(&gorm.Session{DryRun: true}).Find(&[]domain.Transaction{}).Statement)
}

func (s *Store) explain(ctx context.Context, st *gorm.Statement) (string, error) {
	query := st.SQL.String()
	if s.dialect == SQLite {
		var lines []string
		rows, err := s.q(ctx).Raw("EXPLAIN QUERY PLAN "+query, st.Vars...).Rows()
		if err != nil {
			return "", err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				return "", err
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n"), rows.Err()
	}
	db, err := s.SQLDB()
	if err != nil {
		return "", err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var lits []string
	for _, v := range st.Vars {
		lits = append(lits, literal(v))
	}
	name := fmt.Sprintf("explained_%d", time.Now().UnixNano())
	for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE ` + name + ` AS ` + query} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `DEALLOCATE `+name+`; RESET plan_cache_mode`)
	}()
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE `+name+`(`+strings.Join(lits, ", ")+`)`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

func literal(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case domain.Mode:
		return literal(string(v))
	case domain.CheckoutStatus:
		return literal(string(v))
	case domain.TransactionStatus:
		return literal(string(v))
	case time.Time:
		return "'" + v.UTC().Format("2006-01-02 15:04:05.999999") + "'"
	default:
		return fmt.Sprint(v)
	}
}

// CommonTrigrams is what the search reads from the trigram statistics of table's search text
// (read afresh).
func (s *Store) CommonTrigrams(ctx context.Context, table string) map[string]bool {
	fresh := &trigramStats{}
	return fresh.common(ctx, s, table)
}

// RareParts is rareParts.
var RareParts = rareParts
