package store

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// gormExpr is a SQL expression for a column update.
func gormExpr(sql string, args ...any) any { return gorm.Expr(sql, args...) }

// forUpdate locks the selected rows until the transaction ends (PostgreSQL).
func forUpdate() clause.Expression { return clause.Locking{Strength: "UPDATE"} }
