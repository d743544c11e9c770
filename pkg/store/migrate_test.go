package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// Three migrators on one empty database at once (three replicas running `migrate` as they
// start): every migration is applied exactly once, and each migrator's log says which ones it
// applied, with version and name, or that the schema was already up to date.
func TestConcurrentMigratorsLogWhatEachApplied(t *testing.T) {
	t.Parallel()
	latest := store.LatestVersion()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fresh := storetest.Fresh(t, d)
			url, err := fresh.URL()
			if d == store.SQLite {
				files, ferr := fresh.SQLiteFiles(ctx)
				require.NoError(t, ferr)
				url, err = "sqlite:"+files[0], nil
			}
			require.NoError(t, err)

			const n = 3
			logs := make([]*logtest.Capture, n)
			applied := make([][]string, n)
			errs := make([]error, n)
			stores := make([]*store.Store, n)
			for i := range stores {
				logs[i] = logtest.New()
				stores[i], err = store.Open(ctx, store.Config{URL: url, Logger: logs[i].Logger(fmt.Sprintf("migrator-%d", i))})
				require.NoError(t, err)
				defer stores[i].Close()
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range stores {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					applied[i], errs[i] = stores[i].Migrate(ctx, -1)
				}(i)
			}
			close(start)
			wg.Wait()

			byVersion := map[int]int{} // version -> migrator that logged it
			for i := range stores {
				require.NoError(t, errs[i], "migrator %d", i)
				var logged []string
				final := ""
				for _, line := range logs[i].Lines() {
					var e struct {
						Msg       string `json:"msg"`
						Level     string `json:"level"`
						Version   int    `json:"version"`
						Name      string `json:"name"`
						Direction string `json:"direction"`
						Migrator  string `json:"migrator"`
					}
					require.NoError(t, json.Unmarshal([]byte(line), &e), line)
					switch {
					case e.Msg == "migration applied" && e.Version == 0:
						// One of River's migrations (named "river NNN_name (up)"), which migrator
						// applies them first takes River's lock.
						require.True(t, strings.HasPrefix(e.Name, "river "), line)
						logged = append(logged, e.Name)
					case strings.HasPrefix(e.Msg, "adopted "):
						// Migration 0011's report of the jobs it moved to River, after its line.
						require.Equal(t, 11, e.Version, line)
						logged = append(logged, e.Msg)
					case e.Msg == "migration applied":
						require.Equal(t, "INFO", e.Level)
						require.Equal(t, "up", e.Direction)
						require.NotEmpty(t, e.Name)
						require.NotEmpty(t, e.Migrator)
						prev, dup := byVersion[e.Version]
						require.False(t, dup, "version %d applied by migrators %d and %d", e.Version, prev, i)
						byVersion[e.Version] = i
						logged = append(logged, fmt.Sprintf("%04d_%s (up)", e.Version, e.Name))
					case e.Msg == "schema already up to date" || e.Msg == "schema migrated":
						require.Equal(t, latest, e.Version)
						final = e.Msg
					}
				}
				require.Equal(t, applied[i], append([]string(nil), logged...), "migrator %d logs exactly what it applied", i)
				if len(logged) == 0 {
					require.Equal(t, "schema already up to date", final, "migrator %d", i)
				} else {
					require.Equal(t, "schema migrated", final, "migrator %d", i)
				}
				t.Logf("migrator %d applied %d migrations", i, len(logged))
			}
			require.Len(t, byVersion, latest, "every migration applied exactly once")
			v, err := fresh.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, latest, v)
		})
	}
}

