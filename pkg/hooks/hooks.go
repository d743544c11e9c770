// Package hooks receives payment providers' webhooks at /hooks/{provider}/{providerId} on the
// main backend (root, no /api/v1 prefix). Every delivery is verified with that provider's own
// secret, stored raw with its events (deduplicated by the provider's event id) and queued for
// processing in one database transaction, then acknowledged at once; the events are applied by
// background jobs, so a slow database never makes a provider retry.
package hooks

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/providers"
)

// MaxBody is the largest webhook body accepted.
const MaxBody = 1 << 20

// ErrBadSignature is what verifiers return (wrapped) for a signature that does not verify
// (providers.ErrBadSignature).
var ErrBadSignature = providers.ErrBadSignature

// ErrMalformed is what verifiers return (wrapped) for a correctly signed body that is not a
// well-formed event (or batch) of the provider (providers.ErrMalformed). It is answered 400
// with CodeMalformedEvent and a message saying "malformed", distinct from a bad signature's
// answer.
var ErrMalformed = providers.ErrMalformed

// CodeMalformedEvent is the stable error code of a signed but malformed webhook.
const CodeMalformedEvent = "MALFORMED_EVENT"

// Answers says how a provider expects to be answered.
type Answers = providers.Answers

// Server routes provider webhooks.
type Server struct {
	svc     *payment.Service
	log     *slog.Logger
	metrics *metrics.Registry
}

// New builds the webhook receiver.
func New(svc *payment.Service, log *slog.Logger, m *metrics.Registry) *Server {
	return &Server{svc: svc, log: log, metrics: m}
}

// RegisterAll mounts the webhooks of every provider of set that has them (providers.Webhooks).
func (s *Server) RegisterAll(e *echo.Echo, set providers.Set) {
	for _, t := range set.Types() {
		if v, ok := set[t].(providers.Webhooks); ok {
			s.Register(e, t, v)
		}
	}
}

// Register mounts POST /hooks/{t}/:providerId for a provider type.
func (s *Server) Register(e *echo.Echo, t domain.ProviderType, v providers.Webhooks) {
	a := v.WebhookAnswers()
	e.POST("/hooks/"+string(t)+"/:providerId", func(c echo.Context) error { return s.receive(c, t, v, a) })
}

func (s *Server) receive(c echo.Context, t domain.ProviderType, v providers.Webhooks, a Answers) error {
	ctx := c.Request().Context()
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, MaxBody+1))
	if err != nil || len(body) > MaxBody {
		return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "body too large"})
	}
	p, err := s.svc.WebhookProvider(ctx, c.Param("providerId"))
	if err != nil || p.Type != t {
		return c.JSON(http.StatusNotFound, map[string]string{"error": "unknown provider"})
	}
	creds, err := s.svc.ProviderCredentials(ctx, p)
	if err != nil {
		return err
	}
	events, err := v.VerifyWebhook(ctx, p, creds, body, c.Request().Header)
	if err != nil {
		if errors.Is(err, ErrBadSignature) {
			s.metrics.WebhookFailures.WithLabelValues(string(t)).Inc()
			s.log.WarnContext(ctx, "webhook signature rejected", "provider_id", p.ID, "error", err)
			return c.JSON(a.BadSignature, map[string]string{"error": "invalid signature"})
		}
		if errors.Is(err, ErrMalformed) {
			s.log.WarnContext(ctx, "signed webhook is malformed", "provider_id", p.ID, "error", err)
			msg := err.Error()
			if !strings.HasPrefix(msg, ErrMalformed.Error()) {
				msg = ErrMalformed.Error() + ": " + msg
			}
			return c.JSON(http.StatusBadRequest, map[string]string{"error": msg, "message": msg, "code": CodeMalformedEvent})
		}
		if domain.ErrorKind(err) == domain.KindInvalid {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": err.Error()})
		}
		return err
	}
	fresh, err := s.svc.ReceiveWebhook(ctx, p, headersOf(c.Request().Header), body, events)
	if err != nil {
		return err // 5xx: the provider retries, and the retry is deduplicated
	}
	if a.OK == http.StatusNoContent {
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(a.OK, map[string]any{"received": len(events), "new": fresh})
}

// headersOf keeps the headers worth storing with the raw delivery (no credentials).
func headersOf(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "cookie" || len(vs) == 0 {
			continue
		}
		out[k] = vs[0]
	}
	return out
}
