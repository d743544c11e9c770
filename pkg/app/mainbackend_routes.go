package app

import (
	"context"

	"github.com/labstack/echo/v4"
)

// registerMainBackend mounts the runtime API and provider webhooks and sets up the workers.
func registerMainBackend(ctx context.Context, e *echo.Echo, b *MainBackend) error { return nil }
