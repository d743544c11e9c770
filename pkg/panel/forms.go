package panel

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
)

// formState is what a re-rendered form shows about its errors: a message per field (next to
// the field, tied to it with aria-describedby) and a summary for the whole form.
type formState struct {
	Errors  map[string]string
	Message string
	// First is the field of the first error: the summary links to it.
	First string
	// order lists the fields with errors as they were found; auto says Message is the summary
	// set() wrote (it then lists every field's message).
	order []string
	auto  bool
}

// Err is the message of one field ("" when it is fine).
func (f *formState) Err(field string) string {
	if f == nil {
		return ""
	}
	return f.Errors[field]
}

func (f *formState) alert() string {
	if f == nil {
		return ""
	}
	if f.auto && len(f.order) > 1 {
		msgs := make([]string, len(f.order))
		for i, field := range f.order {
			msgs[i] = strings.TrimSuffix(f.Errors[field], ".") + "."
		}
		return "Please correct the " + strconv.Itoa(len(f.order)) + " highlighted fields: " + strings.Join(msgs, " ")
	}
	return f.Message
}

// alertTarget is the id of the field the summary points to ("" for none).
func (f *formState) alertTarget() string {
	if f == nil || f.First == "" {
		return ""
	}
	return fieldID(f.First)
}

// set records a field's error (the first message of a field wins).
func (f *formState) set(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = msg
		f.order = append(f.order, field)
	}
	if f.First == "" {
		f.First = field
	}
	if f.Message == "" {
		f.Message, f.auto = "Please correct the highlighted field: "+msg, true
	}
}

// failed reports whether the form has errors.
func (f *formState) failed() bool { return f != nil && (len(f.Errors) > 0 || f.Message != "") }

// formFailure turns a platform error about the input into what the form shows, with the
// status to answer. Errors that are not about the input (403, 404, 500 ...) return ok=false:
// they become an error page.
func formFailure(err error, fields map[string]string) (st *formState, status int, ok bool) {
	var de *domain.Error
	if !errors.As(err, &de) {
		return nil, 0, false
	}
	switch de.Kind {
	case domain.KindInvalid, domain.KindConflict, domain.KindUnprocessable, domain.KindRateLimited:
	default:
		return nil, 0, false
	}
	st = &formState{}
	for _, e := range append([]*domain.Error{de}, de.Also...) {
		field := e.Field
		if f, ok := fields[field]; ok {
			field = f
		}
		if field != "" {
			st.set(field, humanMessage(e.Field, e.Message))
		} else {
			st.Message = capitalize(e.Message)
		}
	}
	return st, httpapi.StatusOf(de.Kind), true
}

// reworded is err with every message (its own and its Also's) passed through words, the
// form's way of naming the API's fields; err itself is not changed.
func reworded(err error, words *strings.Replacer) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	out := *de
	out.Message = words.Replace(de.Message)
	out.Also = make([]*domain.Error, len(de.Also))
	for i, e := range de.Also {
		more := *e
		more.Message = words.Replace(e.Message)
		out.Also[i] = &more
	}
	return &out
}

// fieldLabels name the API's fields in words, for messages that start with the field's name
// ("primaryColor must be ..." reads "Primary colour must be ...").
var fieldLabels = map[string]string{
	"name": "Name", "logoUrl": "Logo URL", "primaryColor": "Primary colour", "allowedHosts": "Allowed hosts",
	"taxDisplay": "Tax display", "vatIdValidation": "VAT id validation", "defaultLanguage": "Default language",
	"ipnVersion": "IPN version", "frameAncestors": "Frame ancestors", "ipnUrl": "IPN URL", "returnUrl": "Return URL",
	"eventsUrl": "Invoice events URL",
	"cancelUrl": "Cancel URL", "expiresInMinutes": "Expiry", "amount": "Amount", "currency": "Currency", "email": "E-mail address",
}

// humanMessage is a field's error message in words: the API's field name at its start becomes
// the field's label.
func humanMessage(field, msg string) string {
	if label, ok := fieldLabels[field]; ok {
		if rest, ok := strings.CutPrefix(msg, field+" "); ok {
			return label + " " + rest
		}
	}
	return capitalize(msg)
}

// form reads the request's form values (urlencoded body).
func form(c echo.Context) url.Values {
	v, err := c.FormParams()
	if err != nil {
		return url.Values{}
	}
	return v
}

func trimmed(v url.Values, name string) string { return strings.TrimSpace(v.Get(name)) }

