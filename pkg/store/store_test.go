package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

func TestMigrationsUpDownUp(t *testing.T) {
	t.Parallel()
	tables := map[store.Dialect][]string{}
	var mu sync.Mutex
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			v, err := s.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, 0, v)
			require.Error(t, s.CheckSchema(ctx), "an empty database is behind")

			applied, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.Len(t, ours(applied), store.LatestVersion())
			require.Contains(t, applied, "river 001_create_river_migration (up)", "River's migrations run with ours")
			require.NoError(t, s.CheckSchema(ctx))
			up := ourTables(t, s)
			require.Contains(t, up, "checkouts")
			all, err := s.Tables(ctx)
			require.NoError(t, err)
			require.Contains(t, all, "river_job")
			require.NotContains(t, all, "jobs", "River replaced the jobs table")

			_, err = s.Migrate(ctx, 0)
			require.NoError(t, err)
			require.Equal(t, []string{"goose_db_version"}, ourTables(t, s), "down removes every table of ours but goose's version table (River's stay, River's own)")

			_, err = s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.Equal(t, up, ourTables(t, s))

			applied, err = s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.Empty(t, applied, "migrating a current schema does nothing")

			mu.Lock()
			tables[d] = up
			mu.Unlock()
		})
	}
	// River's tables are River's: its migrations differ between the databases.
	t.Run("SameTablesAndColumnsOnBothDatabases", func(t *testing.T) {
		if len(tables) < 2 {
			if storetest.InCI() {
				t.Fatal("needs both databases: under CI=true both must be there")
			}
			t.Skip("needs both databases")
		}
		require.Equal(t, tables[store.SQLite], tables[store.Postgres])
		for _, table := range tables[store.SQLite] {
			sc, err := storetest.Shared(t, store.SQLite).Columns(ctx, table)
			require.NoError(t, err)
			pc, err := storetest.Shared(t, store.Postgres).Columns(ctx, table)
			require.NoError(t, err)
			require.Equal(t, sc, pc, table)
		}
	})
}

// ours keeps the migrations of ours among those Migrate applied (not River's, nor the adoption
// of the jobs table).
func ours(applied []string) []string {
	var out []string
	for _, a := range applied {
		if !strings.HasPrefix(a, "river ") && !strings.HasPrefix(a, "adopted ") {
			out = append(out, a)
		}
	}
	return out
}

// ourTables lists the database's tables but River's.
func ourTables(t *testing.T, s *store.Store) []string {
	t.Helper()
	all, err := s.Tables(ctx)
	require.NoError(t, err)
	var out []string
	for _, n := range all {
		if !strings.HasPrefix(n, "river_") {
			out = append(out, n)
		}
	}
	return out
}

