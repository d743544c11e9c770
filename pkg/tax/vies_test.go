package tax

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeVIES serves the given status and body and records what it was asked.
func fakeVIES(t *testing.T, status int, body string) (*VIESClient, *viesRequest) {
	t.Helper()
	var got viesRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/rest-api/check-vat-number" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "content type", http.StatusUnsupportedMediaType)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return &VIESClient{BaseURL: srv.URL + "/rest-api/", HTTP: srv.Client()}, &got
}

func TestVIESClientCheck(t *testing.T) {
	t.Parallel()
	t.Run("a valid number comes back with name, address and consultation number", func(t *testing.T) {
		t.Parallel()
		c, req := fakeVIES(t, http.StatusOK, `{"countryCode":"FR","vatNumber":"40303265045",
			"requestDate":"2026-03-15T13:44:19.611Z","valid":true,"requestIdentifier":"WAPIAAAAZ1abcd",
			"name":"SA ODIGEO","address":"1 RUE DE LA PAIX\n75002 PARIS","traderName":"---"}`)
		res, err := c.Check(context.Background(), "fr 40 303 265 045")
		require.NoError(t, err)
		require.Equal(t, viesRequest{CountryCode: "FR", VATNumber: "40303265045"}, *req)
		require.Equal(t, VIESResult{Valid: true, Name: "SA ODIGEO", Address: "1 RUE DE LA PAIX\n75002 PARIS",
			RequestIdentifier: "WAPIAAAAZ1abcd", CheckedAt: time.Date(2026, 3, 15, 13, 44, 19, 611e6, time.UTC)}, res)
	})
	t.Run("Greek ids are sent with the EL prefix", func(t *testing.T) {
		t.Parallel()
		c, req := fakeVIES(t, http.StatusOK, `{"valid":true,"requestDate":"2026-03-15"}`)
		res, err := c.Check(context.Background(), "EL094259216")
		require.NoError(t, err)
		require.Equal(t, viesRequest{CountryCode: "EL", VATNumber: "094259216"}, *req)
		require.Equal(t, time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), res.CheckedAt)
	})
	t.Run("an unknown number is invalid, not an error", func(t *testing.T) {
		t.Parallel()
		c, _ := fakeVIES(t, http.StatusOK, `{"countryCode":"DE","vatNumber":"123456789","valid":false,"name":"---","address":"---","userError":"INVALID"}`)
		before := time.Now().UTC()
		res, err := c.Check(context.Background(), "DE123456789")
		require.NoError(t, err)
		require.False(t, res.Valid)
		require.Empty(t, res.Name)
		require.Empty(t, res.Address)
		require.False(t, res.CheckedAt.Before(before), "our clock stands in for a missing requestDate")
	})
	for _, tc := range []struct {
		name   string
		status int
		body   string
	}{
		{"member state unavailable", http.StatusOK, `{"actionSucceed":false,"errorWrappers":[{"error":"MS_UNAVAILABLE","message":"try later"}]}`},
		{"member state unavailable with HTTP 500", http.StatusInternalServerError, `{"actionSucceed":false,"errorWrappers":[{"error":"MS_UNAVAILABLE"}]}`},
		{"too many concurrent requests", http.StatusOK, `{"actionSucceed":false,"errorWrappers":[{"error":"MS_MAX_CONCURRENT_REQ"}]}`},
		{"VIES timeout", http.StatusOK, `{"actionSucceed":false,"errorWrappers":[{"error":"TIMEOUT"}]}`},
		{"service unavailable", http.StatusServiceUnavailable, `{"actionSucceed":false,"errorWrappers":[{"error":"SERVICE_UNAVAILABLE"}]}`},
		{"an error code we do not know yet", http.StatusOK, `{"actionSucceed":false,"errorWrappers":[{"error":"SOMETHING_NEW"}]}`},
		{"valid false with a userError saying the state is down", http.StatusOK, `{"valid":false,"userError":"MS_UNAVAILABLE"}`},
		{"HTTP 500 without a body", http.StatusInternalServerError, ``},
		{"HTTP 429", http.StatusTooManyRequests, `slow down`},
		{"an HTML maintenance page", http.StatusOK, `<html><body>Service under maintenance</body></html>`},
		{"an HTML error page with 503", http.StatusServiceUnavailable, `<html>503</html>`},
		{"JSON without a verdict", http.StatusOK, `{"countryCode":"FR"}`},
	} {
		t.Run(tc.name+" means VIES is unavailable", func(t *testing.T) {
			t.Parallel()
			c, _ := fakeVIES(t, tc.status, tc.body)
			_, err := c.Check(context.Background(), "FR40303265045")
			require.ErrorIs(t, err, ErrVIESUnavailable)
			require.NotErrorIs(t, err, ErrInvalidInput)
		})
	}
	t.Run("INVALID_INPUT blames the request", func(t *testing.T) {
		t.Parallel()
		c, _ := fakeVIES(t, http.StatusBadRequest, `{"actionSucceed":false,"errorWrappers":[{"error":"INVALID_INPUT"}]}`)
		_, err := c.Check(context.Background(), "FR40303265045")
		require.ErrorIs(t, err, ErrInvalidInput)
		require.NotErrorIs(t, err, ErrVIESUnavailable)
	})
	t.Run("another 4xx is a plain error", func(t *testing.T) {
		t.Parallel()
		c, _ := fakeVIES(t, http.StatusForbidden, `forbidden`)
		_, err := c.Check(context.Background(), "FR40303265045")
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrVIESUnavailable)
		require.ErrorContains(t, err, "HTTP 403")
	})
	t.Run("a context deadline means VIES is unavailable", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		t.Cleanup(func() { close(release); srv.Close() })
		c := &VIESClient{BaseURL: srv.URL, HTTP: srv.Client()}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.Check(ctx, "FR40303265045")
		require.ErrorIs(t, err, ErrVIESUnavailable)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("a refused connection means VIES is unavailable", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		_, err := (&VIESClient{BaseURL: url}).Check(context.Background(), "FR40303265045")
		require.ErrorIs(t, err, ErrVIESUnavailable)
	})
	t.Run("ids VIES does not cover are refused without a request", func(t *testing.T) {
		t.Parallel()
		// no BaseURL: reaching the network would fail the test run's isolation, so it must not happen
		for _, id := range []string{"GB980780684", "CHE123456789", "NO123456789", "GR094259216", "", "F"} {
			_, err := (&VIESClient{HTTP: &http.Client{Transport: failTransport{t}}}).Check(context.Background(), id)
			require.ErrorIs(t, err, ErrInvalidInput, id)
		}
	})
}

