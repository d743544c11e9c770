package storetest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
)

// Volume is what SeedVolume writes into one site of an organisation: Checkouts checkouts
// (test mode, one every Every, the newest Every before now), the first Transactions of them
// with one transaction each (wire transfers: each has an RF payment reference and a provider
// reference; every other one succeeded).
type Volume struct {
	Checkouts, Transactions int
	Every                   time.Duration
}

// Seeded names the rows SeedVolume wrote by their number i (0 is the newest): the values the
// lists and searches look for.
type Seeded struct {
	Prefix string // of the e-mails, names, references
	Now    time.Time
	Every  time.Duration
}

// CheckoutID is checkout i's id: its creation millisecond, then i (ids sort by creation).
func (s Seeded) CheckoutID(i int) string { return s.id(domain.PrefixCheckout, i) }

// TransactionID is transaction i's id (of checkout i).
func (s Seeded) TransactionID(i int) string { return s.id(domain.PrefixTransaction, i) }

// CreatedAt is when row i was created.
func (s Seeded) CreatedAt(i int) time.Time { return s.Now.Add(-time.Duration(i+1) * s.Every) }

// Email is the buyer e-mail of checkout i and of its transaction (mixed case).
func (s Seeded) Email(i int) string { return fmt.Sprintf("Buyer.%s.%07d@Example.COM", s.Prefix, i) }

// Name is the buyer name of transaction i.
func (s Seeded) Name(i int) string { return fmt.Sprintf("Ada %s Lovelace%07d", s.Prefix, i) }

// Reference is checkout i's order reference.
func (s Seeded) Reference(i int) string { return fmt.Sprintf("order-%s-%07d", s.Prefix, i) }

// PaymentReference is transaction i's wire reference (not check-digit valid: only its shape
// matters to the search).
func (s Seeded) PaymentReference(i int) string {
	return fmt.Sprintf("RF00%s%07d", strings.ToUpper(s.Prefix), i)
}

func (s Seeded) id(prefix string, i int) string {
	head := domain.IDAt(prefix, s.CreatedAt(i))[:len(prefix)+1+10]
	tail := strconv.FormatInt(int64(i), 32) // digits and a-v: Crockford's alphabet but i, l, o, u
	tail = strings.NewReplacer("i", "w", "l", "x", "o", "y", "u", "z").Replace(tail)
	return head + strings.Repeat("0", 16-len(tail)) + tail
}

// SeedVolume writes v into site (of provider p) in batches of multi-row INSERTs, then
// ANALYZEs, and says how to find the rows. prefix (4 lower-case letters or digits) keeps two
// seeds apart.
func SeedVolume(tb testing.TB, s *store.Store, site *domain.Site, p *domain.Provider, v Volume, prefix string) Seeded {
	tb.Helper()
	sd := Seeded{Prefix: prefix, Now: time.Now().UTC().Truncate(time.Millisecond), Every: v.Every}
	ctx := context.Background()
	db, err := s.SQLDB()
	if err != nil {
		tb.Fatal(err)
	}
	if s.Dialect() == store.Postgres {
		seedPostgres(tb, db.ExecContext, site, p, v, sd)
		return sd
	}
	const batch = 500
	exp := sd.Now.Add(24 * time.Hour)
	for lo := 0; lo < v.Checkouts; lo += batch {
		var rows [][]any
		for i := lo; i < min(lo+batch, v.Checkouts); i++ {
			at := sd.CreatedAt(i)
			bill := fmt.Sprintf(`{"firstName":"Grace","lastName":"Hopper%07d"}`, i)
			rows = append(rows, []any{sd.CheckoutID(i), site.OrganizationID, site.ID, "test", fmt.Sprintf("%s%08d", prefix, i),
				fmt.Sprintf("cs_%s%08d", prefix, i), "open", int64(1000 + i%5000), "EUR", sd.Email(i), sd.Reference(i), bill, exp, at, at})
		}
		insert(tb, ctx, s, db.ExecContext, `checkouts (id, organization_id, site_id, mode, short_code, session_public_id, status, amount,
			currency, email, external_reference, billing_address, expires_at, created_at, updated_at)`, rows)
	}
	for lo := 0; lo < v.Transactions; lo += batch {
		var rows [][]any
		for i := lo; i < min(lo+batch, v.Transactions); i++ {
			at := sd.CreatedAt(i).Add(time.Millisecond)
			status := "pending_provider"
			if i%2 == 0 {
				status = "succeeded"
			}
			bill := fmt.Sprintf(`{"name":%q,"email":%q}`, sd.Name(i), sd.Email(i))
			rows = append(rows, []any{sd.TransactionID(i), site.OrganizationID, sd.CheckoutID(i), site.ID, p.ID, string(p.Type), "test", status,
				"EUR", int64(1000 + i%5000), int64(0), int64(1000 + i%5000), sd.PaymentReference(i), fmt.Sprintf("pr_%s%08d", prefix, i), bill, at, at})
		}
		insert(tb, ctx, s, db.ExecContext, `transactions (id, organization_id, checkout_id, site_id, provider_id, provider_type, mode, status,
			currency, net_amount, tax_amount, gross_amount, payment_reference, provider_reference, billing_details, created_at, updated_at)`, rows)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	return sd
}

// insert writes rows into table (with its column list) in one statement.
func insert[R any](tb testing.TB, ctx context.Context, s *store.Store, exec func(context.Context, string, ...any) (R, error), table string, rows [][]any) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " VALUES ")
	var args []any
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for c, v := range row {
			if c > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			if s.Dialect() == store.Postgres {
				b.WriteString("$" + strconv.Itoa(len(args)))
			} else {
				b.WriteString("?")
			}
		}
		b.WriteString(")")
	}
	if _, err := exec(ctx, b.String(), args...); err != nil {
		tb.Fatalf("seed %s: %v", strings.Fields(table)[0], err)
	}
}

