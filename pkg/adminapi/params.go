package adminapi

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// limitParam reads ?limit= (default 20, 1 to 100).
func limitParam(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, domain.Invalid("limit", "limit must be a whole number from 1 to 100")
	}
	return n, nil
}

// timeParam reads an RFC 3339 time (or a date) from the query.
func timeParam(c echo.Context, name string) (*time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, domain.Invalid(name, "%s must be an RFC 3339 time like 2026-07-26T18:30:00Z or a date like 2026-07-26", name)
}

// cursorParam reads ?startingAfter= (or ?cursor=): the id of the last object of the previous page.
func cursorParam(c echo.Context, prefix string) (string, error) {
	v := c.QueryParam("startingAfter")
	if v == "" {
		v = c.QueryParam("cursor")
	}
	if v != "" && (len(v) > 64 || len(v) <= len(prefix)+1 || v[:len(prefix)+1] != prefix+"_") {
		return "", domain.Invalid("startingAfter", "startingAfter must be an id from a previous page")
	}
	return v, nil
}
