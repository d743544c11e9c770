package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"

	"paygate.dev/migrations"
)

// Schema migrations are goose's (github.com/pressly/goose/v3): the files of package migrations,
// NNNN_name.sql with an Up and a Down section, applied by a goose Provider on the embedded
// files, each in its own transaction, the same files on both databases. goose parses the
// files (a function or trigger body between StatementBegin and StatementEnd keeps its
// semicolons) and records the applied versions in goose_db_version.

// Migration is one numbered schema change (a file of package migrations).
type Migration struct {
	Version int
	Name    string
}

// versionTable is goose's table of applied versions; legacyVersionTable the one this package
// kept before goose, which Migrate converts (see adoptLegacyVersions).
const (
	versionTable       = goose.DefaultTablename
	legacyVersionTable = "schema_migrations"
)

// migrationLockID is the PostgreSQL advisory lock that serialises migrators: goose's session
// lock, the conversion of the old version table and River's migrations. It is the id the
// previous runner used, so an older build's migrator and this one wait for each other too.
const migrationLockID = 72707369

var migrationRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	return listMigrations(migrations.FS)
}

func listMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range entries {
		m := migrationRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, Migration{Version: v, Name: m[2]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations must be numbered 0001, 0002, ... without gaps; found %04d", m.Version)
		}
	}
	return out, nil
}

// LatestVersion is the newest embedded migration.
func LatestVersion() int {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// tableExists reports whether the database has a table of ours by that name.
func (s *Store) tableExists(ctx context.Context, name string) (bool, error) {
	var n int
	var err error
	if s.dialect == Postgres {
		err = s.q(ctx).Raw(`SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`, name).Scan(&n).Error
	} else {
		err = s.q(ctx).Raw(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n).Error
	}
	return n > 0, translate(err, "schema")
}

// SchemaVersion returns the version the database is at (0 for an empty database): the
// highest version in goose's table, or, in a database the previous runner migrated and no
// migrate of this build has converted yet, in its schema_migrations table.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	for _, t := range []struct{ table, column string }{{versionTable, "version_id"}, {legacyVersionTable, "version"}} {
		exists, err := s.tableExists(ctx, t.table)
		if err != nil {
			return 0, err
		}
		if !exists {
			continue
		}
		var v *int
		if err := s.q(ctx).Raw(`SELECT max(` + t.column + `) FROM ` + t.table).Scan(&v).Error; err != nil {
			return 0, translate(err, "schema")
		}
		if v == nil {
			return 0, nil
		}
		return *v, nil
	}
	return 0, nil
}

// CheckSchema returns an error naming the fix when the database is behind (or ahead of) this binary.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if latest := LatestVersion(); v != latest {
		return &SchemaError{Have: v, Want: latest}
	}
	if v >= riverSince {
		return s.checkRiverSchema(ctx)
	}
	return nil
}

// SchemaError says the database schema is not the version this build needs.
type SchemaError struct {
	Have, Want int
}

func (e *SchemaError) Error() string {
	if e.Have < e.Want {
		return fmt.Sprintf("database schema is at version %d but this build needs %d: run `make migrate` (or the service's `migrate` command) first", e.Have, e.Want)
	}
	return fmt.Sprintf("database schema is at version %d, newer than this build (%d): deploy the newer build", e.Have, e.Want)
}

// Code is the error's stable code: SCHEMA_BEHIND or SCHEMA_AHEAD.
func (e *SchemaError) Code() string {
	if e.Have < e.Want {
		return "SCHEMA_BEHIND"
	}
	return "SCHEMA_AHEAD"
}

// riverSince is the migration that moves background work to River: from it on, Migrate applies
// River's own migrations first, and this migration's transaction adopts the queued rows of the
// jobs table as River jobs before it drops the table (a goose Go migration: riverMigration).
const riverSince = 11

// searchSince is the migration of the search indexes, the first whose parts differ by database
// (from it on, such migrations are goose Go migrations: dialectMigration).
const searchSince = 13

