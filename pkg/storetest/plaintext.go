package storetest

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"paygate.dev/pkg/store"
)

// RequireNoPlaintext fails the test if any of the secrets appears in clear anywhere in the
// database: in `pg_dump`'s output on PostgreSQL (as an operator's backup would hold it), in
// every row of every table, and in the SQLite files (main file and WAL).
func RequireNoPlaintext(t testing.TB, s *store.Store, secrets ...string) {
	t.Helper()
	ctx := context.Background()
	check := func(where, text string) {
		t.Helper()
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Fatalf("%s holds a secret in clear (%.8s…)", where, secret)
			}
		}
	}
	if s.Dialect() == store.Postgres {
		dsn, err := s.URL()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath("pg_dump"); err != nil {
			if InCI() {
				t.Fatalf("pg_dump is needed under CI=true: %v", err)
			}
		} else {
			var stderr strings.Builder
			cmd := exec.Command("pg_dump", "--no-owner", "--dbname", libpqURL(t, dsn))
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("pg_dump: %v: %s", err, stderr.String())
			}
			check("pg_dump", string(out))
		}
	}
	tables, err := s.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		rows, err := s.DumpTable(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		check("table "+table, strings.Join(rows, "\n"))
	}
	files, err := s.SQLiteFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		check("database file "+f, string(b))
	}
}

// libpqURL keeps only the URL parameters libpq knows (the store's URL carries pgx options).
func libpqURL(t testing.TB, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{}
	if v := u.Query().Get("sslmode"); v != "" {
		q.Set("sslmode", v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
