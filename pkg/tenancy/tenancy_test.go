package tenancy_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

func newService(t *testing.T, s *store.Store) *tenancy.Service {
	t.Helper()
	return newServiceAt(t, s, nil)
}

// newServiceAt builds the service with a clock (nil: the real one).
func newServiceAt(t *testing.T, s *store.Store, now func() time.Time) *tenancy.Service {
	t.Helper()
	mk, err := secrets.ParseKey(secrets.GenerateKey())
	require.NoError(t, err)
	keys, err := secrets.NewKeyring(mk, nil)
	require.NoError(t, err)
	hosts := config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}
	return tenancy.New(tenancy.Deps{Store: store.PortOf[tenancy.Store](s), Keys: keys, Hosts: hosts, Log: logging.Discard(), Now: now})
}

// newOrg creates an organisation and an admin actor in it.
func newOrg(t *testing.T, svc *tenancy.Service) (*domain.Organization, domain.Actor) {
	t.Helper()
	name := "Org " + domain.RandomString(5)
	org, err := svc.CreateOrganization(ctx, domain.SystemActor(""), tenancy.OrganizationInput{Name: &name})
	require.NoError(t, err)
	return org, domain.Actor{Type: domain.ActorUser, ID: "usr_test", Label: "admin@example.com", OrganizationID: org.ID, Role: domain.RoleAdmin}
}

func ptr[T any](v T) *T { return &v }

// fakeClock is a clock tests move forward.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSecretsAreEncryptedAtRestAndMaskedOnRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		org, admin := newOrg(t, svc)
		stripeSecret := "sk_test_" + domain.RandomString(40)
		stripeHook := "whsec_" + domain.RandomString(32)
		gcToken := "sandbox_" + domain.RandomString(40)
		gcHook := domain.RandomString(40)
		p, err := svc.CreateProvider(ctx, admin, org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: ptr("Cards"),
			Settings: map[string]string{"publishableKey": "pk_test_123"}, Credentials: map[string]string{"secretKey": stripeSecret, "webhookSecret": stripeHook}})
		require.NoError(t, err)
		require.Equal(t, "sk_test_••••"+stripeSecret[len(stripeSecret)-4:], p.CredentialsHint["secretKey"])
		gc, err := svc.CreateProvider(ctx, admin, org.ID, tenancy.ProviderInput{Type: "gocardless", Mode: "test", Name: ptr("Bank"),
			Settings: map[string]string{"environment": "sandbox"}, Credentials: map[string]string{"accessToken": gcToken, "webhookSecret": gcHook}})
		require.NoError(t, err)
		site, whsec, err := svc.CreateSite(ctx, admin, org.ID, tenancy.SiteInput{Name: ptr("Shop"), ProviderIDs: &[]string{p.ID, gc.ID}})
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(whsec, "whsec_"))
		_, token, err := svc.CreateAPIKey(ctx, admin, org.ID, tenancy.APIKeyInput{Name: "k", Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
		_, _, apiSecret, ok := auth.ParseToken(token)
		require.True(t, ok)

		storetest.RequireNoPlaintext(t, s, stripeSecret, stripeHook, gcToken, gcHook, whsec, apiSecret)

		// The service can still use them.
		creds, err := svc.ProviderCredentials(ctx, p)
		require.NoError(t, err)
		require.Equal(t, stripeSecret, creds["secretKey"])
		got, err := svc.SiteWebhookSecret(ctx, site)
		require.NoError(t, err)
		require.Equal(t, whsec, got)

		t.Run("PartialCredentialUpdateKeepsTheRest", func(t *testing.T) {
			newHook := "whsec_" + domain.RandomString(32)
			up, err := svc.UpdateProvider(ctx, admin, org.ID, p.ID, tenancy.ProviderInput{Credentials: map[string]string{"webhookSecret": newHook}})
			require.NoError(t, err)
			creds, err := svc.ProviderCredentials(ctx, up)
			require.NoError(t, err)
			require.Equal(t, stripeSecret, creds["secretKey"])
			require.Equal(t, newHook, creds["webhookSecret"])
		})
		t.Run("RegeneratedSecretReplacesTheOld", func(t *testing.T) {
			fresh, err := svc.RegenerateWebhookSecret(ctx, admin, org.ID, site.ID)
			require.NoError(t, err)
			require.NotEqual(t, whsec, fresh)
			reloaded, err := s.GetSite(ctx, org.ID, site.ID)
			require.NoError(t, err)
			got, err := svc.SiteWebhookSecret(ctx, reloaded)
			require.NoError(t, err)
			require.Equal(t, fresh, got)
		})
	})
}

