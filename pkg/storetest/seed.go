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
