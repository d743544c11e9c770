package config

import (
	"strings"
	"time"
)

// DBPool sizes a backend's database connection pool (DB_MAX_CONNS, DB_MAX_IDLE_CONNS,
// DB_CONN_MAX_LIFETIME, DB_CONN_MAX_IDLE_TIME); durations of 0 mean never.
//
// On PostgreSQL it is what each process may hold of the server's max_connections (the README,
// Configuration, gives the sizing rule for N replicas). On SQLite it is the pool of read
// connections: writes go through one more connection of their own.
type DBPool struct {
	MaxConns        int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// DefaultDBPool is the pool when no DB_* variable is set. PostgreSQL: 20 connections per
// process, recycled after 30 minutes (so that a fail-over or a pooler's rebalancing reaches
// every process) or 5 idle minutes. SQLite: 8 read connections, kept open. (These are
// store.DefaultPool's; a test keeps them equal.)
func DefaultDBPool(sqlite bool) DBPool {
	if sqlite {
		return DBPool{MaxConns: 8, MaxIdleConns: 8}
	}
	return DBPool{MaxConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}
}

// readDBPool reads the pool settings, with the defaults of the database DATABASE_URL names.
func readDBPool(e *Env, databaseURL string) DBPool {
	def := DefaultDBPool(databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:"))
	p := DBPool{MaxConns: e.Int("DB_MAX_CONNS", def.MaxConns, 1, 1000)}
	p.MaxIdleConns = e.Int("DB_MAX_IDLE_CONNS", p.MaxConns, 1, 1000)
	if p.MaxIdleConns > p.MaxConns {
		e.Fail("DB_MAX_IDLE_CONNS", "must not be more than DB_MAX_CONNS (%d), got %d", p.MaxConns, p.MaxIdleConns)
		p.MaxIdleConns = p.MaxConns
	}
	p.ConnMaxLifetime = readPoolDuration(e, "DB_CONN_MAX_LIFETIME", def.ConnMaxLifetime)
	p.ConnMaxIdleTime = readPoolDuration(e, "DB_CONN_MAX_IDLE_TIME", def.ConnMaxIdleTime)
	return p
}

// readPoolDuration reads 0 (never) or a duration from 1s to 24h.
func readPoolDuration(e *Env, name string, def time.Duration) time.Duration {
	d := e.Duration(name, def, 0, 24*time.Hour)
	if d > 0 && d < time.Second {
		e.Fail(name, "must be 0 (never) or a duration from 1s to 24h, got %s", d)
		return def
	}
	return d
}

// LogAttrs describes the pool for the start-up log line.
func (p DBPool) LogAttrs() []any {
	return []any{"db_max_conns", p.MaxConns, "db_max_idle_conns", p.MaxIdleConns,
		"db_conn_max_lifetime", p.ConnMaxLifetime.String(), "db_conn_max_idle_time", p.ConnMaxIdleTime.String()}
}
