// Package logging builds the platform's JSON logger (log/slog) and carries request-scoped
// attributes (request id, organisation, site) in the context so every line written while
// handling a request names them.
//
// Two mechanisms put attributes on a line:
//
//   - With stores attributes in a derived context: lines logged with that context (and
//     contexts derived from it) carry them. Background jobs name their tenant this way.
//   - A request scope (Scope), put in the request's context by the outermost HTTP middleware,
//     is filled by inner layers with SetTenant once the organisation and site of the request
//     are known (authentication, a path or checkout lookup, a webhook's provider). Every line
//     logged with any context of that request from then on carries org_id and site_id,
//     including lines logged by outer layers, such as the access log line written when the
//     request ends, whose context was made before the tenant was known.
package logging

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Keys every request line may carry.
const (
	KeyRequestID = "request_id"
	KeyOrg       = "org_id"  // the organisation's id (never its name)
	KeySite      = "site_id" // the site's id (never its name or host)
)

type ctxKey struct{}

// With returns a context whose log lines carry the given attributes too.
func With(ctx context.Context, args ...any) context.Context {
	prev, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	r := slog.Record{}
	r.Add(args...)
	attrs := make([]slog.Attr, 0, len(prev)+r.NumAttrs())
	attrs = append(attrs, prev...)
	r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
	return context.WithValue(ctx, ctxKey{}, attrs)
}

// Attrs returns the attributes stored in ctx with With.
func Attrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	return a
}

// scope is a request's tenant, filled as it becomes known. It is shared by every context of
// the request (goroutines included), hence the lock.
type scope struct {
	mu        sync.Mutex
	org, site string
}

type scopeKey struct{}

// Scope returns a context carrying a new, empty request scope (see SetTenant). The outermost
// middleware of every HTTP server calls it once per request.
func Scope(ctx context.Context) context.Context {
	return context.WithValue(ctx, scopeKey{}, &scope{})
}

// SetTenant names the organisation and, when known, the site of the request whose scope ctx
// carries: every line logged with a context of that request from now on carries org_id and
// site_id. Empty values change nothing; naming another organisation forgets the site (it
// belonged to the other one). It reports whether ctx carries a scope: without one (background
// work, tests) it does nothing, and the caller uses With instead.
func SetTenant(ctx context.Context, orgID, siteID string) bool {
	s, _ := ctx.Value(scopeKey{}).(*scope)
	if s == nil {
		return false
	}
	if orgID == "" && siteID == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if orgID != "" && orgID != s.org {
		s.org, s.site = orgID, ""
	}
	if siteID != "" {
		s.site = siteID
	}
	return true
}

// Tenant returns the organisation and site that ctx's lines carry: the ones given to With,
// else the request scope's.
func Tenant(ctx context.Context) (orgID, siteID string) {
	if s, _ := ctx.Value(scopeKey{}).(*scope); s != nil {
		s.mu.Lock()
		orgID, siteID = s.org, s.site
		s.mu.Unlock()
	}
	for _, a := range Attrs(ctx) {
		switch a.Key {
		case KeyOrg:
			orgID = a.Value.String()
		case KeySite:
			siteID = a.Value.String()
		}
	}
	return orgID, siteID
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := Attrs(ctx)
	if len(attrs) > 0 {
		r.AddAttrs(attrs...)
	}
	if s, _ := ctx.Value(scopeKey{}).(*scope); s != nil {
		s.mu.Lock()
		org, site := s.org, s.site
		s.mu.Unlock()
		// Attributes given with With are more specific than the request's scope.
		for _, a := range attrs {
			switch a.Key {
			case KeyOrg:
				org = ""
			case KeySite:
				site = ""
			}
		}
		if org != "" {
			r.AddAttrs(slog.String(KeyOrg, org))
		}
		if site != "" {
			r.AddAttrs(slog.String(KeySite, site))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler { return ctxHandler{h.Handler.WithGroup(name)} }

// New returns a JSON logger writing to w (stdout when nil) at level, tagged with the service name.
func New(service string, level slog.Level, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(ctxHandler{h}).With("service", service)
}

// Discard is a logger that writes nothing (tests).
func Discard() *slog.Logger { return slog.New(ctxHandler{slog.NewTextHandler(io.Discard, nil)}) }