func TestOrganizationsUsersMemberships(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		got, err := s.GetOrganization(ctx, org.ID)
		require.NoError(t, err)
		require.Equal(t, org.Name, got.Name)
		require.True(t, got.PricesIncludeTax)
		require.Equal(t, org.CreatedAt, got.CreatedAt, "times round-trip exactly")

		_, err = s.GetOrganization(ctx, "org_missing")
		require.True(t, domain.IsNotFound(err))

		email := "Ada." + domain.RandomString(6) + "@Example.com"
		u := &domain.User{ID: domain.NewID(domain.PrefixUser), Email: email, PasswordHash: "x"}
		require.NoError(t, s.CreateUser(ctx, u))
		byEmail, err := s.GetUserByEmail(ctx, email)
		require.NoError(t, err)
		require.Equal(t, u.ID, byEmail.ID, "e-mail lookups ignore case")

		dup := &domain.User{ID: domain.NewID(domain.PrefixUser), Email: email}
		err = s.CreateUser(ctx, dup)
		require.True(t, domain.IsConflict(err), "duplicate e-mail is a conflict: %v", err)
		require.True(t, domain.IsConstraint(err, "users_email_key"))

		require.NoError(t, s.AddMembership(ctx, &domain.Membership{OrganizationID: org.ID, UserID: u.ID, Role: domain.RoleAdmin}))
		require.True(t, domain.IsConflict(s.AddMembership(ctx, &domain.Membership{OrganizationID: org.ID, UserID: u.ID, Role: domain.RoleViewer})))
		n, err := s.CountAdmins(ctx, org.ID)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		require.NoError(t, s.SetMembershipRole(ctx, org.ID, u.ID, domain.RoleEditor))
		members, err := s.ListMembers(ctx, org.ID)
		require.NoError(t, err)
		require.Len(t, members, 1)
		require.Equal(t, domain.RoleEditor, members[0].Role)
		orgs, err := s.ListUserOrganizations(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, orgs, 1)

		require.ErrorContains(t, s.AddMembership(ctx, &domain.Membership{OrganizationID: org.ID, UserID: u.ID, Role: "owner"}), "")
		require.NoError(t, s.RemoveMembership(ctx, org.ID, u.ID))
		require.True(t, domain.IsNotFound(s.RemoveMembership(ctx, org.ID, u.ID)))

		t.Run("LockoutCounting", func(t *testing.T) {
			now := time.Now()
			att, err := s.ReserveLoginAttempt(ctx, u.ID, now, func(n int) time.Duration {
				if n >= 2 {
					return time.Minute
				}
				return 0
			})
			require.NoError(t, err)
			require.True(t, att.Allowed)
			require.Equal(t, 1, att.Failures)
			require.Nil(t, att.LockedUntil)
			att, err = s.ReserveLoginAttempt(ctx, u.ID, now, func(n int) time.Duration { return time.Duration(n) * time.Minute })
			require.NoError(t, err)
			require.True(t, att.Allowed)
			require.Equal(t, 2, att.Failures)
			require.NotNil(t, att.LockedUntil)
			require.WithinDuration(t, now.Add(2*time.Minute), *att.LockedUntil, time.Millisecond)
			locked, err := s.GetUser(ctx, u.ID)
			require.NoError(t, err)
			require.NotNil(t, locked.LockedUntil)
			require.WithinDuration(t, now.Add(2*time.Minute), *locked.LockedUntil, time.Millisecond)

			// While locked nothing is counted; once the lock has passed the next attempt counts again.
			att, err = s.ReserveLoginAttempt(ctx, u.ID, now.Add(time.Minute), func(n int) time.Duration { return time.Duration(n) * time.Minute })
			require.NoError(t, err)
			require.False(t, att.Allowed)
			require.Equal(t, 2, att.Failures)
			require.WithinDuration(t, now.Add(2*time.Minute), *att.LockedUntil, time.Millisecond)
			att, err = s.ReserveLoginAttempt(ctx, u.ID, now.Add(3*time.Minute), func(n int) time.Duration { return time.Duration(n) * time.Minute })
			require.NoError(t, err)
			require.True(t, att.Allowed)
			require.Equal(t, 3, att.Failures)
			require.WithinDuration(t, now.Add(6*time.Minute), *att.LockedUntil, time.Millisecond)

			require.NoError(t, s.RecordLoginSuccess(ctx, u.ID))
			ok, err := s.GetUser(ctx, u.ID)
			require.NoError(t, err)
			require.Nil(t, ok.LockedUntil)
			require.Zero(t, ok.FailedLogins)
		})

		t.Run("PasswordResetTokenIsSingleUse", func(t *testing.T) {
			hash := "h_" + domain.RandomString(10)
			require.NoError(t, s.CreatePasswordReset(ctx, u.ID, hash, time.Now().Add(time.Hour)))
			uid, err := s.ConsumePasswordReset(ctx, hash)
			require.NoError(t, err)
			require.Equal(t, u.ID, uid)
			_, err = s.ConsumePasswordReset(ctx, hash)
			require.True(t, domain.IsNotFound(err))
			expired := "h_" + domain.RandomString(10)
			require.NoError(t, s.CreatePasswordReset(ctx, u.ID, expired, time.Now().Add(-time.Second)))
			_, err = s.ConsumePasswordReset(ctx, expired)
			require.True(t, domain.IsNotFound(err))
		})
	})
}

