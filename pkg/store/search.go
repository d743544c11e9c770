package store

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"gorm.io/gorm"

	"paygate.dev/pkg/domain"
)

// The texts the search indexes of migration 0013 hold, spelled exactly as there: PostgreSQL
// uses its trigram index only for the same expression. The EXPLAIN test checks the plans.
const (
	searchTextCheckoutsPG = `lower(email || ' ' || external_reference || ' ' || invoice_number || ' ' || ` +
		`COALESCE(billing_address::jsonb ->> 'firstName', '') || ' ' || COALESCE(billing_address::jsonb ->> 'lastName', ''))`
	searchTextTransactionsPG = `lower(COALESCE(billing_details::jsonb ->> 'email', '') || ' ' || COALESCE(billing_details::jsonb ->> 'name', ''))`
)

// idSlack bounds how long after its id a row's created_at is stamped (the id is made first,
// in the same request: milliseconds apart).
const idSlack = time.Minute

// createdRange adds a created-at range as an id range on the primary key or the
// (organization_id, id) index (ids begin with the creation millisecond). A row's id is never
// later than its created_at and at most idSlack earlier, so created_at >= from needs
// id >= from - idSlack, and only the rows of that last minute need their created_at looked at;
// created_at < to needs id < to, and only the rows of the minute before to need theirs. Said
// this way no created-at index competes with the id range (a bitmap of the whole range, then a
// sort, was 30 ms at 14,000 transactions).
func createdRange(q *gorm.DB, prefix string, from, to *time.Time) *gorm.DB {
	if from != nil {
		q = q.Where("id >= ? AND (id >= ? OR created_at >= ?)", domain.IDAt(prefix, from.Add(-idSlack)), domain.IDAt(prefix, *from), UTC(*from))
	}
	if to != nil {
		q = q.Where("id < ? AND (id < ? OR created_at < ?)", domain.IDAt(prefix, *to), domain.IDAt(prefix, to.Add(-idSlack)), UTC(*to))
	}
	return q
}

// page orders a list newest first from a cursor: after an id (the next page) or before one
// (the previous page, read oldest first and turned round by the caller: pageReversed).
func page(q *gorm.DB, after, before string, limit int) *gorm.DB {
	switch {
	case before != "":
		return q.Where("id > ?", before).Order("id ASC").Limit(limit + 1)
	case after != "":
		q = q.Where("id < ?", after)
	}
	return q.Order("id DESC").Limit(limit + 1)
}