// Migrate applies (up) or reverts (down) migrations until the schema is at target.
// target < 0 means the latest version. goose runs each migration in its own transaction; on
// PostgreSQL goose's session advisory lock keeps two migrators from running at once, on SQLite
// a lock on a file beside the database's does (see lockSQLiteMigrations).
//
// A database the previous runner migrated (its schema_migrations table) is converted first,
// under the same lock: goose's table gets the versions it had, and schema_migrations goes.
//
// Several migrators may run at once (replicas that each run `migrate` when they start): each
// migration is applied by exactly one of them, and each logs, at INFO on the store's logger,
// every migration it applied itself ("migration applied", with version, name and direction),
// then either "schema already up to date" or "schema migrated", with the version, and says
// which migrator it is (host and process id).
func (s *Store) Migrate(ctx context.Context, target int) (applied []string, err error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	if target < 0 {
		target = len(all)
	}
	if target > len(all) {
		return nil, fmt.Errorf("no migration %d (latest is %d)", target, len(all))
	}
	migrator := migratorID()
	if target >= riverSince {
		// River's tables first: migration riverSince moves the jobs table's work into them.
		if applied, err = s.migrateRiver(ctx); err != nil {
			return applied, err
		}
		for _, step := range applied {
			s.log.InfoContext(ctx, "migration applied", "name", step, "direction", "up", "migrator", migrator)
		}
	}
	reports := map[int64][]string{}
	river, err := s.riverMigration(all[riverSince-1], reports)
	if err != nil {
		return applied, err
	}
	types, err := s.providerTypesMigration(all[providerTypesSince-1])
	if err != nil {
		return applied, err
	}
	goMigrations := []*goose.Migration{river, types}
	for _, m := range all[searchSince-1:] {
		dm, err := s.dialectMigration(m)
		if err != nil {
			return applied, err
		}
		if dm != nil {
			goMigrations = append(goMigrations, dm)
		}
	}
	return s.migrateFS(ctx, migrations.FS, target, migrator, applied, goMigrations, reports)
}