func TestSitesAndProvidersAreTenantScoped(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		a, b := storetest.Org(t, s), storetest.Org(t, s)
		pa := storetest.Provider(t, s, a.ID, domain.ModeTest)
		pb := storetest.Provider(t, s, b.ID, domain.ModeTest)
		site := storetest.Site(t, s, a.ID, pa)

		got, err := s.GetSite(ctx, a.ID, site.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"shop.example.com"}, got.AllowedHosts)
		require.Equal(t, pa.ID, *got.DefaultProviderID)

		_, err = s.GetSite(ctx, b.ID, site.ID)
		require.True(t, domain.IsNotFound(err), "another organisation's site is not found")
		_, err = s.GetProvider(ctx, a.ID, pb.ID)
		require.True(t, domain.IsNotFound(err))

		err = s.SetSiteProviders(ctx, a.ID, site.ID, []string{pa.ID, pb.ID}, nil)
		require.True(t, domain.IsNotFound(err), "a foreign provider cannot be assigned: %v", err)
		err = s.SetSiteProviders(ctx, a.ID, site.ID, []string{pa.ID}, &pb.ID)
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(err))

		pa2 := storetest.Provider(t, s, a.ID, domain.ModeLive)
		require.NoError(t, s.SetSiteProviders(ctx, a.ID, site.ID, []string{pa2.ID, pa.ID}, &pa.ID))
		ps, err := s.ListSiteProviders(ctx, a.ID, site.ID)
		require.NoError(t, err)
		require.Equal(t, []string{pa2.ID, pa.ID}, []string{ps[0].ID, ps[1].ID}, "assignment order is kept")

		got.Name = "Renamed"
		got.AllowedHosts = []string{"a.example", "*.b.example"}
		require.NoError(t, s.UpdateSite(ctx, got))
		again, err := s.GetSite(ctx, a.ID, site.ID)
		require.NoError(t, err)
		require.Equal(t, "Renamed", again.Name)
		require.True(t, again.HostAllowed("x.b.example"))
		require.False(t, again.HostAllowed("b.example"))

		other := *got
		other.OrganizationID = b.ID
		require.True(t, domain.IsNotFound(s.UpdateSite(ctx, &other)), "updates are tenant-scoped too")

		require.NoError(t, s.DeleteProvider(ctx, a.ID, pa.ID))
		again, err = s.GetSite(ctx, a.ID, site.ID)
		require.NoError(t, err)
		require.Nil(t, again.DefaultProviderID, "deleting the default provider clears the default")
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		k := &domain.APIKey{ID: domain.NewID(domain.PrefixAPIKey), OrganizationID: org.ID, Mode: domain.ModeTest, SecretHash: "h", SecretHint: "abcd", Scopes: []string{"checkout:create"}}
		require.NoError(t, s.CreateAPIKey(ctx, k))
		got, err := s.GetAPIKey(ctx, k.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"checkout:create"}, got.Scopes)
		require.True(t, got.Active(time.Now()))

		used := time.Now().Add(-time.Minute)
		require.NoError(t, s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used}))
		require.NoError(t, s.TouchAPIKeys(ctx, map[string]time.Time{k.ID: used.Add(-time.Hour)}), "an older time does not move last-used back")
		got, _ = s.GetAPIKey(ctx, k.ID)
		require.WithinDuration(t, used, *got.LastUsedAt, time.Millisecond)

		other := storetest.Org(t, s)
		require.True(t, domain.IsNotFound(s.RevokeAPIKey(ctx, other.ID, k.ID)))
		require.NoError(t, s.RevokeAPIKey(ctx, org.ID, k.ID))
		require.True(t, domain.IsConflict(s.RevokeAPIKey(ctx, org.ID, k.ID)))
		got, _ = s.GetAPIKey(ctx, k.ID)
		require.False(t, got.Active(time.Now()))
	})
}

