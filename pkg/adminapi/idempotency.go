package adminapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/store"
)

var idemKeyRE = regexp.MustCompile(`^[\x21-\x7E]{1,255}$`)

// inFlightLease bounds how long a claimed key blocks retries if its process dies mid-request.
const inFlightLease = 60 * time.Second

// idempotent runs a POST carrying an Idempotency-Key at most once per organisation and key:
// the same key with the same request replays the first answer byte for byte (with
// Idempotent-Replayed: true); with a different request it is 422 IDEMPOTENCY_KEY_REUSED;
// while the first is still running it is 409. The answer is stored in the same database
// transaction as the request's changes, so a crash leaves either both or neither.
func (a *API) idempotent(c echo.Context, r Route, req *Request) error {
	key := c.Request().Header.Get("Idempotency-Key")
	if !idemKeyRE.MatchString(key) {
		return domain.Invalid("Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return &domain.Error{Kind: domain.KindTooLarge, Code: domain.CodeTooLarge, Message: "request body is larger than 1 MiB"}
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	h := sha256.New()
	h.Write([]byte(r.Method + " " + c.Request().URL.Path + "\n"))
	h.Write(raw)
	hash := hex.EncodeToString(h.Sum(nil))
	ctx := c.Request().Context()
	st := a.d.Store

	outcome, rec, err := st.BeginIdempotency(ctx, req.Org, key, hash, inFlightLease, a.d.IdempotencyTTL)
	if err != nil {
		return err
	}
	switch outcome {
	case store.IdemReplay:
		c.Response().Header().Set("Idempotent-Replayed", "true")
		status := http.StatusOK
		if rec.StatusCode != nil {
			status = *rec.StatusCode
		}
		if rec.ResponseBody == nil || *rec.ResponseBody == "" {
			return c.NoContent(status)
		}
		ct := rec.ContentType
		if ct == "" {
			ct = echo.MIMEApplicationJSON
		}
		return c.Blob(status, ct, []byte(*rec.ResponseBody))
	case store.IdemReused:
		return domain.Unprocessable(domain.CodeIdempotencyReused, "this Idempotency-Key was already used with a different request")
	case store.IdemInFlight:
		return domain.Conflict(domain.CodeIdempotencyInFlight, "a request with this Idempotency-Key is still being processed; retry later")
	}

	var status int
	var body []byte
	run := func(svc *platform.Service, complete bool) error {
		bound := *req
		bound.Service = svc
		s, out, err := r.Handler(c, &bound)
		if err != nil {
			return err
		}
		if s != http.StatusNoContent && out != nil {
			if body, err = marshal(out); err != nil {
				return domain.Internal(err, "encode response")
			}
		}
		status = s
		if complete {
			return svc.Store().CompleteIdempotency(ctx, req.Org, key, status, body, echo.MIMEApplicationJSON)
		}
		return nil
	}
	if r.External {
		err = run(a.d.Service, false)
		if err == nil {
			err = st.CompleteIdempotency(ctx, req.Org, key, status, body, echo.MIMEApplicationJSON)
		}
	} else {
		err = a.d.Service.InTx(ctx, func(svc *platform.Service) error { return run(svc, true) })
	}
	if err != nil {
		return a.failIdempotent(c, req.Org, key, err)
	}
	if body == nil {
		return c.NoContent(status)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// failIdempotent stores a client error as the key's answer (so a retry gets the same error),
// but releases the key after a server-side failure so the request can be retried.
func (a *API) failIdempotent(c echo.Context, org, key string, err error) error {
	ctx := c.Request().Context()
	status := httpapi.StatusOf(domain.ErrorKind(err))
	if status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests {
		if rerr := a.d.Store.ReleaseIdempotency(ctx, org, key); rerr != nil {
			a.d.Log.WarnContext(ctx, "release idempotency key", "error", rerr)
		}
		return err
	}
	_, body := httpapi.ErrorResponse(err, httpapi.RequestID(c), a.d.Log, ctx)
	b, merr := httpapi.MarshalJSON(body)
	if merr == nil {
		merr = a.d.Store.CompleteIdempotency(ctx, org, key, status, b, echo.MIMEApplicationJSON)
	}
	if merr != nil {
		a.d.Log.WarnContext(ctx, "store idempotent error answer", "error", merr)
		_ = a.d.Store.ReleaseIdempotency(ctx, org, key)
	}
	return err
}

func marshal(v any) ([]byte, error) { return httpapi.MarshalJSON(v) }
