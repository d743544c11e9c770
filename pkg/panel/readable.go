package panel

import (
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"
	"unicode"
)

// detail is one readable line of an audit entry's or an event's data: a label, the value in
// words (amounts formatted with their currency), and a link when the value is an object's id.
type detail struct {
	Label string
	Text  string
	Href  template.URL
	Mono  bool
}

// moneyKeys are data keys holding minor units of the entry's "currency".
var moneyKeys = map[string]bool{"amount": true, "gross": true, "net": true, "tax": true, "refunded": true,
	"refundedAmount": true, "grossAmount": true, "netAmount": true, "taxAmount": true}

// detailLabels name keys whose words are not just the key split up.
var detailLabels = map[string]string{"newKeyId": "New key", "siteId": "Site", "refundId": "Refund", "checkoutId": "Checkout",
	"transactionId": "Transaction", "providerId": "Provider", "ipnUrl": "IPN URL", "graceMinutes": "Old key kept working for",
	"expiresAt": "Expires", "platformAdmin": "Platform admin", "credentialsChanged": "Credentials changed", "ok": "Succeeded"}

func init() {
	funcs["details"] = readableDetails
	funcs["idLink"] = idHref
}

// readableDetails turns data into readable lines, sorted by label (no JSON).
func readableDetails(data map[string]any) []detail {
	cur, _ := data["currency"].(string)
	var out []detail
	for k, v := range data {
		if k == "currency" && cur != "" {
			continue // shown with the amounts
		}
		d := detail{Label: detailLabel(k)}
		switch {
		case moneyKeys[k] && cur != "":
			if n, ok := minorUnits(v); ok {
				d.Text = formatMoney(n, cur)
				break
			}
			d.Text = valueText(v)
		case k == "graceMinutes":
			if n, ok := minorUnits(v); ok {
				d.Text = graceWords(int(n))
				break
			}
			d.Text = valueText(v)
		default:
			d.Text = valueText(v)
			if s, ok := v.(string); ok {
				d.Href, d.Mono = idHref(s), looksLikeID(s)
			}
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// minorUnits reads a whole number from decoded JSON (float64) or Go values.
func minorUnits(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}

// detailLabel is "primaryColor" as "Primary color".
func detailLabel(k string) string {
	if l, ok := detailLabels[k]; ok {
		return l
	}
	if l, ok := fieldLabels[k]; ok {
		return l
	}
	var b strings.Builder
	for i, r := range k {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte(' ')
			r = unicode.ToLower(r)
		}
		if r == '_' {
			r = ' '
		}
		b.WriteRune(r)
	}
	return capitalize(b.String())
}

// valueText renders a value in words: yes/no, lists joined, nested data as "key: value".
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case string:
		if x == "" {
			return "—"
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return formatTime(t)
		}
		return x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(x, ", ")
	case map[string]any:
		var parts []string
		for _, d := range readableDetails(x) {
			parts = append(parts, d.Label+": "+d.Text)
		}
		return strings.Join(parts, "; ")
	}
	if n, ok := minorUnits(v); ok {
		return fmt.Sprint(n)
	}
	return fmt.Sprint(v)
}

// idPages are the panel pages of ids by prefix.
var idPages = map[string]string{"chk_": "/checkouts/", "txn_": "/transactions/", "site_": "/sites/", "prov_": "/providers/", "dcn_": "/duda/"}

func looksLikeID(s string) bool {
	i := strings.IndexByte(s, '_')
	return i > 0 && i < 6 && len(s) > 20 && !strings.ContainsAny(s, " /:")
}

// idHref is the panel page of an object id ("" when it has none); API keys link to their list.
func idHref(s string) template.URL {
	if !looksLikeID(s) {
		return ""
	}
	if strings.HasPrefix(s, "key_") {
		return "/api-keys"
	}
	for prefix, page := range idPages {
		if strings.HasPrefix(s, prefix) {
			return template.URL(page + s)
		}
	}
	return ""
}
