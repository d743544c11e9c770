// Package idempotency is the one layer that runs a POST carrying an Idempotency-Key at most
// once: the HTTP side (Layer.Serve, called by the API's route wrapper after authentication,
// permission and mode checks, so a replay is never an authorisation bypass) and the port it
// stores answers through (Store, implemented by the store).
//
// The rules, the same for every route: a key lives in the namespace of the actor who sent it
// (API key or user) within the organisation (Scope), and a request is identified by method,
// path, the actor's mode and body (Hash). The same key with the same request replays the first
// answer byte for byte (Idempotent-Replayed: true); with a different request it is 422
// IDEMPOTENCY_KEY_REUSED; while the first is still running it is 409 IDEMPOTENCY_KEY_IN_FLIGHT.
// A client error is kept as the answer; after a server-side failure (5xx, 409, 429) nothing is
// kept, so the request can be retried.
//
// Where the answer is written is the route's declared Strategy:
//
//   - InUseCase: the use case writes the answer in its own statement (a checkout and its
//     answer are one INSERT); the handler gets the claim (ClaimFrom) and fills in the answer.
//   - Local: the handler's writes and the answer share one database transaction, which the
//     layer opens (Transactor) after the key's lock.
//   - External: the key is claimed in a commit of its own, the handler calls other systems
//     with no transaction open, and the answer is stored afterwards; the claim's lease is
//     renewed while the handler runs, so a slow provider never lets a duplicate through.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
)

// Strategy says where a route's answer is written.
type Strategy int

// The strategies (the zero value is none: a POST route must declare one).
const (
	InUseCase Strategy = iota + 1
	Local
	External
)

func (s Strategy) String() string {
	switch s {
	case InUseCase:
		return "in-use-case"
	case Local:
		return "local"
	case External:
		return "external"
	}
	return "none"
}

// Decl is what a route declares about its idempotency.
type Decl struct {
	Strategy Strategy
	// Secret answers show something once (an API key, a webhook secret): they are stored
	// sealed with the organisation's data key. Local routes only.
	Secret bool
}

// Store is the port the layer keeps records through. Lookup, Claim, Renew, Complete and
// Release each commit on their own; Lock, DeleteStale and Save run in the transaction the
// Store was bound to (Transactor).
type Store interface {
	Lookup(ctx context.Context, orgID, key string) (*domain.IdempotencyRecord, error)
	Claim(ctx context.Context, orgID, key, hash string, lease, ttl time.Duration) (bool, *domain.IdempotencyRecord, error)
	Renew(ctx context.Context, orgID, key, hash string, lease time.Duration) (bool, error)
	Complete(ctx context.Context, orgID, key string, status int, body []byte, contentType string) error
	Release(ctx context.Context, orgID, key string) error
	Lock(ctx context.Context, orgID, key string) (bool, *domain.IdempotencyRecord, error)
	DeleteStale(ctx context.Context, orgID, key string) error
	Save(ctx context.Context, orgID, key, hash string, status int, body []byte, contentType string, ttl time.Duration) error
}

// Sealer seals and opens answers that carry a secret, with the organisation's data key.
type Sealer interface {
	SealAnswer(ctx context.Context, orgID, ref string, body []byte) (string, error)
	OpenAnswer(ctx context.Context, orgID, ref, sealed string) ([]byte, error)
}

// Transactor runs fn in one database transaction, with the port bound to it; ctx carries
// whatever the handler needs to write in the same transaction (the caller's business).
type Transactor func(ctx context.Context, fn func(ctx context.Context, keys Store, seal Sealer) error) error

// Config are the layer's collaborators and settings.
type Config struct {
	Store  Store
	Sealer Sealer
	InTx   Transactor
	// TTL is how long answers are kept (default 48 h).
	TTL time.Duration
	// Lease is how long an External claim blocks duplicates without being renewed (a
	// process that died); the holder renews it every third of it (default 60 s).
	Lease time.Duration
	Log   *slog.Logger
}

// Layer runs requests idempotently.
type Layer struct{ c Config }