// failTransport fails the test if any request is made.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no network in tests")
}

// countingChecker answers from a map and counts calls.
type countingChecker struct {
	calls   atomic.Int64
	answers map[string]bool
	err     error
}

func (c *countingChecker) Check(_ context.Context, id string) (VIESResult, error) {
	c.calls.Add(1)
	if c.err != nil {
		return VIESResult{}, c.err
	}
	return VIESResult{Valid: c.answers[id], RequestIdentifier: "req-" + id}, nil
}

func TestCachedVIES(t *testing.T) {
	t.Parallel()
	t.Run("answers are served from the cache until the TTL passes", func(t *testing.T) {
		t.Parallel()
		inner := &countingChecker{answers: map[string]bool{"FR40303265045": true}}
		c := NewCachedVIES(inner, time.Hour)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		c.now = func() time.Time { return now }

		for _, id := range []string{"FR40303265045", "fr 40303265045", "FR40-303-265-045"} {
			res, err := c.Check(context.Background(), id)
			require.NoError(t, err)
			require.True(t, res.Valid)
		}
		require.Equal(t, int64(1), inner.calls.Load(), "spellings of one id share an entry")

		now = now.Add(time.Hour)
		_, err := c.Check(context.Background(), "FR40303265045")
		require.NoError(t, err)
		require.Equal(t, int64(2), inner.calls.Load(), "expired entries are checked again")
	})
	t.Run("invalid answers are cached too", func(t *testing.T) {
		t.Parallel()
		inner := &countingChecker{answers: map[string]bool{}}
		c := NewCachedVIES(inner, time.Hour)
		for range 3 {
			res, err := c.Check(context.Background(), "DE123456789")
			require.NoError(t, err)
			require.False(t, res.Valid)
		}
		require.Equal(t, int64(1), inner.calls.Load())
	})
	t.Run("errors are not cached", func(t *testing.T) {
		t.Parallel()
		inner := &countingChecker{err: fmt.Errorf("%w: MS_UNAVAILABLE", ErrVIESUnavailable)}
		c := NewCachedVIES(inner, time.Hour)
		for range 3 {
			_, err := c.Check(context.Background(), "DE123456789")
			require.ErrorIs(t, err, ErrVIESUnavailable)
		}
		require.Equal(t, int64(3), inner.calls.Load())
	})
	t.Run("a full cache makes room", func(t *testing.T) {
		t.Parallel()
		inner := &countingChecker{answers: map[string]bool{}}
		c := NewCachedVIES(inner, time.Hour)
		c.max = 10
		for i := range 100 {
			_, err := c.Check(context.Background(), fmt.Sprintf("DE%09d", i))
			require.NoError(t, err)
		}
		require.LessOrEqual(t, len(c.entries), 10)
	})
	t.Run("is safe for concurrent use", func(t *testing.T) {
		t.Parallel()
		inner := &countingChecker{answers: map[string]bool{"DE000000001": true}}
		c := NewCachedVIES(inner, time.Minute)
		c.max = 5
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					id := fmt.Sprintf("DE%09d", (g+i)%8)
					res, err := c.Check(context.Background(), id)
					if err != nil || res.Valid != (id == "DE000000001") {
						t.Errorf("%s: %+v %v", id, res, err)
						return
					}
				}
			}()
		}
		wg.Wait()
	})
}