// crockfordSQL is the SQL for the n base-32 digits of the integer expression x, most
// significant first, in alphabet (32 characters).
func crockfordSQL(x string, n int, alphabet string) string {
	parts := make([]string, n)
	for k := 0; k < n; k++ {
		parts[k] = fmt.Sprintf("substr('%s', ((%s >> %d) & 31)::int + 1, 1)", alphabet, x, 5*(n-1-k))
	}
	return strings.Join(parts, " || ")
}

// seedPostgres writes what SeedVolume writes with INSERT ... SELECT over generate_series, in
// the server: the same rows as Seeded names (its ids spelled in SQL: the creation millisecond
// in Crockford's base 32, then the row's number in the alphabet Seeded.id uses).
func seedPostgres[R any](tb testing.TB, exec func(context.Context, string, ...any) (R, error), site *domain.Site, p *domain.Provider, v Volume, sd Seeded) {
	tb.Helper()
	ctx := context.Background()
	const tail = "0123456789abcdefghwjkxmnypqrstzv" // strconv's base 32 with i, l, o, u replaced as in Seeded.id
	nowMS := sd.Now.UnixMilli()
	everyMS := sd.Every.Milliseconds()
	id := func(prefix string) string {
		ms := fmt.Sprintf("(%d - (g + 1) * %d)", nowMS, everyMS)
		return fmt.Sprintf("'%s_' || %s || lpad(%s, 16, '0')", prefix, crockfordSQL(ms, 10, "0123456789abcdefghjkmnpqrstvwxyz"),
			crockfordSQL("g::bigint", 8, tail))
	}
	at := fmt.Sprintf("(to_timestamp(%d / 1000.0) AT TIME ZONE 'UTC') - (g + 1) * interval '%d milliseconds'", nowMS, everyMS)
	num := func(w int) string { return fmt.Sprintf("lpad(g::text, %d, '0')", w) }
	email := fmt.Sprintf("'Buyer.%s.' || %s || '@Example.COM'", sd.Prefix, num(7))
	const chunk = 100_000
	for lo := 0; lo < v.Checkouts; lo += chunk {
		hi := min(lo+chunk, v.Checkouts) - 1
		q := fmt.Sprintf(`INSERT INTO checkouts (id, organization_id, site_id, mode, short_code, session_public_id, status, amount, currency, email,
			external_reference, billing_address, expires_at, created_at, updated_at)
			SELECT %s, $1, $2, 'test', '%s' || %s, 'cs_%s' || %s, 'open', 1000 + g %% 5000, 'EUR', %s, 'order-%s-' || %s,
			'{"firstName":"Grace","lastName":"Hopper' || %s || '"}', $3, %s, %s FROM generate_series(%d::bigint, %d::bigint) g`,
			id(domain.PrefixCheckout), sd.Prefix, num(8), sd.Prefix, num(8), email, sd.Prefix, num(7), num(7), at, at, lo, hi)
		if _, err := exec(ctx, q, site.OrganizationID, site.ID, sd.Now.Add(24*time.Hour)); err != nil {
			tb.Fatalf("seed checkouts: %v", err)
		}
	}
	tat := at + " + interval '1 millisecond'"
	for lo := 0; lo < v.Transactions; lo += chunk {
		hi := min(lo+chunk, v.Transactions) - 1
		q := fmt.Sprintf(`INSERT INTO transactions (id, organization_id, checkout_id, site_id, provider_id, provider_type, mode, status,
			currency, net_amount, tax_amount, gross_amount, payment_reference, provider_reference, billing_details, created_at, updated_at)
			SELECT %s, $1, %s, $2, $3, $4, 'test', CASE WHEN g %% 2 = 0 THEN 'succeeded' ELSE 'pending_provider' END,
			'EUR', 1000 + g %% 5000, 0, 1000 + g %% 5000, 'RF00%s' || %s, 'pr_%s' || %s,
			json_build_object('name', 'Ada %s Lovelace' || %s, 'email', %s)::text, %s, %s FROM generate_series(%d::bigint, %d::bigint) g`,
			id(domain.PrefixTransaction), id(domain.PrefixCheckout), strings.ToUpper(sd.Prefix), num(7), sd.Prefix, num(8),
			sd.Prefix, num(7), email, tat, tat, lo, hi)
		if _, err := exec(ctx, q, site.OrganizationID, site.ID, p.ID, string(p.Type)); err != nil {
			tb.Fatalf("seed transactions: %v", err)
		}
	}
	if _, err := exec(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
}
