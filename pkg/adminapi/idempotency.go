package adminapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
)

// IdempotencyScope is the key under which a request's answer is kept (idempotency.Scope).
func IdempotencyScope(actor domain.Actor, key string) string { return idempotency.Scope(actor, key) }

type txServicesKey struct{}

// newIdempotency builds the layer: Local routes run in one transaction (Deps.InTx), whose bound
// services the handler gets (Request.Services) and whose Keys keep the answer.
func newIdempotency(d Deps) *idempotency.Layer {
	return idempotency.New(idempotency.Config{Store: d.Keys, Sealer: d.Tenancy, TTL: d.IdempotencyTTL, Lease: d.IdempotencyLease, Log: d.Log,
		InTx: func(ctx context.Context, fn func(context.Context, idempotency.Store, idempotency.Sealer) error) error {
			return d.InTx(ctx, func(svc Services) error {
				return fn(context.WithValue(ctx, txServicesKey{}, svc), svc.Keys, svc.Tenancy)
			})
		}})
}

// idempotent runs an admitted POST carrying an Idempotency-Key through the layer, by the
// route's declaration.
func (a *API) idempotent(c echo.Context, r Route, req *Request) error {
	decl := idempotency.Decl{Strategy: r.Idem, Secret: r.Secret}
	return a.idem.Serve(c, decl, req.Actor, func(ctx context.Context) (int, []byte, error) {
		bound := *req
		if svc, ok := ctx.Value(txServicesKey{}).(Services); ok {
			bound.Services = svc
			bound.inTx = func(_ context.Context, fn func(Services) error) error { return fn(svc) } // already in it
		}
		bound.Claim = idempotency.ClaimFrom(ctx)
		status, out, err := r.Handler(c, &bound)
		if err != nil || status == http.StatusNoContent || out == nil {
			return status, nil, err
		}
		body, err := marshal(out)
		if err != nil {
			return 0, nil, domain.Internal(err, "encode response")
		}
		return status, body, nil
	})
}

func marshal(v any) ([]byte, error) {
	if b, ok := v.(rawJSON); ok {
		return b, nil
	}
	return httpapi.MarshalJSON(v)
}
