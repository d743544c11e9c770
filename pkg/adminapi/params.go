package adminapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// limitParam reads ?limit= (default 20, 1 to 100).
func limitParam(c echo.Context) (int, error) { return limitParamOr(c, 20) }

// limitParamOr reads ?limit= (1 to 100), def when it is absent.
func limitParamOr(c echo.Context, def int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
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
	return idCursor(v, "startingAfter", prefix)
}

// cursorsParam reads the cursors of a list that pages both ways: ?startingAfter= (or
// ?cursor=) for the page after (older than) an object, ?endingBefore= for the page before
// (newer than) one; one of them at most.
func cursorsParam(c echo.Context, prefix string) (after, before string, err error) {
	if after, err = cursorParam(c, prefix); err != nil {
		return "", "", err
	}
	if before, err = idCursor(c.QueryParam("endingBefore"), "endingBefore", prefix); err != nil {
		return "", "", err
	}
	if after != "" && before != "" {
		return "", "", domain.Invalid("endingBefore", "give startingAfter or endingBefore, not both")
	}
	return after, before, nil
}

// idCursor checks that the cursor v (of the parameter name) is an id of the list's kind.
func idCursor(v, name, prefix string) (string, error) {
	if v != "" && (len(v) > 64 || len(v) <= len(prefix)+1 || v[:len(prefix)+1] != prefix+"_") {
		return "", domain.Invalid(name, "%s must be an id from a page of this list", name)
	}
	return v, nil
}

// pageAsked answers a list page of ?limit= rows (1 to 100, def when absent): fetch is asked
// for one row more, which only says whether another page follows (hasMore, nextCursor).
func pageAsked[T, V any](c echo.Context, def int, fetch func(limit int) ([]T, error), view func(*T) (V, string)) (int, any, error) {
	want, err := limitParamOr(c, def)
	if err != nil {
		return 0, nil, err
	}
	items, err := fetch(want + 1)
	if err != nil {
		return 0, nil, err
	}
	more := len(items) > want
	if more {
		items = items[:want]
	}
	return http.StatusOK, pageOf(items, more, view), nil
}
