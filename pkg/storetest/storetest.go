// Package storetest gives tests real databases: a migrated SQLite file and a freshly created
// PostgreSQL database per test package, dropped when the package's tests end.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
//
// then `storetest.Each(t, func(t *testing.T, s *store.Store) {...})` runs a test once per
// database. PostgreSQL comes from TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
// postgres?sslmode=disable). When it is unreachable the PostgreSQL half is skipped, except under
// CI=true, where it fails: CI must never pass without having tested PostgreSQL.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"paygate.dev/pkg/store"
)

// DefaultPostgresURL is the server tests use when TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	mu        sync.Mutex
	shared    = map[store.Dialect]*store.Store{}
	sharedErr = map[store.Dialect]error{}
	cleanups  []func()
	tmpDir    string
	mainRan   bool
)

// Main runs the package's tests and then drops the databases they created.
func Main(m *testing.M) {
	mainRan = true
	code := m.Run()
	mu.Lock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	mu.Unlock()
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// InCI reports whether tests run in CI, where missing services are failures.
func InCI() bool { return os.Getenv("CI") == "true" }

// Dialects lists the databases tests run against: TEST_DATABASES ("sqlite,postgres" by default).
func Dialects() []store.Dialect {
	v := os.Getenv("TEST_DATABASES")
	if v == "" {
		return []store.Dialect{store.SQLite, store.Postgres}
	}
	var out []store.Dialect
	for _, d := range strings.Split(v, ",") {
		out = append(out, store.Dialect(strings.TrimSpace(d)))
	}
	return out
}

// Each runs fn as a subtest against every database, each with the package's shared migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Shared(t, d))
		})
	}
}

// EachOwn runs fn as a subtest against every database, each with a migrated database of the
// subtest's own. Tests whose services run background workers need it: River's clients on one
// database work each other's jobs, so a test's job would run in another test's backend, with
// that test's provider fakes, merchant and settings (and one slow test's backlog would hold up
// every other test's notifications).
func EachOwn(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Own(t, d))
		})
	}
}

// IsShared reports whether s is the package's shared store (Shared, Each).
func IsShared(s *store.Store) bool {
	mu.Lock()
	defer mu.Unlock()
	for _, sh := range shared {
		if sh == s {
			return true
		}
	}
	return false
}

// Own returns a new, migrated database of dialect d for this test alone.
func Own(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	mu.Lock()
	s, drop, err := create(d, true)
	mu.Unlock()
	if err != nil {
		unavailable(t, d, err)
	}
	t.Cleanup(drop) // at the test's end: a run makes many of these
	return s
}

// Shared returns the package's migrated store for dialect d, creating it on first use.
// Tests sharing it keep apart by creating their own organisations.
func Shared(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	if !mainRan {
		t.Fatal("storetest: call storetest.Main(m) from the package's TestMain")
	}
	mu.Lock()
	defer mu.Unlock()
	if s, ok := shared[d]; ok {
		return s
	}
	if err, ok := sharedErr[d]; ok {
		unavailable(t, d, err)
	}
	s, err := fresh(d, true)
	if err != nil {
		sharedErr[d] = err
		unavailable(t, d, err)
	}
	shared[d] = s
	return s
}

// Fresh returns a new, empty (unmigrated) database of dialect d, dropped at the end of the test.
func Fresh(t testing.TB, d store.Dialect) *store.Store {
	t.Helper()
	mu.Lock()
	s, err := fresh(d, false)
	mu.Unlock()
	if err != nil {
		unavailable(t, d, err)
	}
	return s
}

