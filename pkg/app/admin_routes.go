package app

import (
	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/ipn"
)

// registerAdminRoutes mounts the Admin API (and, beside it, the Admin Panel).
func registerAdminRoutes(e *echo.Echo, a *AdminBackend, extra ...adminapi.Route) {
	// The admin backend lists and re-queues notifications; the main backend's workers send them.
	a.Notifier = ipn.New(ipn.Options{Store: a.Store, Secrets: a.Service, Log: a.Log, Metrics: a.Metrics})
	extra = append(extra, adminapi.IPNRoutes(a.Notifier)...)
	extra = append(extra, adminapi.DudaRoutes()...)
	a.API = adminapi.New(adminapi.Deps{
		Service: a.Service, Store: a.Store, KeyAuth: a.KeyAuth, Sessions: a.Sessions, Log: a.Log,
		RateLimit: a.Config.RateLimit, IdempotencyTTL: a.Config.IdempotencyTTL, Extra: extra,
	})
	a.API.Register(e)
}
