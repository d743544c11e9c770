package domain

import (
	"strings"
	"unicode/utf8"
)

// SearchTerm is what one search box's text can name: an id (any case, with or without its
// prefix), a wire-transfer reference (RF..., grouped in fours or not), an exact reference of
// the merchant's or the provider's, or a part of the buyer's e-mail or name (Text).
type SearchTerm struct {
	// Raw is the text as typed, trimmed: exact references (order reference, session id, short
	// code, provider references) are compared with it.
	Raw string
	// CheckoutID and TransactionID are the text read as an id of that kind ("" when it
	// cannot be one).
	CheckoutID    string
	TransactionID string
	// PaymentReference is the text read as a structured creditor reference: upper case,
	// without spaces ("" when it does not start with RF).
	PaymentReference string
	// Text is the lower-cased text for a partial match, "" when it is shorter than
	// MinSearchText characters (too short to narrow anything down through an index) or is an id.
	Text string
}

// MinSearchText is the shortest text a partial (substring) match is made for: trigram
// indexes need three characters.
const MinSearchText = 3

// ParseSearch reads a search box's text.
func ParseSearch(s string) SearchTerm {
	s = strings.TrimSpace(s)
	t := SearchTerm{Raw: s}
	t.CheckoutID = asID(s, PrefixCheckout)
	t.TransactionID = asID(s, PrefixTransaction)
	if compact := strings.ToUpper(strings.Join(strings.Fields(s), "")); strings.HasPrefix(compact, "RF") && len(compact) <= 25 {
		t.PaymentReference = compact
	}
	// An id names one row: its text is not looked for inside e-mails and names as well (a
	// trigram search for 26 characters costs far more than the id's index lookup).
	if utf8.RuneCountInString(s) >= MinSearchText && t.CheckoutID == "" && t.TransactionID == "" {
		t.Text = strings.ToLower(s)
	}
	return t
}

// asID reads s as an id with the given prefix: the prefix is optional, case does not matter,
// and the body must be 26 Crockford base-32 characters.
func asID(s, prefix string) string {
	body := strings.ToLower(s)
	if p, rest, ok := strings.Cut(body, "_"); ok {
		if p != prefix {
			return ""
		}
		body = rest
	}
	if len(body) != 26 {
		return ""
	}
	for _, c := range body {
		if !strings.ContainsRune(crockford, c) {
			return ""
		}
	}
	return prefix + "_" + body
}