func TestCheckoutsListFilterAndPaginate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		var ids []string
		for i := 0; i < 5; i++ {
			ids = append(ids, storetest.Checkout(t, s, site, int64(100+i)).ID)
		}
		c, err := s.GetCheckout(ctx, org.ID, ids[0])
		require.NoError(t, err)
		require.Len(t, c.Items, 1)
		require.Equal(t, int64(100), c.Items[0].UnitPrice)
		byCode, err := s.GetCheckoutByShortCode(ctx, c.ShortCode)
		require.NoError(t, err)
		require.Equal(t, c.ID, byCode.ID)

		page, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Limit: 2})
		require.NoError(t, err)
		require.Len(t, page, 3, "one extra row tells there is a next page")
		require.Equal(t, ids[4], page[0].ID, "newest first")
		next, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Limit: 2, After: page[1].ID})
		require.NoError(t, err)
		require.Equal(t, ids[2], next[0].ID)

		found, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Limit: 10, ExternalReference: c.ExternalReference})
		require.NoError(t, err)
		require.Len(t, found, 1)
		found, err = s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Limit: 10, Search: c.ExternalReference[2:]})
		require.NoError(t, err)
		require.Len(t, found, 1)
		future := time.Now().Add(time.Hour)
		found, err = s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: org.ID, Limit: 10, CreatedFrom: &future})
		require.NoError(t, err)
		require.Empty(t, found)
		foreign, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: storetest.Org(t, s).ID, Limit: 10})
		require.NoError(t, err)
		require.Empty(t, foreign)

		ended, err := s.EndCheckout(ctx, org.ID, ids[1], domain.CheckoutExpired)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutExpired, ended.Status)
		_, err = s.EndCheckout(ctx, org.ID, ids[1], domain.CheckoutCancelled)
		require.True(t, domain.IsConflict(err))
		events, err := s.ListCheckoutEvents(ctx, org.ID, ids[1])
		require.NoError(t, err)
		require.Equal(t, []string{domain.EventCheckoutCreated, domain.EventCheckoutExpired}, eventTypes(events))

		later := time.Now().Add(48 * time.Hour)
		updated, err := s.UpdateCheckoutMetadata(ctx, org.ID, ids[2], map[string]any{"k": "v"}, &later)
		require.NoError(t, err)
		require.Equal(t, "v", updated.Metadata["k"])
		require.WithinDuration(t, later, updated.ExpiresAt, time.Millisecond)
		_, err = s.UpdateCheckoutMetadata(ctx, org.ID, ids[1], nil, &later)
		require.True(t, domain.IsConflict(err), "an expired checkout cannot be extended")
	})
}

func eventTypes(es []domain.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Type
	}
	return out
}

func TestTransactionStateMachine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		c := storetest.Checkout(t, s, site, 1000)
		txn := storetest.Transaction(t, s, c, p)

		moved, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, To: domain.TxnPendingProvider,
			Changes: domain.TransactionChanges{PaymentReference: domain.Ptr("REF" + domain.RandomString(6))}})
		require.NoError(t, err)
		require.Equal(t, domain.TxnPendingProvider, moved.Status)
		require.Equal(t, 2, moved.EventVersion)
		require.NotNil(t, moved.PaymentReference)

		_, err = s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, To: domain.TxnPendingProvider})
		require.Equal(t, domain.CodeAlreadyInState, domain.ErrorCode(err), "a repeated move is reported as already done")

		_, err = s.TransitionTransaction(ctx, domain.Transition{OrganizationID: storetest.Org(t, s).ID, TransactionID: txn.ID, To: domain.TxnSucceeded})
		require.True(t, domain.IsNotFound(err), "another organisation cannot move it")

		done, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, To: domain.TxnSucceeded})
		require.NoError(t, err)
		require.NotNil(t, done.SucceededAt)
		completed, err := s.GetCheckout(ctx, org.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutCompleted, completed.Status, "success completes the checkout in the same transaction")

		_, err = s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, To: domain.TxnCanceled})
		require.Equal(t, domain.CodeInvalidState, domain.ErrorCode(err), "a paid transaction cannot be cancelled")

		events, err := s.ListTransactionEvents(ctx, org.ID, txn.ID)
		require.NoError(t, err)
		var versions []int
		for _, e := range events {
			versions = append(versions, e.Version)
		}
		require.Equal(t, []int{1, 2, 3}, versions, "event versions increase strictly")
		require.Equal(t, []string{"transaction.initiated", "transaction.pending_provider", "transaction.succeeded"}, eventTypes(events))

		second := storetest.Transaction(t, s, c, p)
		_, err = s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: second.ID, To: domain.TxnSucceeded})
		require.Equal(t, domain.CodeAlreadyPaid, domain.ErrorCode(err), "a second attempt cannot also succeed")
		still, err := s.GetTransaction(ctx, org.ID, second.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnInitiated, still.Status, "the failed move left nothing behind")
	})
}