// migrateFS runs goose on fsys (plus the Go migrations, which replace the files of their
// versions) until the schema is at target, and logs what it applied after what Migrate applied
// before (River's migrations). reports holds, by version, lines a Go migration has to add to
// its own (filled in as it runs).
func (s *Store) migrateFS(ctx context.Context, fsys fs.FS, target int, migrator string, applied []string, goMigrations []*goose.Migration, reports map[int64][]string) ([]string, error) {
	all, err := listMigrations(fsys)
	if err != nil {
		return applied, err
	}
	names := map[int64]string{}
	for _, m := range all {
		names[int64(m.Version)] = m.Name
	}
	if s.dialect == SQLite {
		unlock, err := s.lockSQLiteMigrations(ctx)
		if err != nil {
			return applied, fmt.Errorf("take migration lock: %w", err)
		}
		defer unlock()
	}
	if err := s.adoptLegacyVersions(ctx, migrator); err != nil {
		return applied, err
	}
	db, err := s.SQLDB()
	if err != nil {
		return applied, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(goMigrations...)}
	var replaced []int64
	for _, m := range goMigrations {
		replaced = append(replaced, m.Version)
	}
	if len(replaced) > 0 {
		opts = append(opts, goose.WithExcludeVersions(replaced))
	}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Polled every second (goose's session locker tries pg_try_advisory_lock), for up to
		// 15 minutes: a migrator waits for another one's migrations, however long they take.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 900))
		if err != nil {
			return applied, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	} else {
		// goose runs on the writer's connection: this process's other writes wait for their
		// turn (bounded by the busy timeout) rather than for the connection.
		if err := s.writer.acquire(ctx); err != nil {
			return applied, fmt.Errorf("take migration lock: %w", err)
		}
		defer s.writer.release()
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return applied, err
	}
	var results []*goose.MigrationResult
	if target > 0 {
		results, err = p.UpTo(ctx, int64(target))
	}
	if err == nil && len(results) == 0 {
		results, err = p.DownTo(ctx, int64(target))
	}
	return s.logMigrations(ctx, results, err, target, migrator, names, applied, reports)
}

// logMigrations logs and lists the migrations goose applied (those before a failure too, and
// the lines their Go migrations reported), then the outcome.
func (s *Store) logMigrations(ctx context.Context, results []*goose.MigrationResult, err error, target int, migrator string,
	names map[int64]string, applied []string, reports map[int64][]string) ([]string, error) {
	var partial *goose.PartialError
	if errors.As(err, &partial) {
		results = partial.Applied
		v := partial.Failed.Source.Version
		err = fmt.Errorf("%04d_%s (%s): %w", v, names[v], partial.Failed.Direction, partial.Err)
	}
	for _, r := range results {
		v := r.Source.Version
		s.log.InfoContext(ctx, "migration applied", "version", v, "name", names[v], "direction", r.Direction, "migrator", migrator)
		applied = append(applied, fmt.Sprintf("%04d_%s (%s)", v, names[v], r.Direction))
		if r.Direction == "up" {
			for _, line := range reports[v] {
				s.log.InfoContext(ctx, line, "version", v, "migrator", migrator)
				applied = append(applied, line)
			}
		}
	}
	if err != nil {
		return applied, err
	}
	if len(applied) == 0 {
		s.log.InfoContext(ctx, "schema already up to date", "version", target, "migrator", migrator)
	} else {
		s.log.InfoContext(ctx, "schema migrated", "version", target, "applied", len(applied), "migrator", migrator)
	}
	return applied, nil
}

// adoptLegacyVersions creates goose's version table the first time, under the migration lock,
// and fills it from the previous runner's schema_migrations table when there is one (each
// version with the time it was applied), which it then drops: a database migrated by an older
// build upgrades in place, in one transaction, with nothing to do by hand. Creating the table
// here, under the lock, also spares goose its unlocked, retried creation by concurrent
// migrators.
func (s *Store) adoptLegacyVersions(ctx context.Context, migrator string) error {
	gs, err := database.NewStore(gooseDialect(s.dialect), versionTable)
	if err != nil {
		return err
	}
	return s.InTx(ctx, func(tx *Store) error {
		if tx.dialect == Postgres {
			// The lock goose takes for its session; this one ends with the transaction.
			if err := tx.db.Exec(`SELECT pg_advisory_xact_lock(?)`, migrationLockID).Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		if exists, err := tx.tableExists(ctx, versionTable); err != nil || exists {
			return err
		}
		sqlTx, err := tx.sqlTx()
		if err != nil {
			return err
		}
		if err := gs.CreateVersionTable(ctx, sqlTx); err != nil {
			return fmt.Errorf("create %s: %w", versionTable, err)
		}
		if err := gs.Insert(ctx, sqlTx, database.InsertRequest{Version: 0}); err != nil {
			return fmt.Errorf("create %s: %w", versionTable, err)
		}
		legacy, err := tx.tableExists(ctx, legacyVersionTable)
		if err != nil || !legacy {
			return err
		}
		var rows []struct {
			Version   int64
			AppliedAt sql.NullTime
		}
		if err := tx.q(ctx).Raw(`SELECT version, applied_at FROM ` + legacyVersionTable + ` ORDER BY version`).Scan(&rows).Error; err != nil {
			return fmt.Errorf("read %s: %w", legacyVersionTable, err)
		}
		for _, r := range rows {
			at := Now()
			if r.AppliedAt.Valid {
				at = UTC(r.AppliedAt.Time)
			}
			if err := tx.db.Exec(`INSERT INTO `+versionTable+` (version_id, is_applied, tstamp) VALUES (?, ?, ?)`, r.Version, true, at).Error; err != nil {
				return fmt.Errorf("copy %s: %w", legacyVersionTable, err)
			}
		}
		if err := tx.db.Exec(`DROP TABLE ` + legacyVersionTable).Error; err != nil {
			return fmt.Errorf("drop %s: %w", legacyVersionTable, err)
		}
		version := int64(0)
		if len(rows) > 0 {
			version = rows[len(rows)-1].Version
		}
		s.log.InfoContext(ctx, "version table converted to goose's", "from", legacyVersionTable, "to", versionTable, "version", version, "migrator", migrator)
		return nil
	})
}

func gooseDialect(d Dialect) database.Dialect {
	if d == Postgres {
		return database.DialectPostgres
	}
	return database.DialectSQLite3
}

// sqlTx is the *sql.Tx of a store bound to a transaction.
func (s *Store) sqlTx() (*sql.Tx, error) {
	tx, ok := s.db.Statement.ConnPool.(*sql.Tx)
	if !ok || !s.inTx {
		return nil, fmt.Errorf("not in a transaction (%T)", s.db.Statement.ConnPool)
	}
	return tx, nil
}

// onTx is the store bound to a transaction someone else began (goose, for a Go migration).
func (s *Store) onTx(ctx context.Context, tx *sql.Tx) *Store {
	gtx := s.db.Session(&gorm.Session{Context: context.WithoutCancel(ctx), NewDB: true})
	gtx.Statement.ConnPool = tx
	return &Store{db: gtx, dialect: s.dialect, dsn: s.dsn, inTx: true, log: s.log, pools: s.pools, detached: true}
}

// riverMigration is migration riverSince as a goose Go migration. Up, in goose's transaction:
// read the queued rows of the jobs table, run the file's Up section (which drops the table),
// adopt the rows as River jobs, and report how many (in reports). Down runs the Down section.
// An error anywhere (an unknown kind of job) rolls the whole migration back.
func (s *Store) riverMigration(m Migration, reports map[int64][]string) (*goose.Migration, error) {
	file := fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)
	body, err := fs.ReadFile(migrations.FS, file)
	if err != nil {
		return nil, err
	}
	up, down, err := gooseSections(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return goose.NewGoMigration(int64(m.Version),
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			st := s.onTx(ctx, tx)
			legacy, err := st.readLegacyJobs(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, up); err != nil {
				return err
			}
			n, err := st.adoptLegacyJobs(ctx, legacy)
			if err != nil {
				return err
			}
			reports[int64(m.Version)] = []string{fmt.Sprintf("adopted %d queued jobs of the jobs table as River jobs", n)}
			return nil
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, down)
			return err
		}},
	), nil
}

