package hostedpage

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// CSP is one page's Content-Security-Policy. Directives not listed fall back to
// default-src 'none': nothing loads unless a directive below allows it.
type CSP struct {
	Scripts        []string // script-src besides 'self' (the Stripe.js origin when Stripe is offered)
	Frames         []string // frame-src (Stripe's iframes)
	Connect        []string // connect-src: the main backend's public origin (and Stripe's API)
	FrameAncestors []string // who may embed the page; empty means 'none'
	NoScript       bool     // pages without script (state pages): script-src stays 'none'
}

// String renders the policy header value.
func (c CSP) String() string {
	d := []string{"default-src 'none'"}
	if !c.NoScript {
		d = append(d, "script-src "+strings.Join(append([]string{"'self'"}, c.Scripts...), " "))
	}
	d = append(d, "style-src 'self'", "img-src 'self' https: data:")
	if len(c.Connect) > 0 {
		d = append(d, "connect-src "+strings.Join(c.Connect, " "))
	}
	if len(c.Frames) > 0 {
		d = append(d, "frame-src "+strings.Join(c.Frames, " "))
	}
	d = append(d, "form-action 'self'", "base-uri 'none'", "object-src 'none'")
	if len(c.FrameAncestors) > 0 {
		d = append(d, "frame-ancestors "+strings.Join(c.FrameAncestors, " "))
	} else {
		d = append(d, "frame-ancestors 'none'")
	}
	return strings.Join(d, "; ")
}

// Stripe's origins: Stripe.js, its 3-D Secure frames and its API, which Stripe.js calls from the page.
const (
	stripeJSOrigin    = "https://js.stripe.com"
	stripeHooksOrigin = "https://hooks.stripe.com"
	stripeAPIOrigin   = "https://api.stripe.com"
)

// addStripe allows what Stripe.js loaded from origin needs: its script and frames, and the
// API it calls — for Stripe's own origin its 3-D Secure frames and api.stripe.com, for any other
// origin (a test stand-in) that origin itself.
func (c *CSP) addStripe(origin string) {
	c.Scripts = appendNew(c.Scripts, origin)
	c.Frames = appendNew(c.Frames, origin)
	if origin == stripeJSOrigin {
		c.Frames = appendNew(c.Frames, stripeHooksOrigin)
		c.Connect = appendNew(c.Connect, stripeAPIOrigin)
	} else {
		c.Connect = appendNew(c.Connect, origin)
	}
}

func appendNew(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// origin returns scheme://host[:port] of an absolute http(s) URL, or "" when it is not one.
func origin(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// ancestorRE is what a frame-ancestors source may be here: an http(s) origin, optionally with
// a leading "*." host wildcard, or 'self'. Anything else (keywords, paths, separators that could
// end the directive) is dropped.
var ancestorRE = regexp.MustCompile(`^(?:'self'|https?://(?:\*\.)?[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?)$`)

// frameAncestors merges the configured and the site's allowed embedding origins (space or comma
// separated), keeping only valid, distinct sources.
func frameAncestors(lists ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
			s = strings.ToLower(strings.TrimRight(s, "/"))
			if ancestorRE.MatchString(s) && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// setBaseHeaders sets what every response of the page service carries.
func (s *Server) setBaseHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
	if s.opts.HTTPS {
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// setPageHeaders sets the headers of an HTML page: strict CSP, no caching (a checkout page
// holds a buyer's details and its state changes), no framing unless allowed.
func (s *Server) setPageHeaders(h http.Header, csp CSP) {
	s.setPolicyHeaders(h, csp.String(), len(csp.FrameAncestors) == 0)
}

// setPolicyHeaders sets the page headers with the policy already rendered; deny says no one may
// embed the page.
func (s *Server) setPolicyHeaders(h http.Header, csp string, deny bool) {
	s.setBaseHeaders(h)
	h.Set("Content-Security-Policy", csp)
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), usb=()")
	if deny {
		h.Set("X-Frame-Options", "DENY") // for browsers that predate frame-ancestors
	}
}
