package dudaapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	dudauc "paygate.dev/pkg/integration/duda"
)

// verifiedLifecycle loads the connection a lifecycle call names and checks Duda's signature on
// it; it answers the request itself (and returns nil, nil) when the call is refused.
func (a *App) verifiedLifecycle(c echo.Context) (*dudauc.Caller, []byte, error) {
	ctx := c.Request().Context()
	caller, err := a.uc.LifecycleCaller(ctx, c.Param("connectionId"))
	if errors.Is(err, dudauc.ErrUnknownLink) {
		return nil, nil, answer(c, http.StatusNotFound, errorBody("unknown connection"))
	}
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("duda: read lifecycle body: %w", err)
	}
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("duda: lifecycle body larger than %d bytes", maxBody)
	}
	h := c.Request().Header
	if err := a.uc.Verify(ctx, caller, h.Get(duda.HeaderSignatureTimestamp), h.Get(duda.HeaderSignature), body); err != nil {
		if errors.Is(err, duda.ErrBadSignature) || errors.Is(err, duda.ErrStaleTimestamp) {
			a.metrics.WebhookFailures.WithLabelValues("duda").Inc()
			return nil, nil, answer(c, http.StatusUnauthorized, errorBody("invalid signature"))
		}
		return nil, nil, err
	}
	return caller, body, nil
}

// install is Duda's signed install call: the use case records the install and registers our
// payment gateway (or queues a job that retries it); Duda gets 200 either way.
func (a *App) install(c echo.Context) error {
	caller, body, err := a.verifiedLifecycle(c)
	if caller == nil {
		return err
	}
	var p duda.InstallPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return answer(c, http.StatusBadRequest, errorBody("malformed install payload: not valid JSON"))
	}
	res, err := a.uc.Install(c.Request().Context(), caller, p)
	switch {
	case errors.Is(err, dudauc.ErrUnknownAPIEndpoint):
		return answer(c, http.StatusBadRequest, errorBody(err.Error()))
	case domain.ErrorKind(err) == domain.KindInvalid:
		return answer(c, http.StatusBadRequest, errorBody(err.Error()))
	case err != nil:
		return err
	case res.Replayed:
		return answer(c, http.StatusOK, map[string]any{"installed": true, "replayed": true})
	case res.GatewayPending:
		return answer(c, http.StatusOK, map[string]any{"installed": true, "gatewayPending": true})
	}
	return answer(c, http.StatusOK, map[string]any{"installed": true, "gatewayId": res.GatewayID})
}

// uninstall is Duda's signed uninstall call: our payment gateway is deleted from the Duda site
// and the site's tokens wiped.
func (a *App) uninstall(c echo.Context) error {
	caller, body, err := a.verifiedLifecycle(c)
	if caller == nil {
		return err
	}
	var p duda.UninstallPayload
	if err := json.Unmarshal(body, &p); err != nil || p.SiteName == "" {
		return answer(c, http.StatusBadRequest, errorBody("the uninstall payload needs site_name"))
	}
	replayed, err := a.uc.Uninstall(c.Request().Context(), caller, p.SiteName)
	if err != nil {
		return err
	}
	if replayed {
		return answer(c, http.StatusOK, map[string]any{"uninstalled": true, "replayed": true})
	}
	return answer(c, http.StatusOK, map[string]any{"uninstalled": true})
}
