package checkout_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

func newService(t *testing.T, s *store.Store) *checkout.Service {
	t.Helper()
	return checkout.New(checkout.Deps{Store: store.PortOf[checkout.Store](s), Log: logging.Discard()})
}

// newOrg creates an organisation (through the tenancy use cases) and an admin actor in it.
func newOrg(t *testing.T, s *store.Store) (*domain.Organization, domain.Actor) {
	t.Helper()
	mk, err := secrets.ParseKey(secrets.GenerateKey())
	require.NoError(t, err)
	keys, err := secrets.NewKeyring(mk, nil)
	require.NoError(t, err)
	ten := tenancy.New(tenancy.Deps{Store: store.PortOf[tenancy.Store](s), Keys: keys, Log: logging.Discard()})
	name := "Org " + domain.RandomString(5)
	org, err := ten.CreateOrganization(ctx, domain.SystemActor(""), tenancy.OrganizationInput{Name: &name})
	require.NoError(t, err)
	return org, domain.Actor{Type: domain.ActorUser, ID: "usr_test", Label: "admin@example.com", OrganizationID: org.ID, Role: domain.RoleAdmin}
}

var _ checkout.Store = store.Port[checkout.Store]{}
