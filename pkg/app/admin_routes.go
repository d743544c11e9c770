package app

import (
	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/adminapi"
)

// registerAdminRoutes mounts the Admin API (and, beside it, the Admin Panel).
func registerAdminRoutes(e *echo.Echo, a *AdminBackend, extra ...adminapi.Route) {
	a.API = adminapi.New(adminapi.Deps{
		Service: a.Service, Store: a.Store, KeyAuth: a.KeyAuth, Sessions: a.Sessions, Log: a.Log,
		RateLimit: a.Config.RateLimit, IdempotencyTTL: a.Config.IdempotencyTTL, Extra: extra,
	})
	a.API.Register(e)
}