// lines splits a textarea into trimmed, non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// dateParam reads a YYYY-MM-DD date from the query; end=true gives the start of the next day
// (so a "to" date includes its whole day).
func dateParam(c echo.Context, name string, end bool) (*time.Time, string, error) {
	v := strings.TrimSpace(c.QueryParam(name))
	if v == "" {
		return nil, "", nil
	}
	t, err := time.Parse("2006-01-02", v)
	if err != nil {
		return nil, v, domain.Invalid(name, "%s must be a date like 2026-07-26", name)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return &t, v, nil
}

// cursor reads ?after= (the id of the last row of the previous page).
func cursor(c echo.Context, prefix string) string { return cursorParam(c, "after", prefix) }

// cursorParam reads a cursor parameter: ?after= (the next page, older rows) or ?before= (the
// previous page, newer rows), an id of the list's kind.
func cursorParam(c echo.Context, name, prefix string) string {
	v := c.QueryParam(name)
	if len(v) > 64 || !strings.HasPrefix(v, prefix+"_") {
		return ""
	}
	return v
}

// pageNav links a list's pages: the first page, the previous one (lists that page both
// ways) and the next one, with the same filters.
type pageNav struct {
	First, Prev, Next string
	Paged             bool // not on the first page
}

// pagination builds the links around a page whose last row is lastID; more says whether
// another page follows.
func pagination(c echo.Context, lastID string, more bool) pageNav {
	q := c.QueryParams()
	paged := q.Get("after") != ""
	q.Del("after")
	q.Del("notice")
	n := pageNav{First: c.Request().URL.Path + "?" + q.Encode(), Paged: paged}
	if more {
		q.Set("after", lastID)
		n.Next = c.Request().URL.Path + "?" + q.Encode()
	}
	return n
}

// keysetPagination builds the links around a page of a list that pages both ways (newest
// first): Previous is the rows newer than its first row, Next those older than its last. more
// is what the store said about the side the page was read towards: older rows for a first or
// next page, newer ones for a previous page (?before=).
func keysetPagination(c echo.Context, firstID, lastID string, more bool) pageNav {
	q := queryCopy(c)
	before, after := q.Get("before") != "", q.Get("after") != ""
	q.Del("after")
	q.Del("before")
	q.Del("notice")
	path := c.Request().URL.Path
	n := pageNav{First: path + "?" + q.Encode(), Paged: before || after}
	if firstID == "" {
		return n
	}
	if after || (before && more) {
		q.Set("before", firstID)
		n.Prev = path + "?" + q.Encode()
		q.Del("before")
	}
	if (!before && more) || before {
		q.Set("after", lastID)
		n.Next = path + "?" + q.Encode()
	}
	return n
}

// queryCopy is the request's query parameters, to change (echo keeps one map per request).
func queryCopy(c echo.Context) url.Values {
	q := url.Values{}
	for k, v := range c.QueryParams() {
		q[k] = append([]string(nil), v...)
	}
	return q
}

// pageLimit is how many rows a list shows per page.
const pageLimit = 25

// seeOther redirects after a successful POST (Post/Redirect/Get), with a notice for the page.
func seeOther(c echo.Context, path, notice string) error {
	if notice != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "notice=" + url.QueryEscape(notice)
	}
	return c.Redirect(http.StatusSeeOther, path)
}

func atoi(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// errMessage is a domain error's message for people.
func errMessage(err error) string {
	var de *domain.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return "internal error"
}

// httpStatus is the status a domain error answers with.
func httpStatus(err error) int { return httpapi.StatusOf(domain.ErrorKind(err)) }

// lastRow is the id of a page's last row ("" for an empty page).
func firstRow[T any](rows []T, id func(int) string) string {
	if len(rows) == 0 {
		return ""
	}
	return id(0)
}

func lastRow[T any](rows []T, id func(int) string) string {
	if len(rows) == 0 {
		return ""
	}
	return id(len(rows) - 1)
}

func (d *apiKeysData) alertTarget() string { return d.Form.alertTarget() }

func (d *usersData) alertTarget() string {
	if d.RowError != "" {
		return ""
	}
	return d.Form.alertTarget()
}

func (d *transactionData) alertTarget() string {
	if d.RefundForm.failed() {
		return d.RefundForm.alertTarget()
	}
	return d.MarkPaidForm.alertTarget()
}

func (d *organizationsData) alertTarget() string {
	if d.Create.failed() {
		if d.Create.First == "" {
			return ""
		}
		return fieldID("create." + d.Create.First)
	}
	return d.Settings.alertTarget()
}
