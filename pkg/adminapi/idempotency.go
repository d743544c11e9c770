package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
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
	key = IdempotencyScope(req.Actor, key)
	hash := requestHash(r.Method, c.Request().URL.Path, req.Actor.Mode, raw)
	ctx := c.Request().Context()
	switch {
	case r.External:
		return a.idempotentExternal(c, r, req, key, hash)
	case r.OneWrite:
		return a.idempotentOneWrite(c, r, req, key, hash, raw)
	}
	var status int
	var body []byte
	var replay *store.IdempotencyRecord
	err = a.d.Service.InTx(ctx, func(svc *platform.Service) error {
		st := svc.IdempotencyRecords()
		ok, rec, err := st.LockIdempotency(ctx, req.Org, key)
		if err != nil {
			return err
		}
		if !ok {
			return errInFlight
		}
		switch v, err := judge(rec, hash); {
		case err != nil:
			return err
		case v == idemReplay:
			replay = rec
			return nil
		case v == idemRetake:
			if err := st.DeleteStaleIdempotency(ctx, req.Org, key); err != nil {
				return err
			}
		}
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
		stored := body
		switch {
		case r.Secret && body != nil && req.Org == "":
			stored = []byte(redactedMark) // no organisation, no data key: the secret is not kept
		case r.Secret && body != nil:
			sealed, err := svc.SealAnswer(ctx, req.Org, key, body)
			if err != nil {
				return err
			}
			stored = []byte(sealedPrefix + sealed)
		}
		return st.SaveIdempotency(ctx, req.Org, key, hash, status, stored, echo.MIMEApplicationJSON, a.d.IdempotencyTTL)
	})
	switch {
	case replay != nil:
		return a.writeReplay(c, replay)
	case errors.Is(err, errInFlight) || errors.Is(err, errReused):
		return err
	case err != nil:
		return a.storeFailure(c, req.Org, key, hash, err)
	}
	if body == nil {
		return c.NoContent(status)
	}
	return c.Blob(status, echo.MIMEApplicationJSON, body)
}

