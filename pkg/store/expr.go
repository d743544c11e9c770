package store

import "gorm.io/gorm"

// gormExpr is a SQL expression for a column update.
func gormExpr(sql string, args ...any) any { return gorm.Expr(sql, args...) }