func TestRolesAreEnforced(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		org, admin := newOrg(t, svc)
		viewer := admin
		viewer.Role = domain.RoleViewer
		editor := admin
		editor.Role = domain.RoleEditor
		_, _, err := svc.CreateSite(ctx, viewer, org.ID, tenancy.SiteInput{Name: ptr("x")})
		require.Equal(t, domain.KindForbidden, domain.ErrorKind(err))
		_, _, err = svc.CreateSite(ctx, editor, org.ID, tenancy.SiteInput{Name: ptr("x")})
		require.Equal(t, domain.KindForbidden, domain.ErrorKind(err), "editors do not manage sites")
		_, err = svc.ListSites(ctx, viewer, org.ID)
		require.NoError(t, err, "viewers read")

		other, _ := newOrg(t, svc)
		_, err = svc.ListSites(ctx, admin, other.ID)
		require.True(t, domain.IsNotFound(err), "another organisation is not found")

		key := domain.Actor{Type: domain.ActorAPIKey, ID: "key_x", OrganizationID: org.ID, Scopes: []string{"checkout:create", "api_key:create"}}
		_, _, err = svc.CreateAPIKey(ctx, key, org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"site:update"}})
		require.Equal(t, domain.CodeInsufficientScope, domain.ErrorCode(err), "a key cannot grant more than it holds")
		_, _, err = svc.CreateAPIKey(ctx, key, org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
	})
}

func TestSignInLocksOutWithBackoff(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		email := "ops." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		_, err := svc.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: email, Password: "correct horse battery"})
		require.NoError(t, err)
		_, err = svc.SignIn(ctx, email, "correct horse battery")
		require.NoError(t, err)
		for i := 0; i < tenancy.FreeAttempts; i++ {
			_, err = svc.SignIn(ctx, email, "wrong")
			require.Equal(t, domain.KindUnauthorized, domain.ErrorKind(err))
		}
		_, err = svc.SignIn(ctx, email, "correct horse battery")
		require.Equal(t, "ACCOUNT_LOCKED", domain.ErrorCode(err), "even the right password waits out the lock")
		_, err = svc.SignIn(ctx, "nobody@example.com", "whatever")
		require.Equal(t, domain.KindUnauthorized, domain.ErrorKind(err))
		require.Equal(t, time.Minute, tenancy.LockoutFor(5))
		require.Equal(t, 2*time.Minute, tenancy.LockoutFor(6))
		require.Equal(t, tenancy.MaxLockout, tenancy.LockoutFor(30))
	})
}

// Concurrent wrong passwords are counted before any is checked: however many race, at most
// FreeAttempts are evaluated, the rest find the account locked, and so does the right password.
func TestSignInLockoutCannotBeRaced(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		clock := &fakeClock{t: time.Now()}
		svc := newServiceAt(t, s, clock.Now)
		email := "race." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		const password = "correct horse battery"
		u, err := svc.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: email, Password: password})
		require.NoError(t, err)

		const n = 32
		start := make(chan struct{})
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := svc.SignIn(ctx, email, "wrong password "+strconv.Itoa(i))
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		wrong, locked := 0, 0
		for err := range errs {
			switch domain.ErrorCode(err) {
			case domain.CodeUnauthorized:
				wrong++
			case tenancy.CodeAccountLocked:
				locked++
				var de *domain.Error
				require.ErrorAs(t, err, &de)
				require.Equal(t, domain.KindRateLimited, de.Kind)
				require.Greater(t, de.RetryAfter, time.Duration(0), "a locked account says how long to wait")
				require.LessOrEqual(t, de.RetryAfter, tenancy.LockoutFor(tenancy.FreeAttempts))
			default:
				t.Fatalf("unexpected answer: %v", err)
			}
		}
		require.Equal(t, tenancy.FreeAttempts, wrong, "only the free attempts are evaluated")
		require.Equal(t, n-tenancy.FreeAttempts, locked)

		_, err = svc.SignIn(ctx, email, password)
		require.Equal(t, tenancy.CodeAccountLocked, domain.ErrorCode(err), "the right password waits out the lock too")
		got, err := s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		require.Equal(t, tenancy.FreeAttempts, got.FailedLogins, "attempts refused by the lock are not counted")

		// Once the lock has passed, the right password works and resets the count.
		clock.Advance(tenancy.LockoutFor(tenancy.FreeAttempts) + time.Second)
		_, err = svc.SignIn(ctx, email, password)
		require.NoError(t, err)
		got, err = s.GetUser(ctx, u.ID)
		require.NoError(t, err)
		require.Zero(t, got.FailedLogins)
		require.Nil(t, got.LockedUntil)
	})
}