// A database the previous runner migrated (its schema_migrations table, at any version) is
// upgraded in place by the next migrate, with nothing done by hand: its data stays, goose's
// table takes the versions it had (with when they were applied), the old table goes, and the
// migrations it lacked are applied. Until then the services see its version as it is.
func TestMigrateUpgradesADatabaseOfThePreviousRunner(t *testing.T) {
	t.Parallel()
	latest := store.LatestVersion()
	for _, d := range storetest.Dialects() {
		for _, from := range []int{4, latest} {
			t.Run(fmt.Sprintf("%s/from%d", d, from), func(t *testing.T) {
				s := previousRunnersDatabase(t, d, from)
				all, err := store.Migrations()
				require.NoError(t, err)

				v, err := s.SchemaVersion(ctx)
				require.NoError(t, err)
				require.Equal(t, from, v, "the old table's version is the schema's until migrate converts it")
				err = s.CheckSchema(ctx)
				if from < latest {
					var se *store.SchemaError
					require.ErrorAs(t, err, &se)
					require.Equal(t, "SCHEMA_BEHIND", se.Code())
					require.Equal(t, from, se.Have)
				} else {
					require.NoError(t, err, "a database at the latest version needs no migrate to serve")
				}

				log := logtest.New()
				url := storeURL(t, s)
				m, err := store.Open(ctx, store.Config{URL: url, Logger: log.Logger("migrator")})
				require.NoError(t, err)
				defer m.Close()
				applied, err := m.Migrate(ctx, -1)
				require.NoError(t, err)
				var want []string
				for _, mig := range all[from:] {
					want = append(want, fmt.Sprintf("%04d_%s (up)", mig.Version, mig.Name))
				}
				require.Equal(t, want, ours(applied), "only what the old runner had not applied")
				require.Contains(t, strings.Join(log.Lines(), "\n"), `"msg":"version table converted to goose's"`)

				v, err = s.SchemaVersion(ctx)
				require.NoError(t, err)
				require.Equal(t, latest, v)
				require.NoError(t, s.CheckSchema(ctx))
				tables, err := s.Tables(ctx)
				require.NoError(t, err)
				require.NotContains(t, tables, "schema_migrations")
				org, err := s.GetOrganization(ctx, "org_legacy")
				require.NoError(t, err)
				require.Equal(t, "Legacy Ltd", org.Name, "the data survived")
				history, err := s.DumpTable(ctx, "goose_db_version")
				require.NoError(t, err)
				require.Len(t, history, latest+1, "version 0 and one row per migration")
				require.Contains(t, strings.Join(history, "\n"), fmt.Sprintf("2025-03-%02d 10:00:00", from), "applied when the old runner applied it")

				applied, err = m.Migrate(ctx, -1)
				require.NoError(t, err)
				require.Empty(t, applied)
				_, err = m.Migrate(ctx, 0)
				require.NoError(t, err, "and it migrates down as far as any")
				_, err = m.Migrate(ctx, -1)
				require.NoError(t, err)
			})
		}
	}
}