// reverse turns a previous page (read oldest first) newest first; its extra row, if any, stays
// at the end (it is the one beyond the page, on the newer side).
func reverse[T any](rows []T, limit int) []T {
	n := min(len(rows), limit)
	for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// arms is a union of index-backed selects of ids: each arm alone uses an index (an OR of
// them, or a LIKE inside an OR, would defeat every index); scan, when set, is a condition on
// the row itself that none of them answers (a text made only of common trigrams: see textArm).
type arms struct {
	sql      []string
	args     []any
	scan     string
	scanArgs []any
}

func (a *arms) add(sql string, args ...any) {
	a.sql = append(a.sql, sql)
	a.args = append(a.args, args...)
}

// where is the condition "id is one of the union's (or the row meets scan)", or one that
// matches nothing when there is neither. On PostgreSQL the union is an array computed first (an
// InitPlan) and looked up in the primary key: as "id IN (...)" the planner may instead walk the
// organisation's rows newest first until it has passed the oldest match (a merge join), which
// is the whole table for an old row. With scan, the list walks the organisation's rows newest
// first and stops at the page's end: a text whose every trigram most rows hold matches many.
func (a *arms) where(q *gorm.DB, d Dialect) *gorm.DB {
	var in string
	if len(a.sql) > 0 {
		union := strings.Join(a.sql, " UNION ")
		in = "id IN (" + union + ")"
		if d == Postgres {
			in = "id = ANY (ARRAY(" + union + "))"
		}
	}
	switch {
	case in != "" && a.scan != "":
		return q.Where("("+in+" OR "+a.scan+")", append(append([]any{}, a.args...), a.scanArgs...)...)
	case in != "":
		return q.Where(in, a.args...)
	case a.scan != "":
		return q.Where(a.scan, a.scanArgs...)
	}
	return q.Where("1 = 0")
}

// likeContains is the LIKE pattern for text anywhere (backslash escapes, PostgreSQL's default).
func likeContains(text string) string { return "%" + escapeLike(text) + "%" }

// ftsPhrase is an FTS5 query for text as one phrase: with the trigram tokenizer, a substring.
func ftsPhrase(text string) string { return `"` + strings.ReplaceAll(text, `"`, `""`) + `"` }

// textArm is the select of the ids of table whose search text contains text. On PostgreSQL the
// trigram index is asked only for the stretches of text made of uncommon trigrams (rareParts)
// and the whole text is checked on the rows it gives (strpos: a plain substring, which the
// index does not answer, so the planner keeps it out of the index scan); a text without such a
// stretch is looked for row by row (arms.scan).
func (s *Store) textArm(ctx context.Context, a *arms, table, orgID, text string) {
	if s.dialect != Postgres {
		a.add("SELECT id FROM "+table+" WHERE rowid IN (SELECT rowid FROM "+table+"_search WHERE "+table+"_search MATCH ?) AND organization_id = ?",
			ftsPhrase(text), orgID)
		return
	}
	expr := searchTextCheckoutsPG
	if table == "transactions" {
		expr = searchTextTransactionsPG
	}
	parts := rareParts(text, s.trigrams.common(ctx, s, table))
	if len(parts) == 0 {
		a.scan, a.scanArgs = "strpos("+expr+", ?) > 0", []any{text}
		return
	}
	sql := "SELECT id FROM " + table + " WHERE organization_id = ?"
	args := []any{orgID}
	for _, p := range parts {
		sql += " AND " + expr + " LIKE ?"
		args = append(args, likeContains(p))
	}
	a.add(sql+" AND strpos("+expr+", ?) > 0", append(args, text)...)
}

// commonTrigramShare: a trigram more than this share of the rows' search texts hold is common.
// A trigram index reads the list of rows of every trigram it is asked for, so one such
// trigram costs as much as a sixth of the table's rows' worth of list, and finds no fewer rows.
const commonTrigramShare = 0.05

// maxRareParts bounds how many stretches of a text the index is asked for.
const maxRareParts = 4

// rareParts returns the longest stretches of text (lower case) the trigram index should look
// for: within each word (pg_trgm's: letters and digits), the runs of consecutive trigrams none
// of which is common, longest first. Without statistics (common is empty) they are the words.
func rareParts(text string, common map[string]bool) []string {
	var parts []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		rs := []rune(w)
		start := -1 // first trigram of the current run
		for i := 0; i+3 <= len(rs)+1; i++ {
			rare := i+3 <= len(rs) && !common[string(rs[i:i+3])]
			switch {
			case rare && start < 0:
				start = i
			case !rare && start >= 0:
				parts = append(parts, string(rs[start:i+2]))
				start = -1
			}
		}
	}
	sort.SliceStable(parts, func(i, j int) bool { return len(parts[i]) > len(parts[j]) })
	return parts[:min(len(parts), maxRareParts)]
}

// trigramStats holds, by table, the common trigrams of its search text as the last ANALYZE
// saw them (migration 0019's statistics), read again every trigramStatsEvery.
type trigramStats struct {
	mu     sync.Mutex
	tables map[string]trigramSet
}

type trigramSet struct {
	common map[string]bool
	at     time.Time
}

const trigramStatsEvery = 10 * time.Minute

// common returns table's common trigrams (none when its statistics are missing or unreadable:
// every trigram is then asked for, as before them).
func (t *trigramStats) common(ctx context.Context, s *Store, table string) map[string]bool {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if set, ok := t.tables[table]; ok && time.Since(set.at) < trigramStatsEvery {
		return set.common
	}
	elems, err := readCommonTrigrams(ctx, s.pools[0].db, table)
	if err != nil {
		s.log.WarnContext(ctx, "search statistics unreadable: every trigram of a search is asked for", "table", table, "error", err)
	}
	set := trigramSet{common: make(map[string]bool, len(elems)), at: time.Now()}
	for _, e := range elems {
		set.common[e] = true
	}
	if t.tables == nil {
		t.tables = map[string]trigramSet{}
	}
	t.tables[table] = set
	return set.common
}

