package store_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// checkoutIDs and transactionIDs list the ids of a page.
func checkoutIDs(cs []domain.Checkout) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func transactionIDs(ts []domain.Transaction) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func TestSearchFindsCheckoutsAndTransactions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		prefix := strings.ToLower(domain.RandomString(4))
		sd := storetest.SeedVolume(t, s, site, p, storetest.Volume{Checkouts: 60, Transactions: 40, Every: time.Second}, prefix)
		// Another organisation with the same buyers: never found from the first.
		other := storetest.Org(t, s)
		op := storetest.Provider(t, s, other.ID, domain.ModeTest)
		osd := storetest.SeedVolume(t, s, storetest.Site(t, s, other.ID, op), op, storetest.Volume{Checkouts: 5, Transactions: 5, Every: time.Second}, prefix+"x")

		checkouts := func(search string) []string {
			t.Helper()
			out, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Search: search, Limit: 100})
			require.NoError(t, err)
			return checkoutIDs(out)
		}
		transactions := func(f store.TransactionFilter) []string {
			t.Helper()
			f.OrganizationID, f.Limit = org.ID, 100
			out, err := s.ListTransactions(ctx, f)
			require.NoError(t, err)
			return transactionIDs(out)
		}
		id7 := sd.CheckoutID(7)
		require.Equal(t, []string{id7}, checkouts(id7), "by id")
		require.Equal(t, []string{id7}, checkouts(strings.ToUpper(strings.TrimPrefix(id7, "chk_"))), "by id in upper case without its prefix")
		require.Equal(t, []string{id7}, checkouts(sd.TransactionID(7)), "by the id of its transaction")
		require.Equal(t, []string{id7}, checkouts(sd.Reference(7)), "by order reference")
		require.Equal(t, []string{id7}, checkouts(strings.ToLower(sd.Email(7)[3:20])), "by a lower-case part of the e-mail")
		require.Equal(t, []string{id7}, checkouts("HOPPER0000007"), "by a part of the buyer's name, any case")
		require.Len(t, checkouts("example.com"), 60, "a common part finds all of the organisation's, none of the other's")
		require.Empty(t, checkouts(osd.CheckoutID(1)), "another organisation's id")
		require.Empty(t, checkouts("zz"), "two characters match exactly or not at all")

		tx7 := sd.TransactionID(7)
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: strings.ToUpper(tx7)}), "by id in upper case")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: strings.TrimPrefix(tx7, "txn_")}), "without its prefix")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: id7}), "by its checkout's id")
		ref := sd.PaymentReference(7)
		grouped := strings.ToLower(ref[:4] + " " + ref[4:8] + " " + ref[8:12] + " " + ref[12:])
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: grouped}), "by its RF reference, grouped, any case")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: "pr_" + prefix + "00000007"}), "by provider reference")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: sd.Reference(7)}), "by its checkout's order reference")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: strings.ToLower(sd.Email(7)[:18])}), "by a lower-case part of the buyer's e-mail")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Search: "lovelace0000007"}), "by a part of the buyer's name")
		require.Equal(t, []string{tx7}, transactions(store.TransactionFilter{Email: strings.ToLower(sd.Email(7)[6:])}), "e-mail filter")
		require.Empty(t, transactions(store.TransactionFilter{Email: "lovelace0000007"}), "the e-mail filter looks at the e-mail only")
		require.Len(t, transactions(store.TransactionFilter{Email: "@example.com", Status: domain.TxnSucceeded}), 20, "e-mail and status together")
		require.Empty(t, transactions(store.TransactionFilter{Search: osd.TransactionID(1)}))
		require.Empty(t, transactions(store.TransactionFilter{Email: strings.ToLower(osd.Email(1))}), "another organisation's buyer")
	})
}