// requestHash identifies a request for its Idempotency-Key: method, path, the mode of an API
// key (a live key reusing a test key's Idempotency-Key is another request) and body.
func requestHash(method, path string, mode domain.Mode, body []byte) string {
	h := sha256.New()
	h.Write([]byte(method + " " + path + " " + string(mode) + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Verdicts of judge on a key's existing record.
const (
	idemRun    = iota // no record: run the request
	idemRetake        // an expired record, or a claim whose process died: delete it, then run
	idemReplay        // the stored answer is the answer
)

// judge says what a key's record (nil: none) means for a request with this hash:
// IDEMPOTENCY_KEY_REUSED for another request, IDEMPOTENCY_KEY_IN_FLIGHT while its first
// request still runs.
func judge(rec *store.IdempotencyRecord, hash string) (int, error) {
	now := store.Now()
	switch {
	case rec == nil:
		return idemRun, nil
	case !rec.ExpiresAt.After(now):
		return idemRetake, nil
	case rec.RequestHash != hash:
		return 0, errReused
	case rec.State == "completed":
		return idemReplay, nil
	case rec.LockedUntil != nil && rec.LockedUntil.After(now):
		return 0, errInFlight
	}
	return idemRetake, nil
}

// lookUp reads the key's record (without a lock) and judges it for a request with this hash.
func (a *API) lookUp(ctx context.Context, org, key, hash string) (*store.IdempotencyRecord, int, error) {
	rec, err := a.d.Store.GetIdempotency(ctx, org, key)
	if err != nil {
		return nil, 0, err
	}
	v, err := judge(rec, hash)
	return rec, v, err
}

// idempotentOneWrite serves a OneWrite route. The handler validates and then writes its change
// and the key's answer in one statement, which writes nothing if the key already has a record
// or another request holds it at that moment (409). The key's record is read only when the
// handler did not succeed: a stored answer (a retry, or a concurrent request that won) is
// replayed even if the request would now fail, a record of another request is 422, an expired
// one or a dead claim is replaced; with no record, a client error is stored as the answer.
// Nothing is held open between the handler's reads and its write, so the common case costs the
// handler's own round trips and no transaction.
func (a *API) idempotentOneWrite(c echo.Context, r Route, req *Request, key, hash string, raw []byte) error {
	ctx := c.Request().Context()
	st := a.d.Store
	for attempt := 0; attempt < 3; attempt++ {
		c.Request().Body = io.NopCloser(bytes.NewReader(raw))
		bound := *req
		bound.Claim = &store.IdempotencyClaim{OrganizationID: req.Org, Key: key, Hash: hash, TTL: a.d.IdempotencyTTL, ContentType: echo.MIMEApplicationJSON}
		status, out, err := r.Handler(c, &bound)
		switch {
		case err == nil && bound.Claim.Body == nil:
			return domain.Internal(nil, "route %s %s did not store its idempotency answer", r.Method, r.Path)
		case err == nil:
			return render(c, status, out)
		}
		// The key's record decides (a retry, or a concurrent request that won). Busy means
		// another request held the key: it may be a retry of an answered one, so look too.
		rec, v, jerr := a.lookUp(ctx, req.Org, key, hash)
		switch {
		case jerr != nil:
			return jerr
		case v == idemReplay:
			return a.writeReplay(c, rec)
		case errors.Is(err, store.ErrIdempotencyBusy):
			return errInFlight // its holder answers it
		case v == idemRetake:
			if derr := st.DeleteStaleIdempotency(ctx, req.Org, key); derr != nil {
				return derr
			}
			continue
		case errors.Is(err, store.ErrIdempotencyAnswered):
			continue // its record went away before we looked (swept): run again
		}
		return a.storeFailure(c, req.Org, key, hash, err)
	}
	return errInFlight
}

var (
	errInFlight = domain.Conflict(domain.CodeIdempotencyInFlight, "a request with this Idempotency-Key is still being processed; retry later")
	errReused   = domain.Unprocessable(domain.CodeIdempotencyReused, "this Idempotency-Key was already used with a different request")
)

// IdempotencyScope is the key under which a request's answer is kept: the client's Idempotency-Key
// in the namespace of the actor who sent it (API key or user), within the organisation. An
// answer is replayed only to the actor who asked; another actor's request with the same key
// is a request of its own, which the route's permission check has already admitted.
func IdempotencyScope(actor domain.Actor, key string) string {
	return actor.Type + ":" + actor.ID + "/" + key
}

// sealedPrefix marks a stored answer sealed with the organisation's data key (Route.Secret);
// redactedMark stands for a secret answer that could not be sealed (an actor outside any
// organisation): its replay is refused, since the secret was shown once.
const (
	sealedPrefix = "sealed:"
	redactedMark = "redacted"
)

var errSecretShownOnce = domain.Conflict(domain.CodeSecretShownOnce,
	"this Idempotency-Key's request succeeded and its answer held a secret that is shown only once; it is not kept to be replayed")

// writeReplay sends a stored answer again, opening a sealed one.
func (a *API) writeReplay(c echo.Context, rec *store.IdempotencyRecord) error {
	if rec.ResponseBody != nil && *rec.ResponseBody == redactedMark {
		return errSecretShownOnce
	}
	c.Response().Header().Set("Idempotent-Replayed", "true")
	status := http.StatusOK
	if rec.StatusCode != nil {
		status = *rec.StatusCode
	}
	if rec.ResponseBody == nil || *rec.ResponseBody == "" {
		return c.NoContent(status)
	}
	body := []byte(*rec.ResponseBody)
	if sealed, ok := strings.CutPrefix(*rec.ResponseBody, sealedPrefix); ok {
		var err error
		if body, err = a.d.Service.OpenAnswer(c.Request().Context(), rec.OrganizationID, rec.IdemKey, sealed); err != nil {
			return err
		}
	}
	ct := rec.ContentType
	if ct == "" {
		ct = echo.MIMEApplicationJSON
	}
	return c.Blob(status, ct, body)
}

// storeFailure keeps a client error as the key's answer (a retry gets the same error); after
// a server-side failure nothing is kept, so the request can be retried.
func (a *API) storeFailure(c echo.Context, org, key, hash string, err error) error {
	ctx := c.Request().Context()
	status := httpapi.StatusOf(domain.ErrorKind(err))
	if status >= 500 || status == http.StatusConflict || status == http.StatusTooManyRequests {
		return err
	}
	_, body := httpapi.ErrorResponse(err, httpapi.RequestID(c), a.d.Log, ctx)
	b, merr := httpapi.MarshalJSON(body)
	if merr == nil {
		merr = a.d.Store.SaveIdempotency(ctx, org, key, hash, status, b, echo.MIMEApplicationJSON, a.d.IdempotencyTTL)
	}
	if domain.IsConflict(merr) {
		// Another request with the key finished first: the key's answer is its answer.
		switch rec, v, jerr := a.lookUp(ctx, org, key, hash); {
		case jerr != nil:
			return jerr
		case v == idemReplay:
			return a.writeReplay(c, rec)
		}
		return errInFlight // it went stale meanwhile: let the client retry
	}
	if merr != nil {
		a.d.Log.WarnContext(ctx, "store idempotent error answer", "error", merr)
	}
	return err
}

// idempotentExternal serves routes that call providers: the key is claimed in its own commit
// (never hold a database transaction across a provider call), the handler runs, and the
// answer is stored afterwards. The provider calls themselves are idempotent, so a retry after
// a crash between the two repeats nothing.
func (a *API) idempotentExternal(c echo.Context, r Route, req *Request, key, hash string) error {
	ctx := c.Request().Context()
	st := a.d.Store
	outcome, rec, err := st.BeginIdempotency(ctx, req.Org, key, hash, inFlightLease, a.d.IdempotencyTTL)
	if err != nil {
		return err
	}
	switch outcome {
	case store.IdemReplay:
		return a.writeReplay(c, rec)
	case store.IdemReused:
		return errReused
	case store.IdemInFlight:
		return errInFlight
	}
	status, out, err := r.Handler(c, req)
	var body []byte
	if err == nil && status != http.StatusNoContent && out != nil {
		body, err = marshal(out)
	}
	if err == nil {
		err = st.CompleteIdempotency(ctx, req.Org, key, status, body, echo.MIMEApplicationJSON)
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

func marshal(v any) ([]byte, error) {
	if b, ok := v.(rawJSON); ok {
		return b, nil
	}
	return httpapi.MarshalJSON(v)
}
