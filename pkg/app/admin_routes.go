package app

import "github.com/labstack/echo/v4"

// registerAdminRoutes mounts the Admin API and the Admin Panel.
func registerAdminRoutes(e *echo.Echo, a *AdminBackend) {}
