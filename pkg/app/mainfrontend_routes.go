package app

import "github.com/labstack/echo/v4"

// registerMainFrontend mounts the hosted pages and their assets.
func registerMainFrontend(e *echo.Echo, f *MainFrontend) error { return nil }
