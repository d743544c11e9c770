package auth

import "paygate.dev/pkg/domain"

// minRole is the least role a dashboard user needs for each resource:action; API keys need
// the scope of the same name.
var minRole = map[string]domain.Role{
	"checkout:read": domain.RoleViewer, "checkout:create": domain.RoleEditor, "checkout:update": domain.RoleEditor,
	"transaction:read": domain.RoleViewer, "transaction:update": domain.RoleEditor,
	"refund:read": domain.RoleViewer, "refund:create": domain.RoleEditor,
	"invoice:read": domain.RoleViewer, "invoice:create": domain.RoleEditor, "invoice:update": domain.RoleEditor, "invoice:delete": domain.RoleEditor,
	"ipn:read": domain.RoleViewer, "ipn:execute": domain.RoleEditor,
	// Exports take the organisation's buyers (e-mails, names) away in bulk.
	"export:execute": domain.RoleEditor,
	"site:read":      domain.RoleViewer, "site:create": domain.RoleAdmin, "site:update": domain.RoleAdmin, "site:delete": domain.RoleAdmin,
	"provider:read": domain.RoleViewer, "provider:create": domain.RoleAdmin, "provider:update": domain.RoleAdmin,
	"provider:delete": domain.RoleAdmin, "provider:execute": domain.RoleAdmin,
	"api_key:read": domain.RoleAdmin, "api_key:create": domain.RoleAdmin, "api_key:update": domain.RoleAdmin, "api_key:delete": domain.RoleAdmin,
	"user:read": domain.RoleViewer, "user:create": domain.RoleAdmin, "user:update": domain.RoleAdmin, "user:delete": domain.RoleAdmin,
	// Clients (buyers' details): editors keep them up to date, only admins delete one.
	"client:read": domain.RoleViewer, "client:create": domain.RoleEditor, "client:update": domain.RoleEditor, "client:delete": domain.RoleAdmin,
	// Customer risk holds: a support agent (editor) may place one at once — tightening is
	// always safe —; changing or releasing one, which may loosen a risk decision, takes an admin.
	"client_hold:read": domain.RoleViewer, "client_hold:create": domain.RoleEditor, "client_hold:update": domain.RoleAdmin,
	"audit:read":        domain.RoleAdmin,
	"organization:read": domain.RoleViewer, "organization:update": domain.RoleAdmin,
	"duda:read": domain.RoleViewer, "duda:create": domain.RoleAdmin, "duda:update": domain.RoleAdmin, "duda:delete": domain.RoleAdmin,
}

// Modes. Checkouts, transactions (with their refunds, events and notifications), providers and
// API keys have a mode: an API key sees and changes only objects of its own mode, and creates
// only objects of its own mode (the Admin API's route guard answers 404 for the other mode's,
// see adminapi.Route.Object). Everything else belongs to the organisation and is shared by
// both modes: the organisation itself, its sites (branding, allowed hosts, webhook secret,
// provider assignments), members, Duda connections and the audit log. Live buyers see the
// shared objects, so a test key may read them but never change them: that takes a live key or
// a signed-in dashboard user with the role. The audit log, a record of both modes, is not for
// test keys at all.
var sharedResources = map[string]bool{"site": true, "organization": true, "user": true, "duda": true, "audit": true}

// Authorize says whether actor may perform action on resource in its organisation.
// It returns FORBIDDEN (INSUFFICIENT_SCOPE for API keys; LIVE_MODE_REQUIRED for a test key
// changing what both modes share) when not.
func Authorize(actor domain.Actor, resource, action string) error {
	perm := resource + ":" + action
	switch actor.Type {
	case domain.ActorSystem:
		return nil
	case domain.ActorAPIKey:
		if !domain.HasScope(actor.Scopes, resource, action) {
			return domain.Forbidden(domain.CodeInsufficientScope, "the API key lacks the scope %s", perm)
		}
		if actor.Mode != domain.ModeLive && sharedResources[resource] && (action != "read" || resource == "audit") {
			return domain.Forbidden(domain.CodeLiveModeRequired,
				"a test-mode key cannot %s %s: it is shared with live mode (use a live key or the dashboard)", action, resource)
		}
		return nil
	case domain.ActorUser:
		if actor.PlatformAdmin {
			return nil
		}
		need, ok := minRole[perm]
		if !ok {
			need = domain.RoleAdmin
		}
		if actor.Role.AtLeast(need) {
			return nil
		}
		return domain.Forbidden(domain.CodeForbidden, "your role (%s) cannot %s %s", orNone(actor.Role), action, resource)
	}
	return domain.Forbidden(domain.CodeForbidden, "not allowed")
}

// AuthorizeMode says whether actor may create an object of mode m: an API key only in its own
// mode (MODE_MISMATCH otherwise); users and the system in both.
func AuthorizeMode(actor domain.Actor, m domain.Mode) error {
	if actor.Sees(m) {
		return nil
	}
	return domain.Forbidden(domain.CodeModeMismatch, "a %s-mode key cannot create %s-mode objects", actor.Mode, m)
}

// Can is Authorize as a boolean, for showing or hiding controls.
func Can(actor domain.Actor, resource, action string) bool {
	return Authorize(actor, resource, action) == nil
}

func orNone(r domain.Role) string {
	if r == "" {
		return "no role"
	}
	return string(r)
}

// InOrg rejects an actor acting on another organisation with NOT_FOUND (never reveal it exists).
func InOrg(actor domain.Actor, orgID string) error {
	if actor.Type == domain.ActorSystem || actor.PlatformAdmin || actor.OrganizationID == orgID {
		return nil
	}
	return domain.NotFound("organization")
}

// ModeFilter narrows a list's mode filter to what actor sees (see Authorize on modes): an API
// key lists only its own mode's objects. ok is false when the filter asks for the other mode,
// which the key never sees: the list is empty.
func ModeFilter(actor domain.Actor, m *domain.Mode) (ok bool) {
	switch {
	case actor.Mode == "":
		return true
	case *m == "":
		*m = actor.Mode
	}
	return *m == actor.Mode
}

// OfModeSeen keeps the objects whose mode actor sees.
func OfModeSeen[T any](actor domain.Actor, list []T, mode func(*T) domain.Mode) []T {
	if actor.Mode == "" {
		return list
	}
	out := list[:0:0]
	for i := range list {
		if actor.Sees(mode(&list[i])) {
			out = append(out, list[i])
		}
	}
	return out
}