// providerTypesSince is the migration that drops the CHECK listing the built-in provider types.
const providerTypesSince = 12

// providersTypeCheck is the CHECK on providers.type as 0001_init.sql wrote it, which is how
// SQLite keeps it in the table's definition.
const providersTypeCheck = ` CHECK (type IN ('stripe', 'gocardless', 'wire_transfer'))`

// providerTypesMigration is migration providerTypesSince as a goose Go migration: PostgreSQL
// runs the file's sections; SQLite, which cannot drop a constraint, edits the table's
// definition by its documented procedure for removing (and here, on the way down, restoring)
// a CHECK: writable_schema, the definition rewritten, schema_version moved on so every
// connection reloads it, then an integrity check — all in goose's transaction.
func (s *Store) providerTypesMigration(m Migration) (*goose.Migration, error) {
	file := fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)
	body, err := fs.ReadFile(migrations.FS, file)
	if err != nil {
		return nil, err
	}
	up, down, err := gooseSections(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	run := func(section, from, to string) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			if s.dialect == Postgres {
				_, err := tx.ExecContext(ctx, section)
				return err
			}
			return rewriteSQLiteTable(ctx, tx, "providers", from, to)
		}
	}
	const column = "type             TEXT NOT NULL"
	return goose.NewGoMigration(int64(m.Version),
		&goose.GoFunc{RunTx: run(up, column+providersTypeCheck, column)},
		&goose.GoFunc{RunTx: run(down, column+",", column+providersTypeCheck+",")},
	), nil
}