func unavailable(t testing.TB, d store.Dialect, err error) {
	t.Helper()
	if d == store.Postgres && !InCI() {
		t.Skipf("PostgreSQL unavailable (%v); set TEST_DATABASE_URL. Under CI=true this fails.", err)
	}
	t.Fatalf("%s unavailable: %v", d, err)
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fresh creates a database, dropped with the package's other databases when its tests end;
// callers hold mu.
func fresh(d store.Dialect, migrate bool) (*store.Store, error) {
	s, drop, err := create(d, migrate)
	if err == nil {
		cleanups = append(cleanups, drop)
	}
	return s, err
}

// create creates a database and returns the function that closes and drops it. A migrated
// database is a copy of the package's template (migrated once, on first use) when the package
// runs storetest.Main, which drops the template at the end: copying the schema takes a few
// milliseconds where migrating takes a second or more, and a run creates a hundred of them.
// Callers hold mu.
func create(d store.Dialect, migrate bool) (s *store.Store, drop func(), err error) {
	if migrate && mainRan {
		tmpl, err := template(d)
		if err != nil {
			return nil, nil, err
		}
		s, drop, _, err = open(d, tmpl)
		return s, drop, err
	}
	s, drop, _, err = open(d, "")
	if err != nil || !migrate {
		return s, drop, err
	}
	if err := migrateAll(s, 60*time.Second); err != nil {
		drop()
		return nil, nil, err
	}
	return s, drop, nil
}

func migrateAll(s *store.Store, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := s.Migrate(ctx, -1); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// templates holds the migrated template of each dialect: its file or database name.
var templates = map[store.Dialect]string{}

// template returns the package's migrated template database of dialect d, creating it on first
// use: on SQLite a file (VACUUM INTO writes it whole, without a WAL), on PostgreSQL a database
// no one stays connected to (CREATE DATABASE ... TEMPLATE needs that). A failure is not kept:
// the next test tries again, so one slow moment fails one test, not the package. Callers hold mu.
func template(d store.Dialect) (string, error) {
	if name, ok := templates[d]; ok {
		return name, nil
	}
	name, err := newTemplate(d)
	if err != nil {
		return "", fmt.Errorf("template: %w", err)
	}
	templates[d] = name
	return name, nil
}

func newTemplate(d store.Dialect) (string, error) {
	s, drop, name, err := open(d, "")
	if err != nil {
		return "", err
	}
	// Once per package, and every test waits for it: more time than a single test's migration.
	if err := migrateAll(s, 5*time.Minute); err != nil {
		drop()
		return "", err
	}
	if d == store.SQLite {
		path := filepath.Join(tmpDir, "template-"+randomName()+".db")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := s.ExecAdmin(ctx, "VACUUM INTO '"+path+"'")
		drop()
		for _, f := range []string{name, name + "-wal", name + "-shm"} {
			_ = os.Remove(f)
		}
		if err != nil {
			return "", err
		}
		return path, nil
	}
	if err := s.Close(); err != nil {
		drop()
		return "", err
	}
	cleanups = append(cleanups, drop) // drops the template when the package's tests end
	return name, nil
}

// open creates a database of dialect d, empty or a copy of the template tmpl, and opens it; it
// returns the function that closes and drops it, and the database's file or name.
func open(d store.Dialect, tmpl string) (s *store.Store, drop func(), name string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch d {
	case store.SQLite:
		if tmpDir == "" {
			dir, err := os.MkdirTemp("", "paygate-test-")
			if err != nil {
				return nil, nil, "", err
			}
			tmpDir = dir
		}
		path := filepath.Join(tmpDir, randomName()+".db")
		if tmpl != "" {
			if err := copyFile(tmpl, path); err != nil {
				return nil, nil, "", err
			}
		}
		s, err = store.Open(ctx, store.Config{SQLitePath: path, Logger: quietLogger()})
		if err != nil {
			return nil, nil, "", err
		}
		return s, func() { _ = s.Close() }, path, nil
	case store.Postgres:
		return openPostgres(ctx, tmpl)
	default:
		return nil, nil, "", fmt.Errorf("unknown dialect %q", d)
	}
}

func openPostgres(ctx context.Context, tmpl string) (s *store.Store, drop func(), name string, err error) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	admin, err := store.Open(ctx, store.Config{URL: base, Pool: store.Pool{MaxConns: 2}, Logger: quietLogger()})
	if err != nil {
		return nil, nil, "", err
	}
	name = "paygate_test_" + randomName()
	stmt := "CREATE DATABASE " + name
	if tmpl != "" {
		stmt += " TEMPLATE " + tmpl
	}
	if err := admin.ExecAdmin(ctx, stmt); err != nil {
		_ = admin.Close()
		return nil, nil, "", err
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	s, err = store.Open(ctx, store.Config{URL: u.String(), Pool: store.Pool{MaxConns: 30}, Logger: quietLogger()})
	if err != nil {
		_ = admin.ExecAdmin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
		return nil, nil, "", err
	}
	drop = func() {
		_ = s.Close()
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer dcancel()
		_ = admin.ExecAdmin(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	}
	return s, drop, name, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

func randomName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b))
}

// FreshURL creates a new, empty database of dialect d for other processes to open and returns its
// DATABASE_URL (sqlite:<path> or postgres://...). It is dropped when the test ends.
func FreshURL(t testing.TB, d store.Dialect) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	switch d {
	case store.SQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "paygate.db")
	case store.Postgres:
		base := os.Getenv("TEST_DATABASE_URL")
		if base == "" {
			base = DefaultPostgresURL
		}
		admin, err := store.Open(ctx, store.Config{URL: base, Pool: store.Pool{MaxConns: 2}, Logger: quietLogger()})
		if err != nil {
			unavailable(t, d, err)
		}
		name := "paygate_test_" + randomName()
		if err := admin.ExecAdmin(ctx, "CREATE DATABASE "+name); err != nil {
			_ = admin.Close()
			unavailable(t, d, err)
		}
		t.Cleanup(func() {
			dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer dcancel()
			_ = admin.ExecAdmin(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			_ = admin.Close()
		})
		u, _ := url.Parse(base)
		u.Path = "/" + name
		return u.String()
	}
	t.Fatalf("unknown dialect %q", d)
	return ""
}

// Kept opens the PostgreSQL database name on TEST_DATABASE_URL's server, creating it when it
// does not exist, and migrates it; unlike Own's it is not dropped when the test ends, so a
// benchmark can seed it once and measure it run after run (drop it by hand: DROP DATABASE
// name). name must be a plain lower-case identifier.
func Kept(t testing.TB, name string) *store.Store {
	t.Helper()
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			t.Fatalf("storetest: database name %q: lower-case letters, digits and _ only", name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	admin, err := store.Open(ctx, store.Config{URL: base, Pool: store.Pool{MaxConns: 2}, Logger: quietLogger()})
	if err != nil {
		unavailable(t, store.Postgres, err)
	}
	defer func() { _ = admin.Close() }()
	db, err := admin.SQLDB()
	if err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatalf("storetest: look for database %s: %v", name, err)
	}
	if !exists {
		if err := admin.ExecAdmin(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("storetest: create database %s: %v", name, err)
		}
	}
	u, _ := url.Parse(base)
	u.Path = "/" + name
	s, err := store.Open(ctx, store.Config{URL: u.String(), Pool: store.Pool{MaxConns: 30}, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("storetest: open database %s: %v", name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx, -1); err != nil {
		t.Fatalf("storetest: migrate database %s: %v", name, err)
	}
	return s
}
