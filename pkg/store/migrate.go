package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/riverqueue/river/rivermigrate"

	"paygate.dev/migrations"
)

// Migration is one numbered schema change with its reverse.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

var migrationRE = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$`)

// Migrations lists the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		m := migrationRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(migrations.FS, e.Name())
		if err != nil {
			return nil, err
		}
		mig := byVersion[v]
		if mig == nil {
			mig = &Migration{Version: v, Name: m[2]}
			byVersion[v] = mig
		}
		if m[3] == "up" {
			mig.Up = string(body)
		} else {
			mig.Down = string(body)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("migration %04d_%s needs both an up and a down file", m.Version, m.Name)
		}
		out = append(out, *m)
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

const createVersionTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMP NOT NULL
)`

// SchemaVersion returns the version the database is at (0 for an empty database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var exists bool
	if s.dialect == Postgres {
		if err := s.q(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations')`).Scan(&exists).Error; err != nil {
			return 0, translate(err, "schema")
		}
	} else {
		var n int
		if err := s.q(ctx).Raw(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n).Error; err != nil {
			return 0, translate(err, "schema")
		}
		exists = n > 0
	}
	if !exists {
		return 0, nil
	}
	var v *int
	if err := s.q(ctx).Raw(`SELECT max(version) FROM schema_migrations`).Scan(&v).Error; err != nil {
		return 0, translate(err, "schema")
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
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
// River's own migrations first (under the same lock), and this migration's transaction adopts
// the queued rows of the jobs table as River jobs before it drops the table.
const riverSince = 11

// Migrate applies (up) or reverts (down) migrations until the schema is at target.
// target < 0 means the latest version. Each migration runs in its own transaction, and on
// PostgreSQL an advisory lock keeps two processes from migrating at once (on SQLite, the
// transaction's write lock does).
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
	for {
		var step string
		var stepped Migration
		var up bool
		var extra []string
		done := false
		err := s.InTx(ctx, func(tx *Store) error {
			if tx.dialect == Postgres {
				// Serialise migrators; the lock ends with the transaction.
				if err := tx.db.Exec(`SELECT pg_advisory_xact_lock(72707369)`).Error; err != nil {
					return fmt.Errorf("take migration lock: %w", err)
				}
			}
			if err := tx.db.Exec(createVersionTable).Error; err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			current, err := tx.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if current == target {
				done = true
				return nil
			}
			up = current < target
			var m Migration
			var sql string
			if up {
				m, sql = all[current], all[current].Up
			} else {
				m, sql = all[current-1], all[current-1].Down
			}
			var legacy []legacyJob
			if up && m.Version == riverSince {
				if legacy, err = tx.readLegacyJobs(ctx); err != nil {
					return fmt.Errorf("%04d_%s: %w", m.Version, m.Name, err)
				}
			}
			for _, stmt := range splitStatements(sql) {
				if err := tx.db.Exec(stmt).Error; err != nil {
					return fmt.Errorf("%04d_%s: %w\n%s", m.Version, m.Name, err, stmt)
				}
			}
			stepped = m
			if up && m.Version == riverSince {
				n, err := tx.adoptLegacyJobs(ctx, legacy)
				if err != nil {
					return fmt.Errorf("%04d_%s: %w", m.Version, m.Name, err)
				}
				extra = append(extra, fmt.Sprintf("adopted %d queued jobs of the jobs table as River jobs", n))
			}
			if up {
				step = fmt.Sprintf("%04d_%s (up)", m.Version, m.Name)
				return tx.db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, Now()).Error
			}
			step = fmt.Sprintf("%04d_%s (down)", m.Version, m.Name)
			return tx.db.Exec(`DELETE FROM schema_migrations WHERE version = ?`, m.Version).Error
		})
		if err != nil {
			return applied, err
		}
		if done {
			if len(applied) == 0 {
				s.log.InfoContext(ctx, "schema already up to date", "version", target, "migrator", migrator)
			} else {
				s.log.InfoContext(ctx, "schema migrated", "version", target, "applied", len(applied), "migrator", migrator)
			}
			return applied, nil
		}
		direction := "down"
		if up {
			direction = "up"
		}
		s.log.InfoContext(ctx, "migration applied", "version", stepped.Version, "name", stepped.Name, "direction", direction, "migrator", migrator)
		for _, e := range extra {
			s.log.InfoContext(ctx, e, "version", stepped.Version, "migrator", migrator)
		}
		applied = append(applied, step)
		applied = append(applied, extra...)
	}
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
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(72707369)`); err != nil {
			return nil, fmt.Errorf("take migration lock: %w", err)
		}
		defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(72707369)`) }()
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
			res, terr = m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil)
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

// splitStatements cuts a migration file into statements at semicolons that end a line,
// dropping comment-only lines. Migrations keep one statement per semicolon-terminated block.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

// Tables lists the user tables of the database, sorted (to compare schemas across databases).
func (s *Store) Tables(ctx context.Context) ([]string, error) {
	var names []string
	var err error
	if s.dialect == Postgres {
		err = s.q(ctx).Raw(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`).Scan(&names).Error
	} else {
		err = s.q(ctx).Raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).Scan(&names).Error
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