// rewriteSQLiteTable replaces from by to in table's definition (once; it must be there), by
// SQLite's procedure for changes that leave the stored rows as they are.
func rewriteSQLiteTable(ctx context.Context, tx *sql.Tx, table, from, to string) error {
	var def string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&def); err != nil {
		return fmt.Errorf("read %s's definition: %w", table, err)
	}
	if strings.Count(def, from) != 1 {
		return fmt.Errorf("%s's definition does not hold %q once: it was changed by hand", table, from)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&version); err != nil {
		return err
	}
	for _, stmt := range []string{
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?`,
		fmt.Sprintf(`PRAGMA schema_version = %d`, version+1),
		`PRAGMA writable_schema = OFF`,
	} {
		var args []any
		if strings.HasPrefix(stmt, "UPDATE") {
			args = []any{strings.Replace(def, from, to, 1), table}
		}
		if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
			return fmt.Errorf("rewrite %s's definition: %w", table, err)
		}
	}
	var check string
	if err := tx.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil {
		return fmt.Errorf("integrity check after rewriting %s: %w", table, err)
	}
	if check != "ok" {
		return fmt.Errorf("integrity check after rewriting %s: %s", table, check)
	}
	return nil
}

// dialectMigration is migration m as a goose Go migration when its file has parts for one
// database only (a `-- +dialect` line; the first was searchSince's): each section runs the
// parts of the file marked for this database (dialectParts), in goose's transaction. nil for a
// migration without such parts (goose runs its file).
func (s *Store) dialectMigration(m Migration) (*goose.Migration, error) {
	file := fmt.Sprintf("%04d_%s.sql", m.Version, m.Name)
	body, err := fs.ReadFile(migrations.FS, file)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(string(body), "\n-- +dialect ") {
		return nil, nil
	}
	up, down, err := gooseSections(string(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if up, err = dialectParts(up, s.dialect); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if down, err = dialectParts(down, s.dialect); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	run := func(sqlText string) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, sqlText)
			return err
		}
	}
	return goose.NewGoMigration(int64(m.Version), &goose.GoFunc{RunTx: run(up)}, &goose.GoFunc{RunTx: run(down)}), nil
}

// dialectParts keeps the parts of a section meant for dialect d: a line `-- +dialect all`,
// `-- +dialect postgres` or `-- +dialect sqlite` begins a part. Text before the first such
// line is for both databases.
func dialectParts(section string, d Dialect) (string, error) {
	var b strings.Builder
	keep := true
	for _, line := range strings.SplitAfter(section, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "-- +dialect "); ok {
			switch name {
			case "all":
				keep = true
			case "postgres":
				keep = d == Postgres
			case "sqlite":
				keep = d == SQLite
			default:
				return "", fmt.Errorf("unknown dialect %q", name)
			}
			continue
		}
		if keep {
			b.WriteString(line)
		}
	}
	return b.String(), nil
}

// gooseSections returns the Up and Down sections of a goose SQL file, each whole: a Go
// migration runs a section in one call, and the database splits it into statements
// (PostgreSQL's simple query protocol, SQLite's exec) — nothing here does.
func gooseSections(body string) (up, down string, err error) {
	_, rest, ok := strings.Cut(body, "-- +goose Up\n")
	if !ok {
		return "", "", errors.New("no -- +goose Up")
	}
	up, down, ok = strings.Cut(rest, "-- +goose Down\n")
	if !ok {
		return "", "", errors.New("no -- +goose Down")
	}
	return up, down, nil
}

// migratorID names this process in the migration log lines: host name (in a container, its
// id) and process id.
func migratorID() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// migrateRiver applies River's migrations (those a newer River version brought, the first
// time all of them) under the migration lock. On PostgreSQL each runs in its own transaction —
// River's migrations add enum values that a later statement uses, which PostgreSQL refuses in
// the transaction that added them — so the lock is a session lock on a connection of its own.
func (s *Store) migrateRiver(ctx context.Context) ([]string, error) {
	db, err := s.SQLDB()
	if err != nil {
		return nil, err
	}
	if s.dialect == Postgres {
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLockID)); err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		defer func() {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLockID))
		}()
	}
	m, err := rivermigrate.New(riverDriver(s.dialect, db), &rivermigrate.Config{Logger: quiet()})
	if err != nil {
		return nil, err
	}
	var res *rivermigrate.MigrateResult
	if s.dialect == Postgres {
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	} else {
		// On SQLite all of them run in one write transaction (BEGIN IMMEDIATE): another
		// process's migrator waits for it, then finds River's schema current.
		err = s.SQLTx(ctx, func(tx *sql.Tx) error {
			var terr error
			res, terr = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil) //nolint:staticcheck // deliberate: one write transaction serialises SQLite migrators; River's SQLite migrations batch fine
			return terr
		})
	}
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river %03d_%s (up)", v.Version, strings.ReplaceAll(v.Name, " ", "_")))
	}
	return applied, nil
}

// Tables lists the user tables of the database, sorted (to compare schemas across databases),
// without SQLite's virtual tables and their shadow tables.
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	var names []string
	var err error
	if s.dialect == Postgres {
		err = s.q(ctx).Raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&names).Error
	} else {
		// Ordinary tables only: SQLite's full-text search tables (and their shadow tables) are
		// its search indexes (migration 0013), PostgreSQL's are GIN indexes.
		err = s.q(ctx).Raw(`SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).Scan(&names).Error
	}
	return names, translate(err, "tables")
}

// Columns lists a table's columns in order, lower-case.
func (s *Store) Columns(ctx context.Context, table string) ([]string, error) {
	var names []string
	var err error
	if s.dialect == Postgres {
		err = s.q(ctx).Raw(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table).Scan(&names).Error
	} else {
		err = s.q(ctx).Raw(`SELECT name FROM pragma_table_info(?) ORDER BY cid`, table).Scan(&names).Error
	}
	return names, translate(err, "columns")
}
