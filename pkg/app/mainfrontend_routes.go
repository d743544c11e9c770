package app

import (
	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/runtimeapi"
)

// registerMainFrontend mounts the hosted pages and their assets.
func registerMainFrontend(e *echo.Echo, f *MainFrontend) error {
	s, err := hostedpage.New(hostedpage.Options{
		Runtime:        &runtimeapi.Client{BaseURL: f.Config.MainBackendInternalURL, HTTP: f.HTTP, InternalToken: f.Config.InternalToken},
		BackendURL:     f.Config.Hosts.MainBackendURL(),
		StripeJSURL:    f.Config.StripeJSURL,
		FrameAncestors: f.Config.FrameAncestors,
		HTTPS:          f.Config.AppEnv != config.AppDevelopment,
		Log:            f.Log,
	})
	if err != nil {
		return err
	}
	s.Register(e)
	return nil
}
