package idempotency_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/idempotency"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// server serves POST /call through the layer with the given strategy, as actor, over loopback.
func server(t *testing.T, s *store.Store, actor domain.Actor, lease time.Duration, d idempotency.Decl, run idempotency.Run) string {
	t.Helper()
	l := idempotency.New(idempotency.Config{Store: store.IdempotencyKeys{S: s}, Lease: lease,
		InTx: func(ctx context.Context, fn func(context.Context, idempotency.Store, idempotency.Sealer) error) error {
			return s.InTx(ctx, func(tx *store.Store) error { return fn(ctx, store.IdempotencyKeys{S: tx}, nil) })
		}})
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		status, body := httpapi.ErrorResponse(err, "req", slog.New(slog.DiscardHandler), c.Request().Context())
		_ = c.JSON(status, body)
	}
	e.POST("/call", func(c echo.Context) error { return l.Serve(c, d, actor, run) })
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL + "/call"
}

type answer struct {
	status   int
	body     []byte
	replayed bool
}

func post(t *testing.T, url, key, body string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return answer{status: res.StatusCode, body: b, replayed: res.Header.Get("Idempotent-Replayed") == "true"}
}

func code(t *testing.T, a answer) string {
	t.Helper()
	var v struct{ Code string }
	require.NoError(t, json.Unmarshal(a.body, &v), string(a.body))
	return v.Code
}

// A call to another system that outlives the claim's lease (a slow provider) keeps its claim:
// the holder renews the lease while the call runs, so a duplicate sent after the first lease
// ran out is still 409 IN_FLIGHT, never a second call, and gets the first answer once it is in.
func TestExternalCallOutlivesItsLeaseWithoutADuplicate(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		actor := domain.Actor{Type: domain.ActorAPIKey, ID: "key_" + domain.RandomString(8), OrganizationID: org.ID, Mode: domain.ModeTest}
		const lease = 2 * time.Second
		var calls atomic.Int32
		entered, release := make(chan struct{}), make(chan struct{})
		url := server(t, s, actor, lease, idempotency.Decl{Strategy: idempotency.External}, func(ctx context.Context) (int, []byte, error) {
			n := calls.Add(1)
			if n == 1 {
				close(entered)
				<-release
			}
			return http.StatusCreated, []byte(`{"refund":` + string(rune('0'+n)) + `}`), nil
		})
		key := "refund-" + domain.RandomString(8)
		first := make(chan answer, 1)
		go func() { first <- post(t, url, key, `{"amount":100}`) }()
		<-entered
		rec, err := s.GetIdempotency(ctx, org.ID, idempotency.Scope(actor, key))
		require.NoError(t, err)
		require.NotNil(t, rec.LockedUntil)
		claimedUntil := *rec.LockedUntil
		// Wait for the event that matters: the first lease has run out, and the holder has
		// renewed its claim past it.
		require.Eventually(t, func() bool {
			rec, err := s.GetIdempotency(ctx, org.ID, idempotency.Scope(actor, key))
			return err == nil && time.Now().After(claimedUntil) && rec.LockedUntil != nil && rec.LockedUntil.After(time.Now())
		}, 20*time.Second, 20*time.Millisecond, "the claim was not renewed past its first lease")

		dup := post(t, url, key, `{"amount":100}`)
		require.Equal(t, http.StatusConflict, dup.status, string(dup.body))
		require.Equal(t, domain.CodeIdempotencyInFlight, code(t, dup))
		require.EqualValues(t, 1, calls.Load(), "a duplicate ran while the first call was still running")

		close(release)
		got := <-first
		require.Equal(t, http.StatusCreated, got.status, string(got.body))
		again := post(t, url, key, `{"amount":100}`)
		require.Equal(t, http.StatusCreated, again.status)
		require.True(t, again.replayed)
		require.Equal(t, got.body, again.body)
		require.EqualValues(t, 1, calls.Load())

		other := post(t, url, key, `{"amount":200}`)
		require.Equal(t, http.StatusUnprocessableEntity, other.status)
		require.Equal(t, domain.CodeIdempotencyReused, code(t, other))
	})
}

// A claim whose holder died (no renewal) stops blocking once its lease runs out: the next
// request with the key runs.
func TestADeadExternalClaimIsTakenOverAfterItsLease(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		actor := domain.Actor{Type: domain.ActorUser, ID: "usr_" + domain.RandomString(8), OrganizationID: org.ID}
		key := "dead-" + domain.RandomString(8)
		hash := idempotency.Hash(http.MethodPost, "/call", actor.Mode, []byte(`{}`))
		ok, _, err := store.IdempotencyKeys{S: s}.Claim(ctx, org.ID, idempotency.Scope(actor, key), hash, -time.Second, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
		var calls atomic.Int32
		url := server(t, s, actor, time.Minute, idempotency.Decl{Strategy: idempotency.External}, func(context.Context) (int, []byte, error) {
			calls.Add(1)
			return http.StatusOK, []byte(`{}`), nil
		})
		res := post(t, url, key, `{}`)
		require.Equal(t, http.StatusOK, res.status, string(res.body))
		require.False(t, res.replayed)
		require.EqualValues(t, 1, calls.Load())
	})
}

var ctx = context.Background()
