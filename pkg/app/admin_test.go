package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func adminConfig(env config.AppEnv) config.AdminBackend {
	mk, _ := secrets.ParseKey(secrets.GenerateKey())
	return config.AdminBackend{Common: config.Common{AppEnv: env, MasterKey: mk, ShutdownTimeout: time.Second,
		Hosts: config.Hosts{Scheme: "https", AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com"}},
		JWTSigningKey: []byte(strings.Repeat("k", 40)), SessionTTL: time.Minute, IdempotencyTTL: 48 * time.Hour, RateLimit: 10}
}

// The wiring itself (not only config validation) refuses a production admin backend without
// mail, so that no code path can fall back to a mailer that logs links.
func TestProductionAdminBackendWithoutMailDoesNotStart(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	_, err := app.AdminBackendOn(adminConfig(config.AppProduction), logtest.New().Logger("admin-backend"), s)
	require.ErrorIs(t, err, mail.ErrNoMailer)

	cfg := adminConfig(config.AppProduction)
	cfg.Mail.Disabled = true
	a, err := app.AdminBackendOn(cfg, logtest.New().Logger("admin-backend"), s)
	require.NoError(t, err)
	require.True(t, a.Services.Tenancy.MailDisabled())
}

// `make run` (development, no SMTP) gets the development mailer, which says that it sent nothing.
func TestDevelopmentAdminBackendUsesTheDevelopmentMailer(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	logs := logtest.New()
	a, err := app.AdminBackendOn(adminConfig(config.AppDevelopment), logs.Logger("admin-backend"), s)
	require.NoError(t, err)
	ctx := context.Background()
	name := "Dev org " + domain.RandomString(4)
	org, err := a.Services.Tenancy.CreateOrganization(ctx, domain.SystemActor(""), tenancy.OrganizationInput{Name: &name})
	require.NoError(t, err)
	admin := domain.Actor{Type: domain.ActorUser, ID: "usr_dev", OrganizationID: org.ID, Role: domain.RoleAdmin}
	inv, err := a.Services.Tenancy.InviteMember(ctx, admin, org.ID, "dev."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleViewer)
	require.NoError(t, err)
	var line string
	for _, l := range logs.Lines() {
		if strings.Contains(l, mail.DevMailerNotice) {
			line = l
		}
	}
	require.NotEmpty(t, line, "the development mailer says it sent nothing")
	require.Contains(t, line, inv.Link, "and prints the link for the developer")
}
