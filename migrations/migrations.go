// Package migrations embeds the platform's SQL schema migrations.
//
// Files are named NNNN_name.up.sql and NNNN_name.down.sql. The same files apply to
// PostgreSQL and SQLite, so they use only the SQL both accept. The store package applies them.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