// previousRunnersDatabase is a new database as the previous runner left it at version from:
// the schema by the migration files, its schema_migrations table (no goose table), and an
// organisation, org_legacy.
func previousRunnersDatabase(t *testing.T, d store.Dialect, from int) *store.Store {
	t.Helper()
	s := storetest.Fresh(t, d)
	_, err := s.Migrate(ctx, from)
	require.NoError(t, err)
	all, err := store.Migrations()
	require.NoError(t, err)
	require.NoError(t, s.ExecAdmin(ctx, `DROP TABLE goose_db_version`))
	require.NoError(t, s.ExecAdmin(ctx, `CREATE TABLE schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`))
	for _, m := range all[:from] {
		require.NoError(t, s.ExecAdmin(ctx, fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, '%s', '2025-03-%02d 10:00:00')`, m.Version, m.Name, m.Version)))
	}
	require.NoError(t, s.ExecAdmin(ctx, `INSERT INTO organizations (id, name, data_key, created_at, updated_at)
 VALUES ('org_legacy', 'Legacy Ltd', 'k', '2025-03-01 10:00:00', '2025-03-01 10:00:00')`))
	return s
}

// Three migrators at once on a database of the previous runner: one converts its version
// table, under the lock, and every missing migration is applied once.
func TestConcurrentMigratorsConvertAPreviousRunnersDatabaseOnce(t *testing.T) {
	t.Parallel()
	latest := store.LatestVersion()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := previousRunnersDatabase(t, d, 4)
			url := storeURL(t, s)
			const n = 3
			logs := make([]*logtest.Capture, n)
			applied := make([][]string, n)
			errs := make([]error, n)
			stores := make([]*store.Store, n)
			for i := range stores {
				logs[i] = logtest.New()
				var err error
				stores[i], err = store.Open(ctx, store.Config{URL: url, Logger: logs[i].Logger(fmt.Sprintf("migrator-%d", i))})
				require.NoError(t, err)
				defer stores[i].Close()
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range stores {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					applied[i], errs[i] = stores[i].Migrate(ctx, -1)
				}(i)
			}
			close(start)
			wg.Wait()
			converted := 0
			var all []string
			for i := range stores {
				require.NoError(t, errs[i], "migrator %d", i)
				converted += strings.Count(strings.Join(logs[i].Lines(), "\n"), `"msg":"version table converted to goose's"`)
				all = append(all, ours(applied[i])...)
			}
			require.Equal(t, 1, converted, "one migrator converts the version table")
			require.Len(t, all, latest-4, "5 to the latest, each applied once: %v", all)
			v, err := s.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, latest, v)
			org, err := s.GetOrganization(ctx, "org_legacy")
			require.NoError(t, err)
			require.Equal(t, "Legacy Ltd", org.Name)
		})
	}
}

func storeURL(t *testing.T, s *store.Store) string {
	t.Helper()
	if s.Dialect() == store.SQLite {
		files, err := s.SQLiteFiles(ctx)
		require.NoError(t, err)
		return "sqlite:" + files[0]
	}
	url, err := s.URL()
	require.NoError(t, err)
	return url
}

// Statements are goose's to split: a function or trigger body, whose lines end in semicolons,
// stays whole between StatementBegin and StatementEnd (the previous runner cut a statement at
// every line ending in one), and so does a line with several semicolons in a string.
func TestMigrationsKeepStatementBodiesWhole(t *testing.T) {
	t.Parallel()
	files := map[store.Dialect]string{
		store.Postgres: `-- +goose Up
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, words INTEGER NOT NULL DEFAULT 0);
-- +goose StatementBegin
CREATE FUNCTION notes_count_words() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n INTEGER;
BEGIN
    n := array_length(regexp_split_to_array(trim(NEW.body), '\s+'), 1);
    NEW.words := n;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER notes_words BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION notes_count_words();
INSERT INTO notes (id, body) VALUES (1, 'one; two; three;');

-- +goose Down
DROP TABLE notes;
DROP FUNCTION notes_count_words();
`,
		store.SQLite: `-- +goose Up
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, words INTEGER NOT NULL DEFAULT 0);
-- +goose StatementBegin
CREATE TRIGGER notes_words AFTER INSERT ON notes
BEGIN
    UPDATE notes SET words = 0 WHERE id = NEW.id;
    UPDATE notes SET words = length(trim(NEW.body)) - length(replace(trim(NEW.body), ' ', '')) + 1 WHERE id = NEW.id;
END;
-- +goose StatementEnd
INSERT INTO notes (id, body) VALUES (1, 'one; two; three;');

-- +goose Down
DROP TRIGGER notes_words;
DROP TABLE notes;
`,
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			fsys := fstest.MapFS{"0001_notes.sql": {Data: []byte(files[d])}}
			applied, err := s.MigrateFS(ctx, fsys, 1)
			require.NoError(t, err)
			require.Equal(t, []string{"0001_notes (up)"}, applied)
			require.NoError(t, s.ExecAdmin(ctx, `INSERT INTO notes (id, body) VALUES (2, 'four five')`))
			rows, err := s.DumpTable(ctx, "notes")
			require.NoError(t, err)
			require.Len(t, rows, 2)
			joined := strings.Join(rows, "\n")
			require.Contains(t, joined, "one; two; three;", "the string with its semicolons, whole")
			for _, row := range rows {
				words := "2"
				if strings.Contains(row, "one;") {
					words = "3"
				}
				require.Regexp(t, `\D`+words+`\)?$`, row, "the body ran, and counted the words")
			}
			applied, err = s.MigrateFS(ctx, fsys, 0)
			require.NoError(t, err)
			require.Equal(t, []string{"0001_notes (down)"}, applied)
			tables, err := s.Tables(ctx)
			require.NoError(t, err)
			require.NotContains(t, tables, "notes")
		})
	}
}
