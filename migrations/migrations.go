// Package migrations embeds the platform's SQL schema migrations.
//
// Each migration is one goose file (github.com/pressly/goose/v3), NNNN_name.sql, with a
// `-- +goose Up` section and a `-- +goose Down` section; a statement whose body holds
// semicolons (a function, a trigger) goes between `-- +goose StatementBegin` and
// `-- +goose StatementEnd`. The same files apply to PostgreSQL and SQLite, so they use only the
// SQL both accept. The store package applies them (store.Migrate), each in its own transaction;
// 0011_river.sql is run by a Go migration there, which moves the old jobs table's work to River
// in the same transaction.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
