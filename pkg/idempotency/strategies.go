package idempotency

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

type claimKey struct{}

// ClaimFrom returns the claim an InUseCase route's use case writes its answer with (nil when
// the request carries no Idempotency-Key). The handler fills in Status and Body.
func ClaimFrom(ctx context.Context) *domain.IdempotencyClaim {
	c, _ := ctx.Value(claimKey{}).(*domain.IdempotencyClaim)
	return c
}

// inUseCase serves an InUseCase route. The handler validates (before anything is written or
// held) and then its use case writes its change and the key's answer in one statement, which
// writes nothing if the key already has a record or another request holds it at that moment.
// The key's record is read only when the handler did not succeed: a stored answer (a retry, or
// a concurrent request that won) is replayed even if the request would now fail, a record of
// another request is 422, an expired one or a dead claim is replaced; with no record, a client
// error is stored as the answer. The common case costs the use case's own round trips.
func (l *Layer) inUseCase(k *call, raw []byte, run Run) error {
	ctx := k.c.Request().Context()
	for attempt := 0; attempt < 3; attempt++ {
		k.c.Request().Body = io.NopCloser(bytes.NewReader(raw))
		claim := &domain.IdempotencyClaim{OrganizationID: k.org, Key: k.key, Hash: k.hash, TTL: l.c.TTL, ContentType: echo.MIMEApplicationJSON}
		status, body, err := run(context.WithValue(ctx, claimKey{}, claim))
		switch {
		case err == nil && claim.Body == nil:
			return domain.Internal(errNoAnswer, "route %s %s did not store its idempotency answer", k.c.Request().Method, k.c.Path())
		case err == nil:
			return answer(k.c, status, body)
		}
		// The key's record decides (a retry, or a concurrent request that won). Busy means
		// another request held the key: it may be a retry of an answered one, so look too.
		rec, v, jerr := l.lookUp(k)
		switch {
		case jerr != nil:
			return jerr
		case v == replay:
			return l.replay(k, rec)
		case errors.Is(err, domain.ErrIdempotencyBusy):
			return ErrInFlight // its holder answers it
		case v == retake:
			if derr := l.c.Store.DeleteStale(ctx, k.org, k.key); derr != nil {
				return derr
			}
			continue
		case errors.Is(err, domain.ErrIdempotencyAnswered):
			continue // its record went away before we looked (swept): run again
		}
		return l.keepFailure(k, err)
	}
	return ErrInFlight
}

// local serves a Local route: under the key's lock, the handler's writes and the answer are
// one transaction, so a crash leaves either both or neither.
func (l *Layer) local(k *call, d Decl, run Run) error {
	var status int
	var body []byte
	var rec *domain.IdempotencyRecord
	err := l.c.InTx(k.c.Request().Context(), func(ctx context.Context, keys Store, seal Sealer) error {
		ok, found, err := keys.Lock(ctx, k.org, k.key)
		if err != nil {
			return err
		}
		if !ok {
			return ErrInFlight
		}
		switch v, err := judge(found, k.hash, time.Now()); {
		case err != nil:
			return err
		case v == replay:
			rec = found
			return nil
		case v == retake:
			if err := keys.DeleteStale(ctx, k.org, k.key); err != nil {
				return err
			}
		}
		if status, body, err = run(ctx); err != nil {
			return err
		}
		stored := body
		switch {
		case d.Secret && body != nil && k.org == "":
			stored = []byte(redactedMark) // no organisation, no data key: the secret is not kept
		case d.Secret && body != nil:
			sealed, err := seal.SealAnswer(ctx, k.org, k.key, body)
			if err != nil {
				return err
			}
			stored = []byte(sealedPrefix + sealed)
		}
		return keys.Save(ctx, k.org, k.key, k.hash, status, stored, echo.MIMEApplicationJSON, l.c.TTL)
	})
	switch {
	case rec != nil && err == nil:
		return l.replay(k, rec)
	case errors.Is(err, ErrInFlight) || errors.Is(err, ErrReused):
		return err
	case err != nil:
		return l.keepFailure(k, err)
	}
	return answer(k.c, status, body)
}

// external serves an External route: the key is claimed in its own commit (a database
// transaction is never held across a call to another system), the handler runs while the
// claim's lease is renewed, and the answer is stored afterwards. The calls themselves are
// idempotent, so a retry after a crash between the two repeats nothing.
func (l *Layer) external(k *call, run Run) error {
	ctx := k.c.Request().Context()
	claimed, rec, err := l.c.Store.Claim(ctx, k.org, k.key, k.hash, l.c.Lease, l.c.TTL)
	if err != nil {
		return err
	}
	if !claimed {
		switch v, err := judge(rec, k.hash, time.Now()); {
		case err != nil:
			return err
		case v == replay:
			return l.replay(k, rec)
		}
		return ErrInFlight // a dead claim the store did not take over: retry
	}
	stop := l.renew(k)
	status, body, err := run(ctx)
	stop()
	if err == nil { // the effect happened: its answer is stored even if the client went away
		err = l.c.Store.Complete(context.WithoutCancel(ctx), k.org, k.key, status, body, echo.MIMEApplicationJSON)
	}
	if err != nil {
		return l.failExternal(k, err)
	}
	return answer(k.c, status, body)
}

// renew keeps an External claim's lease alive while its handler runs, renewing it every third
// of the lease; the returned stop waits until no renewal is under way.
func (l *Layer) renew(k *call) (stop func()) {
	bg := context.WithoutCancel(k.c.Request().Context())
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(l.c.Lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if ok, err := l.c.Store.Renew(bg, k.org, k.key, k.hash, l.c.Lease); !ok || err != nil {
					l.c.Log.WarnContext(bg, "idempotency claim not renewed", "error", err)
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// failExternal stores a client error as the key's answer (so a retry gets the same error),
// but releases the key after a server-side failure so the request can be retried.
func (l *Layer) failExternal(k *call, err error) error {
	ctx := context.WithoutCancel(k.c.Request().Context())
	if retryable(err) {
		if rerr := l.c.Store.Release(ctx, k.org, k.key); rerr != nil {
			l.c.Log.WarnContext(ctx, "release idempotency key", "error", rerr)
		}
		return err
	}
	status, b, merr := l.errorBody(k, err)
	if merr == nil {
		merr = l.c.Store.Complete(ctx, k.org, k.key, status, b, echo.MIMEApplicationJSON)
	}
	if merr != nil {
		l.c.Log.WarnContext(ctx, "store idempotent error answer", "error", merr)
		_ = l.c.Store.Release(ctx, k.org, k.key)
	}
	return err
}
