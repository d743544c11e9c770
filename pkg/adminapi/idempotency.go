package adminapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/platform"
)

// IdempotencyScope is the key under which a request's answer is kept (idempotency.Scope).
func IdempotencyScope(actor domain.Actor, key string) string { return idempotency.Scope(actor, key) }

// TxKeys binds the idempotency port to the transaction of a transaction-bound service (wiring
// knows the store behind both).
type TxKeys func(svc *platform.Service) idempotency.Store

type txServiceKey struct{}

// newIdempotency builds the layer: Local routes run in a transaction of the platform service,
// whose bound service the handler gets (Request.Service) and whose store keeps the answer.
func newIdempotency(d Deps) *idempotency.Layer {
	return idempotency.New(idempotency.Config{Store: d.Keys, Sealer: d.Service, TTL: d.IdempotencyTTL, Lease: d.IdempotencyLease, Log: d.Log,
		InTx: func(ctx context.Context, fn func(context.Context, idempotency.Store, idempotency.Sealer) error) error {
			return d.Service.InTx(ctx, func(svc *platform.Service) error {
				return fn(context.WithValue(ctx, txServiceKey{}, svc), d.TxKeys(svc), svc)
			})
		}})
}

// idempotent runs an admitted POST carrying an Idempotency-Key through the layer, by the
// route's declaration.
func (a *API) idempotent(c echo.Context, r Route, req *Request) error {
	decl := idempotency.Decl{Strategy: r.Idem, Secret: r.Secret}
	return a.idem.Serve(c, decl, req.Actor, func(ctx context.Context) (int, []byte, error) {
		bound := *req
		if svc, ok := ctx.Value(txServiceKey{}).(*platform.Service); ok {
			bound.Service = svc
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