func TestListsPageBothWaysAndFilterByCreatedAt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		sd := storetest.SeedVolume(t, s, site, p, storetest.Volume{Checkouts: 25, Transactions: 25, Every: time.Hour}, strings.ToLower(domain.RandomString(4)))
		list := func(f store.CheckoutFilter) []string {
			t.Helper()
			f.OrganizationID, f.Limit = org.ID, 10
			out, err := s.ListCheckouts(ctx, f)
			require.NoError(t, err)
			return checkoutIDs(out)
		}
		first := list(store.CheckoutFilter{})
		require.Len(t, first, 11)
		require.Equal(t, sd.CheckoutID(0), first[0], "newest first")
		second := list(store.CheckoutFilter{After: first[9]})
		require.Equal(t, sd.CheckoutID(10), second[0])
		back := list(store.CheckoutFilter{Before: second[0]})
		require.Equal(t, first[:10], back, "Previous gives the first page again, newest first, and no extra row (nothing newer)")
		third := list(store.CheckoutFilter{After: second[9]})
		require.Len(t, third, 5, "the last page has no extra row")
		back = list(store.CheckoutFilter{Before: third[0]})
		require.Equal(t, append(second[:10:10], first[9]), back, "a previous page with something newer still: the extra row comes last")

		from, to := sd.CreatedAt(12), sd.CreatedAt(4)
		ranged := list(store.CheckoutFilter{CreatedFrom: &from, CreatedTo: &to})
		var want []string
		for i := 5; i <= 12; i++ {
			want = append(want, sd.CheckoutID(i))
		}
		require.Equal(t, want, ranged, "from inclusive, to exclusive")
		txns, err := s.ListTransactions(ctx, store.TransactionFilter{OrganizationID: org.ID, Limit: 3, CreatedFrom: &from, CreatedTo: &to, Before: sd.TransactionID(9)})
		require.NoError(t, err)
		require.Equal(t, []string{sd.TransactionID(6), sd.TransactionID(7), sd.TransactionID(8), sd.TransactionID(5)}, transactionIDs(txns))
	})
}

// fullScan matches a plan line that reads a whole table (PostgreSQL's sequential scan,
// SQLite's SCAN of a table that is not a full-text index).
var fullScan = regexp.MustCompile(`Seq Scan on (checkouts|transactions)|(?m)^SCAN (checkouts|transactions|c|t)$`)