func TestVerifyVATID(t *testing.T) {
	t.Parallel()
	inner := &countingChecker{answers: map[string]bool{"FR40303265045": true}}
	for _, tc := range []struct {
		name    string
		checker VATChecker
		raw     string
		id      string
		status  VATIDStatus
		asked   bool
	}{
		{"no id is no status", inner, "  ", "", VATIDNone, false},
		{"a malformed id is invalid without asking", inner, "FR123", "FR123", VATIDInvalid, false},
		{"a registered EU id is vies_valid", inner, "fr 40303265045", "FR40303265045", VATIDVIESValid, true},
		{"an unregistered EU id is invalid", inner, "DE136695976", "DE136695976", VATIDInvalid, true},
		{"a well-formed non-EU id is format_valid", inner, "GB980780684", "GB980780684", VATIDFormatValid, false},
		{"without a checker the format decides", nil, "DE136695976", "DE136695976", VATIDFormatValid, false},
		{"VIES down gives vies_unavailable", &countingChecker{err: fmt.Errorf("%w: TIMEOUT", ErrVIESUnavailable)}, "DE136695976", "DE136695976", VATIDVIESUnavailable, false},
		{"VIES refusing the input gives invalid", &countingChecker{err: fmt.Errorf("%w: INVALID_INPUT", ErrInvalidInput)}, "DE136695976", "DE136695976", VATIDInvalid, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, status, res, err := VerifyVATID(context.Background(), tc.checker, tc.raw)
			require.NoError(t, err)
			require.Equal(t, tc.id, id)
			require.Equal(t, tc.status, status)
			require.Equal(t, tc.asked, res != nil)
		})
	}
	t.Run("other errors are returned", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("HTTP 403")
		_, status, _, err := VerifyVATID(context.Background(), &countingChecker{err: boom}, "DE136695976")
		require.ErrorIs(t, err, boom)
		require.Empty(t, status)
	})
}
