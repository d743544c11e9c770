package panel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/money"
)

// funcs are the template helpers. They format; they never fetch.
var funcs = template.FuncMap{
	"money":   formatMoney,
	"decimal": formatDecimal,
	"when":    formatTime,
	"whenPtr": formatTimePtr,
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"isoPtr": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"rate":    func(r int64) string { return formatVAT(&r) },
	"party":   partyName,
	"label":   label,
	"badge":   badgeClass,
	"pretty":  prettyJSON,
	"compact": compactJSON,
	"vat":     formatVAT,
	"qr":      qrSVG,
	"dict":    dict,
	"deref":   deref,
	"join":    strings.Join,
	"lower":   strings.ToLower,
	"add":     func(a, b int) int { return a + b },
	"mul64":   func(a, b int64) int64 { return a * b },
	"role":    roleLabel,
	"address": address,
	"field":   field,
	"list":    func(v ...string) []string { return v },
	"newItem": func() itemRow { return itemRow{Quantity: "1", Type: string(domain.ItemGoods)} },
}

// formatMoney renders minor units as "1,234.56 EUR".
func formatMoney(amount int64, currency string) string {
	cur, ok := money.Lookup(currency)
	if !ok {
		return strconv.FormatInt(amount, 10) + " " + currency
	}
	s := money.FormatDecimal(amount, cur)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, ch := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	out := b.String()
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "−" + out
	}
	return out + " " + cur.Code
}

// formatDecimal renders minor units as a plain decimal for a form field ("1234.56").
func formatDecimal(amount int64, currency string) string {
	cur, ok := money.Lookup(currency)
	if !ok {
		return strconv.FormatInt(amount, 10)
	}
	return money.FormatDecimal(amount, cur)
}

// formatTime renders a time in UTC, to the minute.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatTimePtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return formatTime(*t)
}

// label turns a code ("pending_provider", "wire_transfer") into words.
func label(v any) string {
	s := fmt.Sprint(v)
	switch s {
	case "wire_transfer":
		return "Wire transfer"
	case "gocardless":
		return "GoCardless"
	case "stripe":
		return "Stripe"
	case "digital_service":
		return "Digital service"
	case "":
		return "—"
	}
	s = strings.ReplaceAll(strings.ReplaceAll(s, "_", " "), ".", " · ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// badgeClass is the CSS class of a status badge.
func badgeClass(v any) string {
	switch fmt.Sprint(v) {
	case "succeeded", "completed", "delivered", "active", "live":
		return "badge badge-ok"
	case "failed", "canceled", "cancelled", "revoked", "disputed", "expired key":
		return "badge badge-bad"
	case "pending_provider", "initiated", "open", "pending", "partially_refunded", "test":
		return "badge badge-wait"
	}
	return "badge"
}

// prettyJSON renders a value as indented JSON (html/template escapes it when shown).
func prettyJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimRight(buf.String(), "\n")
}

// compactJSON renders a value as one line of JSON.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimRight(buf.String(), "\n")
}

// formatVAT renders a rate in hundredths of a percent ("19 %", "7.5 %"), or "—".
func formatVAT(rate *int64) string {
	if rate == nil {
		return "—"
	}
	s := strconv.FormatInt(*rate/100, 10)
	if f := *rate % 100; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%02d", f), "0")
	}
	return s + " %"
}

// dict builds a map for passing several values to a partial template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict needs key, value pairs")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, errors.New("dict keys are strings")
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// fieldID is the id of a form control for a field name ("items[0].name" → "f-items-0-name").
func fieldID(name string) string {
	r := strings.NewReplacer("[", "-", "]", "", ".", "-", " ", "-")
	return "f-" + r.Replace(name)
}

func deref(v any) string {
	switch p := v.(type) {
	case *string:
		if p == nil {
			return ""
		}
		return *p
	case *int:
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	case *int64:
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	case *time.Time:
		return formatTimePtr(p)
	}
	return fmt.Sprint(v)
}

// roleLabel names a role for people.
func roleLabel(r domain.Role) string {
	switch r {
	case domain.RoleAdmin:
		return "Admin"
	case domain.RoleEditor:
		return "Editor"
	case domain.RoleViewer:
		return "Viewer"
	}
	return "—"
}

// fieldView is one labelled form control: its label, hint and error message are tied to the
// control (for, aria-describedby, aria-invalid).
type fieldView struct {
	Name, ID, Label, Value, Err, Hint                     string
	Type, Auto, Placeholder, InputMode, Pattern, Min, Max string
	Required, ReadOnly                                    bool
	Rows                                                  int
}

// Describedby lists the ids of the field's hint and error ("" when it has neither).
func (f fieldView) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Err != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// field builds a fieldView. opts are "key=value" settings: type, hint, auto (autocomplete),
// placeholder, inputmode, pattern, min, max, rows, id (a field name to derive the id from), and
// the flags required and readonly.
func field(name, label string, value any, errMsg string, opts ...string) fieldView {
	f := fieldView{Name: name, ID: fieldID(name), Label: label, Err: errMsg, Type: "text"}
	if value != nil {
		f.Value = fmt.Sprint(value)
	}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "type":
			f.Type = v
		case "hint":
			f.Hint = v
		case "auto":
			f.Auto = v
		case "placeholder":
			f.Placeholder = v
		case "inputmode":
			f.InputMode = v
		case "pattern":
			f.Pattern = v
		case "min":
			f.Min = v
		case "max":
			f.Max = v
		case "rows":
			f.Rows, _ = strconv.Atoi(v)
		case "id":
			f.ID = fieldID(v)
		case "required":
			f.Required = v == "" || v == "true"
		case "readonly":
			f.ReadOnly = true
		}
	}
	return f
}

// address joins the parts of a buyer's address that are filled in.
func address(b domain.BillingDetails) string {
	var parts []string
	for _, p := range []string{b.Line1, b.Line2, strings.TrimSpace(b.PostalCode + " " + b.City), b.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}
