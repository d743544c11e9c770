package auth

import "paygate.dev/pkg/domain"

// minRole is the least role a dashboard user needs for each resource:action; API keys need
// the scope of the same name.
var minRole = map[string]domain.Role{
	"checkout:read": domain.RoleViewer, "checkout:create": domain.RoleEditor, "checkout:update": domain.RoleEditor,
	"transaction:read": domain.RoleViewer, "transaction:update": domain.RoleEditor,
	"refund:read": domain.RoleViewer, "refund:create": domain.RoleEditor,
	"ipn:read": domain.RoleViewer, "ipn:execute": domain.RoleEditor,
	"site:read": domain.RoleViewer, "site:create": domain.RoleAdmin, "site:update": domain.RoleAdmin, "site:delete": domain.RoleAdmin,
	"provider:read": domain.RoleViewer, "provider:create": domain.RoleAdmin, "provider:update": domain.RoleAdmin,
	"provider:delete": domain.RoleAdmin, "provider:execute": domain.RoleAdmin,
	"api_key:read": domain.RoleAdmin, "api_key:create": domain.RoleAdmin, "api_key:update": domain.RoleAdmin, "api_key:delete": domain.RoleAdmin,
	"user:read": domain.RoleViewer, "user:create": domain.RoleAdmin, "user:update": domain.RoleAdmin, "user:delete": domain.RoleAdmin,
	"audit:read":        domain.RoleAdmin,
	"organization:read": domain.RoleViewer, "organization:update": domain.RoleAdmin,
	"duda:read": domain.RoleViewer, "duda:create": domain.RoleAdmin, "duda:update": domain.RoleAdmin, "duda:delete": domain.RoleAdmin,
}

// Authorize says whether actor may perform action on resource in its organisation.
// It returns FORBIDDEN (INSUFFICIENT_SCOPE for API keys) when not.
func Authorize(actor domain.Actor, resource, action string) error {
	perm := resource + ":" + action
	switch actor.Type {
	case domain.ActorSystem:
		return nil
	case domain.ActorAPIKey:
		if domain.HasScope(actor.Scopes, resource, action) {
			return nil
		}
		return domain.Forbidden(domain.CodeInsufficientScope, "the API key lacks the scope %s", perm)
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