// TestListPlansUseIndexes checks the plans of the lists' slow cases of issue 17 at a size where
// the planners prefer a scan to a bad index: PostgreSQL's generic plan (a prepared statement's
// from its sixth execution), SQLite's with the statistics the migration and the seed gather.
func TestListPlansUseIndexes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s := storetest.Own(t, d)
			org := storetest.Org(t, s)
			p := storetest.Provider(t, s, org.ID, domain.ModeTest)
			other := storetest.Org(t, s)
			op := storetest.Provider(t, s, other.ID, domain.ModeTest)
			// SQLite (a C library translated to Go) is slow under the race detector: a smaller
			// seed, with its statistics just as honest.
			n := 20000
			if d == store.SQLite {
				n = 4000
			}
			storetest.SeedVolume(t, s, storetest.Site(t, s, other.ID, op), op, storetest.Volume{Checkouts: n / 5, Transactions: n / 8, Every: time.Minute}, "othr")
			sd := storetest.SeedVolume(t, s, storetest.Site(t, s, org.ID, p), p, storetest.Volume{Checkouts: n, Transactions: n * 7 / 10, Every: time.Minute}, "plan")
			from, to := sd.CreatedAt(n/2), sd.CreatedAt(n/2-n/20)
			plan := func(f any) string {
				t.Helper()
				var out string
				var err error
				switch f := f.(type) {
				case store.CheckoutFilter:
					f.OrganizationID, f.Limit = org.ID, 50
					out, err = s.ExplainCheckouts(ctx, f)
				case store.TransactionFilter:
					f.OrganizationID, f.Limit = org.ID, 50
					out, err = s.ExplainTransactions(ctx, f)
				}
				require.NoError(t, err)
				require.NotRegexp(t, fullScan, out)
				return out
			}
			// A created-at range is an id range, on the primary key or on (organization_id, id).
			ranged := plan(store.CheckoutFilter{CreatedFrom: &from, CreatedTo: &to, Mode: domain.ModeTest})
			idRange := map[store.Dialect]*regexp.Regexp{
				store.Postgres: regexp.MustCompile(`(Index Scan.* using|Bitmap Index Scan on) (checkouts|transactions)_(pkey|org_id_idx) .*\n.*Index Cond: .*id >= `),
				store.SQLite:   regexp.MustCompile(`SEARCH (checkouts|transactions) USING INDEX (sqlite_autoindex_\w+_1|\w+_org_id_idx) \((organization_id=\? AND )?id>\? AND id<\?\)`),
			}[d]
			require.Regexp(t, idRange, ranged)
			require.Regexp(t, idRange, plan(store.TransactionFilter{CreatedFrom: &from, CreatedTo: &to}))
			require.Contains(t, plan(store.CheckoutFilter{ExternalReference: sd.Reference(5)}), "checkouts_org_reference_idx")

			email := strings.ToLower(sd.Email(n / 3)[2:22])
			byEmail := plan(store.TransactionFilter{Email: email})
			bySearch := plan(store.TransactionFilter{Search: email})
			checkoutSearch := plan(store.CheckoutFilter{Search: email})
			byID := plan(store.TransactionFilter{Search: sd.TransactionID(n / 3)})
			if d == store.Postgres {
				require.Contains(t, byEmail, "transactions_search_trgm_idx")
				require.Contains(t, bySearch, "transactions_search_trgm_idx")
				require.Contains(t, checkoutSearch, "checkouts_search_trgm_idx")
				require.Contains(t, byID, "transactions_pkey")
				for _, p := range []string{byEmail, bySearch, checkoutSearch, byID} {
					require.Regexp(t, `Index Scan.* using (checkouts|transactions)_pkey .*\n +Index Cond: \(id = ANY`, p, "the matches are looked up by id, not found by walking the organisation's rows")
				}
				require.Contains(t, byID, "transactions_org_provider_reference_idx", "provider references are found within the organisation")
				// The index is asked for the stretches of uncommon trigrams only, the whole text
				// is checked on the rows it gives (strpos, which the index does not answer).
				for _, p := range []string{byEmail, bySearch, checkoutSearch} {
					require.Regexp(t, `Bitmap Index Scan on (checkouts|transactions)_search_trgm_idx[^\n]*\n +Index Cond: \(lower\([^\n]*\)\)\) ~~ \$\d+\)\n`, p,
						"one LIKE in the index condition (the e-mail's rare stretch), nothing else")
					require.Regexp(t, `(Filter|Recheck Cond): .*strpos`, p)
					require.NotRegexp(t, `Index Cond: .*strpos`, p)
				}
				common := s.CommonTrigrams(ctx, "transactions")
				require.True(t, common["exa"] && common["pla"] && common["lan"], "ANALYZE's statistics name the trigrams every e-mail holds: %v", common)
				parts := store.RareParts(email, common)
				require.NotEmpty(t, parts)
				for _, part := range parts {
					require.Contains(t, email, part)
					for i := 0; i+3 <= len(part); i++ {
						require.False(t, common[part[i:i+3]], "%q of %q is common", part[i:i+3], part)
					}
				}
				// A text made of common trigrams only matches many rows: the list walks the
				// organisation's newest rows and stops at the page's end, no index of texts.
				everyone := plan(store.TransactionFilter{Search: "example.com"})
				require.NotContains(t, everyone, "trgm_idx")
				require.Regexp(t, `Index Scan Backward using transactions_(pkey|org_id_idx)`, everyone)
				got, err := s.ListTransactions(ctx, store.TransactionFilter{OrganizationID: org.ID, Search: "EXAMPLE.com", Limit: 50})
				require.NoError(t, err)
				require.Len(t, got, 51)
				require.Equal(t, sd.TransactionID(0), got[0].ID)
			} else {
				require.Contains(t, byEmail, "transactions_search VIRTUAL TABLE")
				require.Contains(t, bySearch, "transactions_search VIRTUAL TABLE")
				require.Contains(t, checkoutSearch, "checkouts_search VIRTUAL TABLE")
				require.Contains(t, byID, "INDEX sqlite_autoindex_transactions_1 (id=?)")
				require.Contains(t, byID, "transactions_org_provider_reference_idx")
			}
			got, err := s.ListTransactions(ctx, store.TransactionFilter{OrganizationID: org.ID, Email: email, Limit: 50})
			require.NoError(t, err)
			require.Equal(t, []string{sd.TransactionID(n / 3)}, transactionIDs(got))
			t.Logf("%s plans:\nrange:\n%s\ne-mail filter:\n%s\nsearch:\n%s\nid:\n%s", d, ranged, byEmail, bySearch, byID)
		})
	}
}
