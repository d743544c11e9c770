package hostedpage

import "bytes"

// The payment page is written by Go code (render.go) rather than executed through html/template
// on every request; these functions escape exactly as html/template does in the contexts the
// page uses, so the output is the template's byte for byte (TestFastRenderMatchesTemplate).

// htmlEscapes is html/template's replacement table for text, RCDATA and quoted attribute values
// (htmlReplacementTable): NUL, both quotes, &, + and the angle brackets. Other bytes, invalid
// UTF-8 included, are copied as they are, as html/template does.
var htmlEscapes = [256]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

// writeEscaped writes s escaped for HTML text or a quoted attribute value.
func writeEscaped(b *bytes.Buffer, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		if r := htmlEscapes[s[i]]; r != "" {
			b.WriteString(s[written:i])
			b.WriteString(r)
			written = i + 1
		}
	}
	b.WriteString(s[written:])
}

// escapeHTML returns s escaped as writeEscaped writes it.
func escapeHTML(s string) string {
	var b bytes.Buffer
	writeEscaped(&b, s)
	return b.String()
}

// writeURLAttr writes s as html/template writes a URL at the start of a quoted URL attribute
// (href): a scheme other than http, https or mailto becomes "#ZgotmplZ"; bytes outside RFC 3986's
// reserved and unreserved sets (and ', parentheses, spaces, non-ASCII) are percent-encoded, valid
// escapes kept; then & and + are HTML-escaped.
func writeURLAttr(b *bytes.Buffer, s string) {
	if !safeScheme(s) {
		b.WriteString("#ZgotmplZ")
		return
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&':
			b.WriteString("&amp;")
		case c == '+':
			b.WriteString("&#43;")
		case urlKeep(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
}

// urlKeep reports whether html/template's URL normaliser leaves c as it is.
func urlKeep(c byte) bool {
	switch c {
	case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']', '-', '.', '_', '~', '%':
		return true
	}
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// safeScheme is html/template's URL filter: a URL with a scheme must use http, https or mailto
// (case-insensitive); a URL without one (relative) passes.
func safeScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			scheme := s[:i]
			return equalFoldASCII(scheme, "http") || equalFoldASCII(scheme, "https") || equalFoldASCII(scheme, "mailto")
		case c == '/':
			return true
		}
	}
	return true
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