func TestConcurrentSuccessesYieldOne(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		c := storetest.Checkout(t, s, site, 1000)
		var txns []*domain.Transaction
		for i := 0; i < 4; i++ {
			txns = append(txns, storetest.Transaction(t, s, c, p))
		}
		var wg sync.WaitGroup
		results := make(chan error, 12)
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func(txn *domain.Transaction) {
				defer wg.Done()
				_, err := s.TransitionTransaction(ctx, domain.Transition{OrganizationID: org.ID, TransactionID: txn.ID, To: domain.TxnSucceeded})
				results <- err
			}(txns[i%4])
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
				continue
			}
			code := domain.ErrorCode(err)
			require.Contains(t, []string{domain.CodeAlreadyPaid, domain.CodeAlreadyInState, domain.CodeUnavailable}, code, "unexpected: %v", err)
		}
		require.Equal(t, 1, ok, "exactly one move to succeeded wins")
		list, err := s.ListCheckoutTransactions(ctx, org.ID, c.ID)
		require.NoError(t, err)
		paid := 0
		for _, tx := range list {
			if tx.Status == domain.TxnSucceeded {
				paid++
			}
		}
		require.Equal(t, 1, paid)
		events, err := s.ListCheckoutEvents(ctx, org.ID, c.ID)
		require.NoError(t, err)
		n := 0
		for _, e := range events {
			if e.Type == domain.EventCheckoutCompleted {
				n++
			}
		}
		require.Equal(t, 1, n, "one checkout.completed event")
	})
}

func TestRefundsAndAudit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		c := storetest.Checkout(t, s, site, 1000)
		txn := storetest.Transaction(t, s, c, p)
		r := &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: org.ID, TransactionID: txn.ID, Amount: 300, Currency: "EUR", Status: domain.RefundPending, Manual: true}
		require.NoError(t, s.CreateRefund(ctx, r))
		sum, err := s.SumRefunds(ctx, txn.ID)
		require.NoError(t, err)
		require.EqualValues(t, 300, sum)
		require.NoError(t, s.UpdateRefund(ctx, org.ID, r.ID, domain.RefundPending, domain.RefundChanges{Status: domain.Ptr(domain.RefundFailed)}))
		sum, err = s.SumRefunds(ctx, txn.ID)
		require.NoError(t, err)
		require.Zero(t, sum, "failed refunds do not count")
		require.True(t, domain.IsConflict(s.UpdateRefund(ctx, org.ID, r.ID, domain.RefundPending, domain.RefundChanges{Status: domain.Ptr(domain.RefundSucceeded)})))

		bad := &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: org.ID, TransactionID: txn.ID, Amount: -5, Currency: "EUR", Status: domain.RefundPending}
		require.Equal(t, domain.KindInvalid, domain.ErrorKind(s.CreateRefund(ctx, bad)), "the database refuses a negative refund")

		actor := domain.Actor{Type: domain.ActorUser, ID: "usr_1", Label: "ada@example.com", OrganizationID: org.ID}
		require.NoError(t, s.Audit(ctx, actor, "site.update", "site", site.ID, map[string]any{"name": "x"}))
		entries, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: org.ID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Equal(t, "site.update", entries[0].Action)
	})
}

// Transactions that read before they write must queue for SQLite's write lock instead of
// failing with SQLITE_BUSY: every transaction begins IMMEDIATE.
func TestConcurrentReadThenWriteTransactionsAllSucceed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := 0; i < 40; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.InTx(ctx, func(tx *store.Store) error {
					if _, err := tx.ListAudit(ctx, store.AuditFilter{OrganizationID: org.ID, Limit: 5}); err != nil {
						return err
					}
					return tx.Audit(ctx, domain.SystemActor(org.ID), "test.write", "organization", org.ID, nil)
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		entries, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: org.ID, Limit: 100})
		require.NoError(t, err)
		require.Len(t, entries, 40)
	})
}
