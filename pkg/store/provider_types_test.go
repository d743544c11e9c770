package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestTheSchemaListsNoProviderTypes: from migration 12 on, a provider of a type the schema has
// never heard of is stored (the registry, not the schema, says which types exist); migrating
// back below 12 restores the old CHECK (SQLite: in the table's definition), and up again
// lifts it — on both databases.
func TestTheSchemaListsNoProviderTypes(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s := storetest.Fresh(t, d)
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			org := storetest.Org(t, s)
			newType := func() error {
				return s.CreateProvider(ctx, &domain.Provider{ID: domain.NewID(domain.PrefixProvider), OrganizationID: org.ID,
					Type: "mollie", Mode: domain.ModeTest, Name: "Mollie", Enabled: true})
			}
			require.NoError(t, newType(), "a type the schema does not list")

			// Down below 12 refuses nothing stored of a built-in type, and brings the CHECK back.
			require.NoError(t, s.ExecAdmin(ctx, "DELETE FROM providers WHERE type = 'mollie'"))
			_, err = s.Migrate(ctx, 11)
			require.NoError(t, err)
			// Below 16 the rows have no availability column: rows of that schema are written in SQL.
			insert := func(typ string) error {
				return s.ExecAdmin(ctx, `INSERT INTO providers (id, organization_id, type, mode, name, enabled, settings, credentials, credentials_hint, created_at, updated_at)
					VALUES ('`+domain.NewID(domain.PrefixProvider)+`', '`+org.ID+`', '`+typ+`', 'test', 'P', TRUE, '{}', '', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
			}
			require.Error(t, insert("mollie"), "below 12 the schema lists the built-in types again")
			require.NoError(t, insert("wire_transfer"))

			_, err = s.Migrate(ctx, -1)
			require.NoError(t, err)
			require.NoError(t, newType())
			v, err := s.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, store.LatestVersion(), v)
		})
	}
}
