package store

import (
	"context"
	"fmt"
	"regexp"
)

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// DumpTable returns every row of a table as text (operator tooling and the tests that prove
// no secret is stored in clear). table must be a plain identifier.
func (s *Store) DumpTable(ctx context.Context, table string) ([]string, error) {
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("bad table name %q", table)
	}
	var rows []string
	var err error
	if s.dialect == Postgres {
		err = s.q(ctx).Raw(`SELECT t::text FROM ` + table + ` t`).Scan(&rows).Error
	} else {
		cols, cerr := s.Columns(ctx, table)
		if cerr != nil {
			return nil, cerr
		}
		expr := "''"
		for _, c := range cols {
			expr += " || '|' || COALESCE(CAST(" + c + " AS TEXT), '')"
		}
		err = s.q(ctx).Raw(`SELECT ` + expr + ` FROM ` + table).Scan(&rows).Error
	}
	return rows, translate(err, table)
}

// SQLiteFiles lists the files of an SQLite database (main file and WAL), empty for PostgreSQL.
func (s *Store) SQLiteFiles(ctx context.Context) ([]string, error) {
	if s.dialect != SQLite {
		return nil, nil
	}
	var path string
	if err := s.q(ctx).Raw(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path).Error; err != nil {
		return nil, translate(err, "database")
	}
	return []string{path, path + "-wal"}, nil
}