func TestSignInBelowTheLimitResetsTheCount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		email := "reset." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		const password = "correct horse battery"
		u, err := svc.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: email, Password: password})
		require.NoError(t, err)
		for round := 0; round < 2; round++ {
			for i := 0; i < tenancy.FreeAttempts-1; i++ {
				_, err = svc.SignIn(ctx, email, "wrong")
				require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "round %d attempt %d", round, i)
			}
			got, err := svc.SignIn(ctx, email, password)
			require.NoError(t, err, "round %d: the right password before the limit works", round)
			require.Equal(t, u.ID, got.ID)
			stored, err := s.GetUser(ctx, u.ID)
			require.NoError(t, err)
			require.Zero(t, stored.FailedLogins, "a successful sign-in resets the count")
			require.Nil(t, stored.LockedUntil)
			require.NotNil(t, stored.LastLoginAt)
		}
		_, err = svc.SignIn(ctx, "nobody."+strings.ToLower(domain.RandomString(6))+"@example.com", "whatever")
		require.Equal(t, domain.CodeUnauthorized, domain.ErrorCode(err), "an unknown address is answered like a wrong password")
	})
}

func TestInvitationAndPasswordReset(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		svc := newService(t, s)
		org, admin := newOrg(t, svc)
		email := "new." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		inv, err := svc.InviteMember(ctx, admin, org.ID, email, domain.RoleEditor)
		require.NoError(t, err)
		require.Contains(t, inv.Link, "https://api.example.com/reset-password?token=")
		token := inv.Link[strings.Index(inv.Link, "token=")+6:]
		u, err := svc.ResetPassword(ctx, token, "a brand new password")
		require.NoError(t, err)
		require.Equal(t, email, u.Email)
		_, err = svc.ResetPassword(ctx, token, "another new password")
		require.Equal(t, "INVALID_RESET_LINK", domain.ErrorCode(err), "links work once")
		_, err = svc.SignIn(ctx, email, "a brand new password")
		require.NoError(t, err)
		actor, err := svc.UserActor(ctx, u, org.ID)
		require.NoError(t, err)
		require.Equal(t, domain.RoleEditor, actor.Role)

		require.Error(t, svc.ChangeMemberRole(ctx, admin, org.ID, u.ID, "owner"))
		require.NoError(t, svc.ChangeMemberRole(ctx, admin, org.ID, u.ID, domain.RoleAdmin))
		err = svc.ChangeMemberRole(ctx, admin, org.ID, u.ID, domain.RoleViewer)
		require.True(t, domain.IsConflict(err), "the only administrator cannot be demoted")
		require.True(t, domain.IsConflict(svc.RemoveMember(ctx, admin, org.ID, u.ID)), "nor removed")
		_, err = svc.InviteMember(ctx, admin, org.ID, "second."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleAdmin)
		require.NoError(t, err)
		require.NoError(t, svc.ChangeMemberRole(ctx, admin, org.ID, u.ID, domain.RoleViewer))
		require.NoError(t, svc.RemoveMember(ctx, admin, org.ID, u.ID))
		_, err = svc.UserActor(ctx, u, org.ID)
		require.Equal(t, domain.KindForbidden, domain.ErrorKind(err))
	})
}

func TestDemoIsSeededOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			svc := newService(t, s)
			demo, err := svc.SeedDemo(ctx)
			require.NoError(t, err)
			require.NotNil(t, demo)
			require.True(t, strings.HasPrefix(demo.APIKey, "sk_test_"))
			banner := demo.Banner("http://localhost:8080")
			require.Contains(t, banner, demo.AdminPassword)
			require.Contains(t, banner, "curl")
			again, err := svc.SeedDemo(ctx)
			require.NoError(t, err)
			require.Nil(t, again, "a second start creates nothing and shows no secret")
			_, err = svc.SignIn(ctx, demo.AdminEmail, demo.AdminPassword)
			require.NoError(t, err)
		})
	}
}