// checkoutSearch keeps the checkouts the search box's text names (domain.CheckoutFilter.Search).
func (s *Store) checkoutSearch(ctx context.Context, q *gorm.DB, orgID, search string) *gorm.DB {
	t := domain.ParseSearch(search)
	var a arms
	if t.CheckoutID != "" {
		a.add("SELECT id FROM checkouts WHERE id = ?", t.CheckoutID)
	}
	if t.TransactionID != "" {
		a.add("SELECT checkout_id FROM transactions WHERE id = ? AND organization_id = ?", t.TransactionID, orgID)
	}
	if t.PaymentReference != "" {
		a.add("SELECT checkout_id FROM transactions WHERE payment_reference = ? AND organization_id = ?", t.PaymentReference, orgID)
	}
	if t.Raw != "" {
		a.add("SELECT id FROM checkouts WHERE session_public_id = ?", t.Raw)
		a.add("SELECT id FROM checkouts WHERE short_code = ?", t.Raw)
		a.add("SELECT id FROM checkouts WHERE organization_id = ? AND external_reference = ?", orgID, t.Raw)
	}
	if t.Text != "" {
		s.textArm(ctx, &a, "checkouts", orgID, t.Text)
	}
	return a.where(q, s.dialect)
}

// transactionSearch keeps the transactions the search box's text names
// (domain.TransactionFilter.Search).
func (s *Store) transactionSearch(ctx context.Context, q *gorm.DB, orgID, search string) *gorm.DB {
	t := domain.ParseSearch(search)
	var a arms
	if t.TransactionID != "" {
		a.add("SELECT id FROM transactions WHERE id = ?", t.TransactionID)
	}
	if t.CheckoutID != "" {
		a.add("SELECT id FROM transactions WHERE checkout_id = ?", t.CheckoutID)
	}
	if t.PaymentReference != "" {
		a.add("SELECT id FROM transactions WHERE payment_reference = ?", t.PaymentReference)
	}
	if t.Raw != "" {
		a.add("SELECT id FROM transactions WHERE organization_id = ? AND provider_reference = ?", orgID, t.Raw)
		a.add("SELECT id FROM transactions WHERE organization_id = ? AND provider_payment_id = ?", orgID, t.Raw)
		a.add("SELECT id FROM transactions WHERE payment_reference = ?", t.Raw)
		a.add("SELECT t.id FROM transactions t JOIN checkouts c ON c.id = t.checkout_id WHERE c.organization_id = ? AND c.external_reference = ?", orgID, t.Raw)
	}
	if t.Text != "" {
		s.textArm(ctx, &a, "transactions", orgID, t.Text)
	}
	return a.where(q, s.dialect)
}

// emailFilter keeps the transactions whose buyer e-mail contains email, any case: through the
// search index when it is long enough to use it (and not made of common trigrams only), then
// on the e-mail alone.
func (s *Store) emailFilter(ctx context.Context, q *gorm.DB, orgID, email string) *gorm.DB {
	text := strings.ToLower(strings.TrimSpace(email))
	if len([]rune(text)) >= domain.MinSearchText {
		var a arms
		s.textArm(ctx, &a, "transactions", orgID, text)
		if len(a.sql) > 0 {
			q = a.where(q, s.dialect)
		}
	}
	if s.dialect == Postgres {
		return q.Where(`lower(COALESCE(billing_details::jsonb ->> 'email', '')) LIKE ?`, likeContains(text))
	}
	return q.Where(`lower(COALESCE(json_extract(billing_details, '$.email'), '')) LIKE ? ESCAPE '\'`, likeContains(text))
}

// readCommonTrigrams reads table's common trigrams on the pool, never in the caller's
// transaction (a failing read there would end it).
func readCommonTrigrams(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT e.elem FROM pg_stats_ext_exprs x
		CROSS JOIN LATERAL unnest(x.most_common_elems::text::text[], x.most_common_elem_freqs) AS e(elem, freq)
		WHERE x.schemaname = current_schema() AND x.statistics_name = $1 AND e.elem IS NOT NULL AND e.freq > $2`,
		table+"_search_trgm_stats", commonTrigramShare)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
