package adminapi

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

//go:embed openapi.json
var openAPIDoc []byte

// openAPI serves the OpenAPI 3.1 document of this API.
func (a *API) openAPI(c echo.Context, _ *Request) (int, any, error) {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return 0, nil, c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPIDoc)
}
