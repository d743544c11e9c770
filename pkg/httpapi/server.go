package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
)

// MaxBody is the largest request body the APIs accept.
const MaxBody = 1 << 20

// HeaderRequestID carries the request id on every request and response.
const HeaderRequestID = "X-Request-ID"

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Options configure a service's Echo instance.
type Options struct {
	Log        *slog.Logger
	Metrics    *metrics.Registry
	TrustProxy bool // take the client IP from X-Forwarded-For (behind our reverse proxy)
	// BodyLimit overrides MaxBody (0: MaxBody).
	BodyLimit int64
}

// New returns an Echo instance with the platform's middleware: request id and log scope, panic
// recovery, access log with latency, metrics, body limit, and the error envelope.
func New(o Options) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = ErrorHandler(o.Log)
	if o.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	limit := o.BodyLimit
	if limit == 0 {
		limit = MaxBody
	}
	e.Use(requestID, recoverer(o.Log), accessLog(o.Log, o.Metrics), bodyLimit(limit))
	return e
}

type ridKey struct{}

// RequestID returns the current request's id.
func RequestID(c echo.Context) string {
	if v, ok := c.Get("request_id").(string); ok {
		return v
	}
	return ""
}

// RequestIDFrom returns the request id stored in a context.
func RequestIDFrom(ctx context.Context) string {
	v, _ := ctx.Value(ridKey{}).(string)
	return v
}

func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(HeaderRequestID)
		if !requestIDRE.MatchString(id) {
			id = "req_" + domain.RandomString(20)
		}
		c.Set("request_id", id)
		c.Response().Header().Set(HeaderRequestID, id)
		ctx := context.WithValue(c.Request().Context(), ridKey{}, id)
		// Every line of the request names it; the scope takes its organisation and site once
		// an inner layer knows them (logging.SetTenant), the access log line included.
		ctx = logging.With(logging.Scope(ctx), logging.KeyRequestID, id)
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler { //nolint:errorlint // the value panic was given, not a wrapped error
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "panic", "panic", fmt.Sprint(r))
					err = domain.Internal(fmt.Errorf("panic: %v", r), "internal error")
				}
			}()
			return next(c)
		}
	}
}

func accessLog(log *slog.Logger, m *metrics.Registry) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			if m != nil {
				m.HTTPRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Observe(elapsed.Seconds())
			}
			if route == "/health" || route == "/ready" || route == "/metrics" || strings.HasPrefix(route, "/assets") {
				return nil
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			log.Log(c.Request().Context(), level, "request", "method", c.Request().Method, "route", route,
				"status", status, "duration_ms", float64(elapsed.Microseconds())/1000, "ip", c.RealIP(), "bytes_out", c.Response().Size)
			return nil
		}
	}
}

func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return &domain.Error{Kind: domain.KindTooLarge, Code: domain.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			return next(c)
		}
	}
}

// ReadyFunc reports whether a service can serve (database reachable, schema current).
type ReadyFunc func(ctx context.Context) error

// Ops are a service's operational endpoints: /health (liveness), /ready (readiness) and
// /metrics (Prometheus).
//
// On the public listener (MountOps) /health is open; /ready says only whether the service is
// ready, without the reason; /metrics and the reason need the bearer Token. Without a Token,
// /metrics is served publicly in development only, and is 404 in production. The internal
// listener (InternalHandler, INTERNAL_LISTEN) serves all three in full without a token: bind
// it to an address only the operator's network reaches.
type Ops struct {
	Service string
	Ready   ReadyFunc
	Metrics http.Handler
	// Token (METRICS_TOKEN) unlocks /metrics and /ready's reason on the public listener.
	Token string
	// Dev serves /metrics on the public listener without a Token (development only).
	Dev bool
}

// authorized reports whether the request carries the ops token as a bearer token.
func (o Ops) authorized(r *http.Request) bool {
	if o.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(o.Token)) == 1
}

// MountOps registers the public /health, /ready and /metrics.
func MountOps(e *echo.Echo, o Ops) {
	e.GET("/health", o.health)
	e.GET("/ready", func(c echo.Context) error { return o.ready(c, o.authorized(c.Request())) })
	e.GET("/metrics", func(c echo.Context) error {
		if o.Metrics == nil || !(o.authorized(c.Request()) || (o.Dev && o.Token == "")) {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		c.Response().Header().Set("Cache-Control", "no-store")
		o.Metrics.ServeHTTP(c.Response(), c.Request())
		return nil
	})
}

// InternalHandler serves /health, /ready with its reason, and /metrics, for the internal
// listener only.
func (o Ops) InternalHandler(log *slog.Logger) http.Handler {
	e := New(Options{Log: log})
	e.GET("/health", o.health)
	e.GET("/ready", func(c echo.Context) error { return o.ready(c, true) })
	if o.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(o.Metrics))
	}
	return e
}

func (o Ops) health(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok", "service": o.Service})
}

func (o Ops) ready(c echo.Context, detailed bool) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	c.Response().Header().Set("Cache-Control", "no-store")
	if err := o.Ready(ctx); err != nil {
		body := map[string]string{"status": "not ready", "service": o.Service}
		if detailed {
			body["reason"] = err.Error()
		}
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready", "service": o.Service})
}

// Health registers the public GET /health and GET /ready (without the reason) and no /metrics.
func Health(e *echo.Echo, service string, ready ReadyFunc) {
	MountOps(e, Ops{Service: service, Ready: ready})
}

// Serve runs handler on addr until ctx ends, then drains in-flight requests for up to drain.
// It returns once the listener is closed and requests are done.
func Serve(ctx context.Context, log *slog.Logger, addr string, handler http.Handler, drain time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, log, ln, handler, drain)
}

// ServeListener is Serve on an existing listener (tests pass a loopback listener on port 0).
func ServeListener(ctx context.Context, log *slog.Logger, ln net.Listener, handler http.Handler, drain time.Duration) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests", "timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
