package platform_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

func newService(t *testing.T, s *store.Store) *platform.Service {
	t.Helper()
	mk, err := secrets.ParseKey(secrets.GenerateKey())
	require.NoError(t, err)
	keys, err := secrets.NewKeyring(mk, nil)
	require.NoError(t, err)
	hosts := config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}
	return platform.New(platform.Deps{Store: s, Keys: keys, Hosts: hosts, Log: logging.Discard()})
}

// newOrg creates an organisation and an admin actor in it.
func newOrg(t *testing.T, svc *platform.Service) (*domain.Organization, domain.Actor) {
	t.Helper()
	name := "Org " + domain.RandomString(5)
	org, err := svc.CreateOrganization(ctx, domain.SystemActor(""), tenancy.OrganizationInput{Name: &name})
	require.NoError(t, err)
	return org, domain.Actor{Type: domain.ActorUser, ID: "usr_test", Label: "admin@example.com", OrganizationID: org.ID, Role: domain.RoleAdmin}
}
