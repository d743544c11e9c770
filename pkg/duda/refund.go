package duda

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"
)

// RefundNotification is what ParseRefundNotification could find in the body Duda POSTs to links.refunds. Any
// field may be empty: Duda has not published this body, so keep Raw (log it whole) and confirm what matters with
// GetRefundIntent when RefundIntentID is set.
type RefundNotification struct {
	RefundIntentID        string
	TransactionID         string // a transaction_id key: ours, or a refund's own id — see OurTransactionID
	OriginalTransactionID string // an original_transaction_id key: the id we gave when confirming
	Amount                Decimal
	Currency              string
	Reason                string
	Mode                  Mode
	Raw                   json.RawMessage
}

// OurTransactionID is the best guess at the transaction id we sent at confirm: original_transaction_id if present,
// else transaction_id.
func (n RefundNotification) OurTransactionID() string {
	if n.OriginalTransactionID != "" {
		return n.OriginalTransactionID
	}
	return n.TransactionID
}

// Key spellings tried, in order of preference. Compared after removing '_' and '-' and lower-casing, so
// refund_intent_id, refundIntentId and RefundIntentID are one key.
var (
	refundIntentIDKeys = []string{"refundintentid", "refundintent"}
	refundContainers   = []string{"refundintent", "refund", "intent", "data", "payload", "resourcedata", "object"}
	amountKeys         = []string{"refundamount", "amounttorefund", "amount", "total", "totalamount", "value"}
	currencyKeys       = []string{"currency", "currencycode"}
	originalTxKeys     = []string{"originaltransactionid", "originaltxid"}
	transactionKeys    = []string{"transactionid", "txid"}
	reasonKeys         = []string{"reason"}
	modeKeys           = []string{"mode"}
)

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// maxDepth bounds how deep the search goes into nested objects.
const maxDepth = 6

// ParseRefundNotification reads the body Duda POSTs when a refund is issued from the store dashboard, without
// knowing its shape. It looks for a refund-intent id (refund_intent_id, refundIntentId, refund_intent.id, or an id
// inside a refund/intent/data object, else a top-level id), an amount (refund_amount, amount, total, as a string,
// number or {value, currency} object) with its currency, and transaction_id / original_transaction_id, at the top
// level first and then in nested objects. Unknown shapes are not an error: it returns whatever it found. It fails
// only when body is not JSON.
func ParseRefundNotification(body []byte) (RefundNotification, error) {
	body = bytes.Trim(body, jsonSpace) // JSON's own whitespace only: "\v0" is not JSON
	n := RefundNotification{Raw: append(json.RawMessage(nil), body...)}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return n, errors.New("duda: refund notification is not JSON")
	}
	// Nothing may follow the value (dec.More alone let a stray "]" or "}" through).
	if dec.InputOffset() != int64(len(body)) {
		return n, errors.New("duda: refund notification is not a single JSON value")
	}
	objs := objectsBreadthFirst(v)
	if len(objs) == 0 {
		return n, nil
	}

	// A key that says "refund intent" wins wherever it is; then the id of an object that is the refund; then the
	// top-level id.
	n.RefundIntentID = findString(objs, refundIntentIDKeys)
	if n.RefundIntentID == "" {
		for _, o := range objs {
			for _, c := range refundContainers {
				if inner, ok := get(o.m, c).(map[string]any); ok {
					if id := scalarString(get(inner, "id")); id != "" {
						n.RefundIntentID = id
						break
					}
				}
			}
			if n.RefundIntentID != "" {
				break
			}
		}
	}
	if n.RefundIntentID == "" {
		n.RefundIntentID = scalarString(get(objs[0].m, "id"))
	}

	n.OriginalTransactionID = findString(objs, originalTxKeys)
	n.TransactionID = findString(objs, transactionKeys)
	n.Reason = findString(objs, reasonKeys)
	n.Mode = Mode(strings.ToUpper(findString(objs, modeKeys)))
	n.Amount, n.Currency = findAmount(objs)
	return n, nil
}

type foundObject struct {
	m     map[string]any
	depth int
}

// objectsBreadthFirst lists every object in v, shallowest first, so top-level keys win over nested ones.
func objectsBreadthFirst(v any) []foundObject {
	var out []foundObject
	queue := []foundObject{}
	push := func(x any, depth int) {
		if depth > maxDepth {
			return
		}
		switch t := x.(type) {
		case map[string]any:
			queue = append(queue, foundObject{m: t, depth: depth})
		case []any:
			for _, e := range t {
				if m, ok := e.(map[string]any); ok {
					queue = append(queue, foundObject{m: m, depth: depth})
				}
			}
		}
	}
	push(v, 0)
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		out = append(out, o)
		// Sorted keys keep the result the same from run to run when two nested objects both match.
		keys := make([]string, 0, len(o.m))
		for k := range o.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			push(o.m[k], o.depth+1)
		}
	}
	return out
}

func normKey(k string) string {
	return strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(k))
}

// get looks a normalised key up in m.
func get(m map[string]any, want string) any {
	for k, v := range m {
		if normKey(k) == want {
			return v
		}
	}
	return nil
}

func findString(objs []foundObject, keys []string) string {
	for _, o := range objs {
		for _, k := range keys {
			if s := scalarString(get(o.m, k)); s != "" {
				return s
			}
		}
	}
	return ""
}

// scalarString returns a string or number as text; anything else as "".
func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	}
	return ""
}

// findAmount returns the first amount found, with the currency of the same object if it has one, else the first
// currency anywhere.
func findAmount(objs []foundObject) (Decimal, string) {
	currency := findString(objs, currencyKeys)
	for _, o := range objs {
		for _, k := range amountKeys {
			switch t := get(o.m, k).(type) {
			case string:
				if strings.TrimSpace(t) != "" {
					return NewDecimalString(t), pick(scalarString(firstOf(o.m, currencyKeys)), currency)
				}
			case json.Number:
				return NewDecimal(t.String()), pick(scalarString(firstOf(o.m, currencyKeys)), currency)
			case map[string]any: // {"value": "10.00", "currency": "EUR"}
				for _, vk := range []string{"value", "amount"} {
					switch iv := get(t, vk).(type) {
					case string:
						return NewDecimalString(iv), pick(scalarString(firstOf(t, currencyKeys)), currency)
					case json.Number:
						return NewDecimal(iv.String()), pick(scalarString(firstOf(t, currencyKeys)), currency)
					}
				}
			}
		}
	}
	return Decimal{}, currency
}

func firstOf(m map[string]any, keys []string) any {
	for _, k := range keys {
		if v := get(m, k); v != nil {
			return v
		}
	}
	return nil
}

func pick(a, b string) string {
	if a != "" {
		return strings.ToUpper(a)
	}
	return strings.ToUpper(b)
}