// New builds the layer.
func New(c Config) *Layer {
	if c.TTL == 0 {
		c.TTL = 48 * time.Hour
	}
	if c.Lease == 0 {
		c.Lease = 60 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Layer{c: c}
}

// Run runs a route's handler once and returns its answer (body nil: none). For Local routes
// ctx carries the transaction; for InUseCase routes ClaimFrom(ctx) is the claim its use case
// must write the answer with.
type Run func(ctx context.Context) (status int, body []byte, err error)

// Applies says whether a request goes through the layer: a POST with an Idempotency-Key.
func Applies(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != ""
}

var keyRE = regexp.MustCompile(`^[\x21-\x7E]{1,255}$`)

// Errors of the layer (their codes are the API's contract).
var (
	ErrInFlight = domain.Conflict(domain.CodeIdempotencyInFlight, "a request with this Idempotency-Key is still being processed; retry later")
	ErrReused   = domain.Unprocessable(domain.CodeIdempotencyReused, "this Idempotency-Key was already used with a different request")
	errShown    = domain.Conflict(domain.CodeSecretShownOnce,
		"this Idempotency-Key's request succeeded and its answer held a secret that is shown only once; it is not kept to be replayed")
)

// Scope is the key under which a request's answer is kept: the client's Idempotency-Key in the
// namespace of the actor who sent it (API key or user); the organisation is the record's other
// key. An answer is replayed only to the actor who asked; another actor's request with the
// same key is a request of its own, which the route's permission check has already admitted.
func Scope(actor domain.Actor, key string) string {
	return actor.Type + ":" + actor.ID + "/" + key
}

// Hash identifies a request for its Idempotency-Key: method, path, the mode of an API key (a
// live key reusing a test key's Idempotency-Key is another request) and body.
func Hash(method, path string, mode domain.Mode, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + " " + string(mode) + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// call is one request through the layer.
type call struct {
	c              echo.Context
	org, key, hash string
}

// Serve runs an admitted request (authenticated, permission and object mode checked) by the
// route's declaration, and writes its answer or replay.
func (l *Layer) Serve(c echo.Context, d Decl, actor domain.Actor, run Run) error {
	key := c.Request().Header.Get("Idempotency-Key")
	if !keyRE.MatchString(key) {
		return domain.Invalid("Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
	}
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return &domain.Error{Kind: domain.KindTooLarge, Code: domain.CodeTooLarge, Message: "request body is larger than 1 MiB"}
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(raw))
	k := &call{c: c, org: actor.OrganizationID, key: Scope(actor, key), hash: Hash(c.Request().Method, c.Request().URL.Path, actor.Mode, raw)}
	if d.Secret && d.Strategy != Local {
		return domain.Internal(nil, "a secret answer must be declared Local")
	}
	switch d.Strategy {
	case InUseCase:
		return l.inUseCase(k, raw, run)
	case Local:
		return l.local(k, d, run)
	case External:
		return l.external(k, run)
	}
	return domain.Internal(nil, "route %s %s declares no idempotency strategy", c.Request().Method, c.Path())
}

// Verdicts of judge on a key's existing record.
const (
	run    = iota // no record: run the request
	retake        // an expired record, or a claim whose process died: delete it, then run
	replay        // the stored answer is the answer
)

// judge says what a key's record (nil: none) means for a request with this hash.
func judge(rec *domain.IdempotencyRecord, hash string, now time.Time) (int, error) {
	switch {
	case rec == nil:
		return run, nil
	case !rec.ExpiresAt.After(now):
		return retake, nil
	case rec.RequestHash != hash:
		return 0, ErrReused
	case rec.Completed:
		return replay, nil
	case rec.LockedUntil != nil && rec.LockedUntil.After(now):
		return 0, ErrInFlight
	}
	return retake, nil
}

// lookUp reads the key's record (without a lock) and judges it.
func (l *Layer) lookUp(k *call) (*domain.IdempotencyRecord, int, error) {
	rec, err := l.c.Store.Lookup(k.c.Request().Context(), k.org, k.key)
	if err != nil {
		return nil, 0, err
	}
	v, err := judge(rec, k.hash, time.Now())
	return rec, v, err
}

// sealedPrefix marks a stored answer sealed with the organisation's data key (Decl.Secret);
// redactedMark stands for a secret answer that could not be sealed (an actor outside any
// organisation): its replay is refused, since the secret was shown once.
const (
	sealedPrefix = "sealed:"
	redactedMark = "redacted"
)

// replay sends a stored answer again, opening a sealed one.
func (l *Layer) replay(k *call, rec *domain.IdempotencyRecord) error {
	c := k.c
	if rec.Body != nil && *rec.Body == redactedMark {
		return errShown
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	status := rec.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if rec.Body == nil || *rec.Body == "" {
		return c.NoContent(status)
	}
	body := []byte(*rec.Body)
	if sealed, ok := strings.CutPrefix(*rec.Body, sealedPrefix); ok {
		var err error
		if body, err = l.c.Sealer.OpenAnswer(c.Request().Context(), rec.OrganizationID, rec.Key, sealed); err != nil {
			return err
		}
	}
	ct := rec.ContentType
	if ct == "" {
		ct = echo.MIMEApplicationJSON
	}
	return c.Blob(status, ct, body)
}

// answer writes a fresh answer.
func answer(c echo.Context, status int, body []byte) error {
	if body == nil {
		return c.NoContent(status)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// retryable failures leave nothing stored: the request can be retried.
func retryable(err error) bool {
	status := httpapi.StatusOf(domain.ErrorKind(err))
	return status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests
}

// errorBody renders a client error as the key's answer.
func (l *Layer) errorBody(k *call, err error) (int, []byte, error) {
	status, body := httpapi.ErrorResponse(err, httpapi.RequestID(k.c), l.c.Log, k.c.Request().Context())
	b, merr := httpapi.MarshalJSON(body)
	return status, b, merr
}

// keepFailure keeps a client error as the key's answer (a retry gets the same error).
func (l *Layer) keepFailure(k *call, err error) error {
	if retryable(err) {
		return err
	}
	ctx := k.c.Request().Context()
	status, b, merr := l.errorBody(k, err)
	if merr == nil {
		merr = l.c.Store.Save(ctx, k.org, k.key, k.hash, status, b, echo.MIMEApplicationJSON, l.c.TTL)
	}
	if domain.IsConflict(merr) {
		// Another request with the key finished first: the key's answer is its answer.
		switch rec, v, jerr := l.lookUp(k); {
		case jerr != nil:
			return jerr
		case v == replay:
			return l.replay(k, rec)
		}
		return ErrInFlight // it went stale meanwhile: let the client retry
	}
	if merr != nil {
		l.c.Log.WarnContext(ctx, "store idempotent error answer", "error", merr)
	}
	return err
}

// errNoAnswer: an InUseCase route's handler succeeded without writing the key's answer.
var errNoAnswer = errors.New("the route did not store its idempotency answer")
