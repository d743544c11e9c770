package gcapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
)

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  gcapi.Config
		err  string
	}{
		{"RejectsEmptyToken", gcapi.Config{Environment: "sandbox"}, "access token is empty"},
		{"RejectsSandboxTokenInLive", gcapi.Config{AccessToken: "sandbox_abc", Environment: "live"}, "sandbox access token cannot be used with the live"},
		{"RejectsLiveTokenInSandbox", gcapi.Config{AccessToken: "live_abc", Environment: "sandbox"}, "needs a sandbox access token"},
		{"RejectsUnknownEnvironment", gcapi.Config{AccessToken: "sandbox_abc", Environment: "staging"}, `environment must be "sandbox" or "live"`},
		{"RejectsMissingEnvironment", gcapi.Config{AccessToken: "sandbox_abc"}, `environment must be`},
		{"RejectsTokenWithTrailingNewline", gcapi.Config{AccessToken: "sandbox_abc\n", Environment: "sandbox"}, "whitespace"},
		{"RejectsRelativeBaseURL", gcapi.Config{AccessToken: "sandbox_abc", Environment: "sandbox", BaseURL: "/api"}, "not an absolute http(s) URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := gcapi.New(tc.cfg)
			require.Nil(t, c)
			require.ErrorIs(t, err, gcapi.ErrInvalidConfig)
			require.ErrorContains(t, err, tc.err)
		})
	}

	for _, tc := range []struct {
		name, env, token, wantHost string
	}{
		{"SandboxUsesSandboxBaseURL", "sandbox", "sandbox_abc", "api-sandbox.gocardless.com"},
		{"LiveUsesLiveBaseURL", "live", "live_abc", "api.gocardless.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got *http.Request
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				got = r
				return jsonResponse(200, `{"creditors":[]}`), nil
			})
			c, err := gcapi.New(gcapi.Config{AccessToken: tc.token, Environment: tc.env, HTTPClient: &http.Client{Transport: rt}})
			require.NoError(t, err)
			require.Equal(t, tc.env, c.Environment())
			_, err = c.ListCreditors(context.Background(), 1)
			require.NoError(t, err)
			require.Equal(t, "https", got.URL.Scheme)
			require.Equal(t, tc.wantHost, got.URL.Host)
			require.Equal(t, "/creditors", got.URL.Path)
			require.Equal(t, "1", got.URL.Query().Get("limit"))
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResponse(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	gc := newFake(t)
	c, _ := newClient(t, gc)
	ctx := context.Background()

	br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_42:create")
	require.NoError(t, err)
	_, err = c.GetBillingRequest(ctx, br.ID)
	require.NoError(t, err)

	reqs := gc.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		t.Run("SendsStandardHeadersOn"+r.Method, func(t *testing.T) {
			require.Equal(t, "Bearer "+gc.AccessToken(), r.Header.Get("Authorization"))
			require.Equal(t, "2015-07-06", r.Header.Get("GoCardless-Version"))
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
			require.Equal(t, "application/json", r.Header.Get("Accept"))
			require.Contains(t, r.Header.Get("User-Agent"), "paygate-gocardless")
		})
	}
	t.Run("SendsIdempotencyKeyOnlyOnPOST", func(t *testing.T) {
		require.Equal(t, "txn_42:create", reqs[0].IdempotencyKey)
		require.Empty(t, reqs[1].IdempotencyKey)
	})
	t.Run("WrapsCreateBodyInPluralResourceName", func(t *testing.T) {
		require.JSONEq(t, `{"billing_requests":{
			"payment_request":{"amount":1000,"currency":"GBP","description":"Order 42","metadata":{"transaction_id":"txn_42"}},
			"metadata":{"site":"shop-1"}}}`, string(reqs[0].Body))
	})
}

func TestHappyPath(t *testing.T) {
	t.Parallel()
	gc := newFake(t)
	c, _ := newClient(t, gc)
	ctx := context.Background()

	br, err := c.CreateBillingRequest(ctx, gbpPayment(2500), "txn_1")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(br.ID, "BRQ"), br.ID)
	require.Equal(t, gcapi.BillingRequestStatusPending, br.Status)
	require.Equal(t, int64(2500), br.PaymentRequest.Amount)
	require.Equal(t, "faster_payments", br.PaymentRequest.Scheme)
	require.Equal(t, "shop-1", br.Metadata["site"])

	flow, err := c.CreateBillingRequestFlow(ctx, gcapi.BillingRequestFlowCreate{
		Links:       gcapi.BillingRequestFlowCreateLinks{BillingRequest: br.ID},
		RedirectURI: "https://shop.example/return?txn=txn_1",
		ExitURI:     "https://shop.example/checkout?txn=txn_1",
		Language:    "en",
		PrefilledCustomer: &gcapi.PrefilledCustomer{
			GivenName: "Ada", FamilyName: "Lovelace", Email: "ada@example.com", CountryCode: "GB",
		},
		LockCurrency: true,
	}, "txn_1:flow")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(flow.ID, "BRF"), flow.ID)
	require.Equal(t, gc.URL()+"/flow/"+flow.ID, flow.AuthorisationURL)
	require.Equal(t, t0.Add(7*24*time.Hour), flow.ExpiresAt)
	require.Equal(t, br.ID, flow.Links.BillingRequest)

	// The payer opens the authorisation page and clicks "Pay".
	page, err := http.Get(flow.AuthorisationURL)
	require.NoError(t, err)
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	require.Equal(t, http.StatusOK, page.StatusCode)
	require.Contains(t, string(html), `id="gc-pay"`)
	require.Contains(t, string(html), "GBP 25.00")

	resp, err := noRedirects.PostForm(flow.AuthorisationURL+"/pay", url.Values{})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "https://shop.example/return?txn=txn_1", resp.Header.Get("Location"))

	br, err = c.GetBillingRequest(ctx, br.ID)
	require.NoError(t, err)
	require.Equal(t, gcapi.BillingRequestStatusFulfilled, br.Status)
	require.True(t, strings.HasPrefix(br.Links.PaymentRequestPayment, "PM"))
	require.True(t, strings.HasPrefix(br.Links.Customer, "CU"))

	p, err := c.GetPayment(ctx, br.Links.PaymentRequestPayment)
	require.NoError(t, err)
	require.Equal(t, gcapi.PaymentStatusPendingSubmission, p.Status)
	require.Equal(t, int64(2500), p.Amount)
	require.Equal(t, "GBP", p.Currency)
	require.Equal(t, "txn_42", p.Metadata["transaction_id"], "payment_request metadata lands on the payment")
	require.Equal(t, "2025-03-14", p.ChargeDate)

	m, err := c.GetMandate(ctx, p.Links.Mandate)
	require.NoError(t, err)
	require.Equal(t, gcapi.MandateStatusConsumed, m.Status, "an instant payment's mandate is used up at once")

	require.NoError(t, c.RunScenarioSimulator(ctx, gcapi.ScenarioPaymentConfirmed, p.ID))
	p, err = c.GetPayment(ctx, p.ID)
	require.NoError(t, err)
	require.Equal(t, gcapi.PaymentStatusConfirmed, p.Status)

	cust, ok := gc.Customer(br.Links.Customer)
	require.True(t, ok)
	require.Equal(t, "Ada", cust.GivenName)
}

func TestMandateRequest(t *testing.T) {
	t.Parallel()
	gc := newFake(t)
	c, _ := newClient(t, gc)
	ctx := context.Background()

	br, err := c.CreateBillingRequest(ctx, gcapi.BillingRequestCreate{
		MandateRequest: &gcapi.MandateRequestCreate{Currency: "eur"},
	}, "")
	require.NoError(t, err)
	require.Equal(t, "EUR", br.MandateRequest.Currency, "currency is upper-cased before sending")
	require.Equal(t, "sepa_core", br.MandateRequest.Scheme)

	require.NoError(t, c.RunScenarioSimulator(ctx, gcapi.ScenarioBillingRequestFulfilled, br.ID))
	br, err = c.GetBillingRequest(ctx, br.ID)
	require.NoError(t, err)
	m, err := c.GetMandate(ctx, br.Links.MandateRequestMandate)
	require.NoError(t, err)
	require.Equal(t, gcapi.MandateStatusPendingSubmission, m.Status)

	require.NoError(t, c.RunScenarioSimulator(ctx, gcapi.ScenarioMandateActivated, m.ID))
	m, err = c.GetMandate(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, gcapi.MandateStatusActive, m.Status)
}

func TestRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("RetriesOn429HonouringRateLimitReset", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)
		gc.FailNext(1, gcfake.FailRateLimited)

		creditors, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		require.Len(t, creditors, 1)
		require.Equal(t, []time.Duration{2 * time.Second}, sleeps.Waits())
		require.Len(t, gc.Requests(), 2)
	})

	t.Run("CapsRateLimitWaitAtOneMinute", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("RateLimit-Reset", t0.Add(time.Hour).Format(http.TimeFormat))
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			_, _ = io.WriteString(w, `{"creditors":[]}`)
		}))
		t.Cleanup(srv.Close)
		c, sleeps := clientFor(t, srv.URL)
		_, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, []time.Duration{time.Minute}, sleeps.Waits())
	})

	t.Run("FallsBackToBackoffWhenRateLimitResetIsMissingOrGarbled", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch calls.Add(1) {
			case 1:
				w.WriteHeader(http.StatusTooManyRequests)
			case 2:
				w.Header().Set("RateLimit-Reset", "in a bit")
				w.WriteHeader(http.StatusTooManyRequests)
			default:
				_, _ = io.WriteString(w, `{"creditors":[]}`)
			}
		}))
		t.Cleanup(srv.Close)
		c, sleeps := clientFor(t, srv.URL)
		_, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		waits := sleeps.Waits()
		require.Len(t, waits, 2)
		requireWithin(t, waits[0], 250*time.Millisecond, 500*time.Millisecond)
		requireWithin(t, waits[1], 500*time.Millisecond, time.Second)
	})

	t.Run("Retries5xxWithBackoffThenSucceeds", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)
		gc.FailNext(1, gcfake.FailInternalError)
		gc.FailNext(1, gcfake.FailUnavailable)

		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		require.NotEmpty(t, br.ID)
		waits := sleeps.Waits()
		require.Len(t, waits, 2)
		requireWithin(t, waits[0], 250*time.Millisecond, 500*time.Millisecond)
		requireWithin(t, waits[1], 500*time.Millisecond, time.Second)
	})

	t.Run("HTMLBadGatewayBecomesUpstreamErrorAfterRetriesExhausted", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)
		gc.FailNext(4, gcfake.FailBadGatewayHTML)

		_, err := c.GetPayment(ctx, "PM123")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeUpstream, apiErr.Type)
		require.Equal(t, http.StatusBadGateway, apiErr.StatusCode)
		require.Equal(t, "502 non-JSON response", apiErr.Message)
		require.ErrorContains(t, err, "giving up after 4 attempts")
		require.Len(t, gc.Requests(), 4)
		require.Len(t, sleeps.Waits(), 3)
	})

	t.Run("RetriesDroppedConnections", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)
		gc.FailNext(1, gcfake.FailConnectionReset)

		_, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		require.Len(t, sleeps.Waits(), 1)
	})

	t.Run("DoesNotRetryOther4xx", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)

		_, err := c.GetPayment(ctx, "PM404")
		require.True(t, gcapi.IsNotFound(err), err)
		require.Len(t, gc.Requests(), 1)
		require.Empty(t, sleeps.Waits())
	})

	t.Run("StopsAfterMaxAttempts", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc, func(cfg *gcapi.Config) { cfg.MaxAttempts = 2 })
		gc.FailNext(5, gcfake.FailUnavailable)

		_, err := c.ListCreditors(ctx, 1)
		require.Error(t, err)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeGoCardless, apiErr.Type)
		require.Len(t, gc.Requests(), 2)
	})

	t.Run("RateLimitedErrorIsReportedWhenRetriesRunOut", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc, func(cfg *gcapi.Config) { cfg.MaxAttempts = 1 })
		gc.FailNext(1, gcfake.FailRateLimited)

		_, err := c.ListCreditors(ctx, 1)
		require.True(t, gcapi.IsRateLimited(err), err)
	})

	t.Run("PerAttemptTimeoutIsRetried", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				<-r.Context().Done() // hang until the client gives up on this attempt
				return
			}
			_, _ = io.WriteString(w, `{"creditors":[]}`)
		}))
		t.Cleanup(srv.Close)
		c, sleeps := clientFor(t, srv.URL, func(cfg *gcapi.Config) { cfg.Timeout = 50 * time.Millisecond })
		_, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		require.Len(t, sleeps.Waits(), 1)
	})
}

// clientFor returns a sandbox client for an ad-hoc httptest server.
func clientFor(t *testing.T, baseURL string, mods ...func(*gcapi.Config)) (*gcapi.Client, *sleepRecorder) {
	t.Helper()
	rec := &sleepRecorder{}
	cfg := gcapi.Config{AccessToken: "sandbox_x", Environment: "sandbox", BaseURL: baseURL, Sleep: rec.Sleep, Now: fixedClock}
	for _, m := range mods {
		m(&cfg)
	}
	c, err := gcapi.New(cfg)
	require.NoError(t, err)
	return c, rec
}

func requireWithin(t *testing.T, d, lo, hi time.Duration) {
	t.Helper()
	require.GreaterOrEqual(t, d, lo)
	require.LessOrEqual(t, d, hi)
}

func TestContext(t *testing.T) {
	t.Parallel()

	t.Run("CancellationStopsRetries", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, sleeps := newClient(t, gc)
		sleeps.onCall = func(int) { cancel() } // the caller gives up while we wait
		gc.FailNext(10, gcfake.FailUnavailable)

		_, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_7")
		require.ErrorIs(t, err, context.Canceled)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr, "the last answer stays reachable")
		require.Equal(t, http.StatusServiceUnavailable, apiErr.StatusCode)
		require.Len(t, gc.Requests(), 1)
	})

	t.Run("AlreadyCancelledContextSendsNothing", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()

		_, err := c.ListCreditors(ctx, 1)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, gc.Requests())
	})

	t.Run("GivesUpWhenRateLimitResetIsPastTheDeadline", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		gc.FailNext(1, gcfake.FailRateLimited) // reset is 2s away

		_, err := c.ListCreditors(ctx, 1)
		require.True(t, gcapi.IsRateLimited(err), err)
		require.ErrorContains(t, err, "after the context deadline")
		require.Empty(t, sleeps.Waits())
		require.Len(t, gc.Requests(), 1)
	})

	t.Run("CancellationDuringBackoffStopsRetrying", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The sleeper cancels the call during its first backoff and honours the context,
		// as the default one does (TestSleepContextHonoursCancellation).
		c, err := gcapi.New(gcapi.Config{AccessToken: gc.AccessToken(), Environment: "sandbox", BaseURL: gc.URL(),
			Sleep: func(sctx context.Context, d time.Duration) error { cancel(); <-sctx.Done(); return sctx.Err() }})
		require.NoError(t, err)
		gc.FailNext(10, gcfake.FailInternalError)
		_, err = c.ListCreditors(ctx, 1)
		require.ErrorIs(t, err, context.Canceled)
		require.Len(t, gc.Requests(), 1, "no retry after cancellation")
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ReusesCallerKeyOnEveryRetry", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		gc.FailNext(1, gcfake.FailRateLimited)
		gc.FailNext(1, gcfake.FailBadGatewayHTML)

		_, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_42:create")
		require.NoError(t, err)
		posts := postsTo(gc, "/billing_requests")
		require.Len(t, posts, 3)
		for _, p := range posts {
			require.Equal(t, "txn_42:create", p.IdempotencyKey)
		}
	})

	t.Run("GeneratesOneKeyPerLogicalCallWhenNoneGiven", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		gc.FailNext(2, gcfake.FailInternalError)

		_, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		_, err = c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)

		posts := postsTo(gc, "/billing_requests")
		require.Len(t, posts, 4)
		first := posts[0].IdempotencyKey
		require.Len(t, first, 32)
		require.Equal(t, first, posts[1].IdempotencyKey)
		require.Equal(t, first, posts[2].IdempotencyKey)
		require.NotEqual(t, first, posts[3].IdempotencyKey, "a new call gets a new key")
	})

	t.Run("ConflictResolvesIntoExistingBillingRequest", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)

		first, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_9")
		require.NoError(t, err)
		again, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_9")
		require.NoError(t, err)
		require.Equal(t, first.ID, again.ID)
		require.Len(t, gc.RequestsTo(http.MethodGet, "/billing_requests/"+first.ID), 1)
	})

	t.Run("LostResponseIsRecoveredWithoutDuplicate", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		gc.FailNext(1, gcfake.FailLostResponse) // created, but the answer never arrives

		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "txn_10")
		require.NoError(t, err)
		require.Len(t, postsTo(gc, "/billing_requests"), 2, "the retry met the idempotency conflict")
		require.Len(t, gc.RequestsTo(http.MethodGet, "/billing_requests/"+br.ID), 1, "and fetched the existing request")
		_, ok := gc.BillingRequest(br.ID)
		require.True(t, ok)
		created := 0
		for _, e := range gc.Events() {
			if e.ResourceType == "billing_requests" && e.Action == "created" {
				created++
			}
		}
		require.Equal(t, 1, created, "exactly one billing request exists")
	})

	t.Run("ConflictResolvesIntoExistingRefund", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)
		in := gcapi.RefundCreate{Amount: 300, TotalAmountConfirmation: 300, PaymentID: pm}

		first, err := c.CreateRefund(ctx, in, "txn_11:refund:1")
		require.NoError(t, err)
		again, err := c.CreateRefund(ctx, in, "txn_11:refund:1")
		require.NoError(t, err)
		require.Equal(t, first.ID, again.ID)
		p, err := c.GetPayment(ctx, pm)
		require.NoError(t, err)
		require.Equal(t, int64(300), p.AmountRefunded, "refunded once")
	})

	t.Run("KeyReusedForADifferentRefundIsAnError", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)

		_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 300, TotalAmountConfirmation: 300, PaymentID: pm}, "same-key")
		require.NoError(t, err)
		_, err = c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 200, TotalAmountConfirmation: 500, PaymentID: pm}, "same-key")
		require.ErrorIs(t, err, gcapi.ErrIdempotencyKeyReused)
	})

	t.Run("KeyReusedForADifferentBillingRequestIsAnError", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)

		_, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "same-key")
		require.NoError(t, err)
		_, err = c.CreateBillingRequest(ctx, gbpPayment(999), "same-key")
		require.ErrorIs(t, err, gcapi.ErrIdempotencyKeyReused)
	})

	t.Run("FlowConflictIsReturnedBecauseFlowsCannotBeFetched", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		in := gcapi.BillingRequestFlowCreate{Links: gcapi.BillingRequestFlowCreateLinks{BillingRequest: br.ID}}

		flow, err := c.CreateBillingRequestFlow(ctx, in, "flow-key")
		require.NoError(t, err)
		_, err = c.CreateBillingRequestFlow(ctx, in, "flow-key")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusConflict, apiErr.StatusCode)
		require.Equal(t, flow.ID, apiErr.ConflictingResourceID())
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	long := strings.Repeat("x", 51)
	for _, tc := range []struct {
		name  string
		call  func(*gcapi.Client) error
		field string
	}{
		{"RejectsZeroAmount", func(c *gcapi.Client) error {
			_, err := c.CreateBillingRequest(ctx, gbpPayment(0), "")
			return err
		}, "amount"},
		{"RejectsNegativeAmount", func(c *gcapi.Client) error {
			_, err := c.CreateBillingRequest(ctx, gbpPayment(-5), "")
			return err
		}, "amount"},
		{"RejectsCurrencyThatIsNotThreeLetters", func(c *gcapi.Client) error {
			in := gbpPayment(100)
			in.PaymentRequest.Currency = "EURO"
			_, err := c.CreateBillingRequest(ctx, in, "")
			return err
		}, "currency"},
		{"RejectsRequestWithoutPaymentOrMandate", func(c *gcapi.Client) error {
			_, err := c.CreateBillingRequest(ctx, gcapi.BillingRequestCreate{}, "")
			return err
		}, "payment_request"},
		{"RejectsMoreThanThreeMetadataKeys", func(c *gcapi.Client) error {
			in := gbpPayment(100)
			in.Metadata = map[string]string{"a": "1", "b": "2", "c": "3", "d": "4"}
			_, err := c.CreateBillingRequest(ctx, in, "")
			return err
		}, "metadata"},
		{"RejectsMetadataKeyOver50Characters", func(c *gcapi.Client) error {
			_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 1, TotalAmountConfirmation: 1, PaymentID: "PM1",
				Metadata: map[string]string{long: "v"}}, "")
			return err
		}, "metadata"},
		{"RejectsMetadataValueOver500Characters", func(c *gcapi.Client) error {
			in := gbpPayment(100)
			in.PaymentRequest.Metadata = map[string]string{"k": strings.Repeat("é", 501)}
			_, err := c.CreateBillingRequest(ctx, in, "")
			return err
		}, "metadata"},
		{"RejectsRefundWhoseTotalExcludesIt", func(c *gcapi.Client) error {
			_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 100, TotalAmountConfirmation: 50, PaymentID: "PM1"}, "")
			return err
		}, "total_amount_confirmation"},
		{"RejectsRefundWithoutPayment", func(c *gcapi.Client) error {
			_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 100, TotalAmountConfirmation: 100}, "")
			return err
		}, "payment"},
		{"RejectsFlowWithoutBillingRequest", func(c *gcapi.Client) error {
			_, err := c.CreateBillingRequestFlow(ctx, gcapi.BillingRequestFlowCreate{}, "")
			return err
		}, "billing_request"},
		{"RejectsFlowWithRelativeRedirect", func(c *gcapi.Client) error {
			_, err := c.CreateBillingRequestFlow(ctx, gcapi.BillingRequestFlowCreate{
				Links: gcapi.BillingRequestFlowCreateLinks{BillingRequest: "BRQ1"}, RedirectURI: "/return"}, "")
			return err
		}, "redirect_uri"},
		{"RejectsEmptyIDInsteadOfListing", func(c *gcapi.Client) error {
			_, err := c.GetPayment(ctx, "")
			return err
		}, "id"},
		{"RejectsCreditorLimitOver500", func(c *gcapi.Client) error {
			_, err := c.ListCreditors(ctx, 501)
			return err
		}, "limit"},
		{"RejectsCancelMetadataOverLimits", func(c *gcapi.Client) error {
			_, err := c.CancelBillingRequest(ctx, "BRQ1", map[string]string{"a": "", "b": "", "c": "", "d": ""}, "")
			return err
		}, "metadata"},
	} {
		t.Run(tc.name+"WithoutSendingARequest", func(t *testing.T) {
			t.Parallel()
			gc := newFake(t)
			c, _ := newClient(t, gc)
			err := tc.call(c)
			require.True(t, gcapi.IsValidation(err), err)
			var ve *gcapi.ValidationError
			require.ErrorAs(t, err, &ve)
			fields := []string{}
			for _, fe := range ve.Errors {
				fields = append(fields, fe.Field)
			}
			require.Contains(t, fields, tc.field)
			require.Empty(t, gc.Requests())
		})
	}

	t.Run("DecodesServerFieldErrors", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		in := gbpPayment(1000)
		in.PaymentRequest.Currency = "USD" // no instant bank payments in USD

		_, err := c.CreateBillingRequest(ctx, in, "")
		require.True(t, gcapi.IsValidation(err), err)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusUnprocessableEntity, apiErr.StatusCode)
		require.Equal(t, 422, apiErr.Code)
		require.Equal(t, gcapi.ErrorTypeValidationFailed, apiErr.Type)
		require.NotEmpty(t, apiErr.RequestID)
		require.NotEmpty(t, apiErr.DocumentationURL)
		require.Len(t, apiErr.Errors, 1)
		require.Equal(t, "currency", apiErr.Errors[0].Field)
		require.Equal(t, "/billing_requests/payment_request/currency", apiErr.Errors[0].RequestPointer)
		require.Contains(t, apiErr.Errors[0].Message, "not supported")
		require.Contains(t, err.Error(), "currency")
		require.Len(t, gc.Requests(), 1, "422 is not retried")
	})

	t.Run("RejectsSchemeThatDoesNotMatchCurrency", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		in := gbpPayment(1000)
		in.PaymentRequest.Scheme = "sepa_credit_transfer"

		_, err := c.CreateBillingRequest(ctx, in, "")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, "scheme", apiErr.Errors[0].Field)
	})
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("PartialRefundsCarryTheRunningTotal", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)

		r1, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 300, TotalAmountConfirmation: 300, PaymentID: pm,
			Metadata: map[string]string{"refund_id": "rf_1"}, Reference: "Sorry"}, "rf_1")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(r1.ID, "RF"), r1.ID)
		require.Equal(t, gcapi.RefundStatusCreated, r1.Status)
		require.Equal(t, "GBP", r1.Currency)
		require.Equal(t, pm, r1.Links.Payment)

		r2, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 700, TotalAmountConfirmation: 1000, PaymentID: pm}, "rf_2")
		require.NoError(t, err)
		require.Equal(t, int64(700), r2.Amount)

		p, err := c.GetPayment(ctx, pm)
		require.NoError(t, err)
		require.Equal(t, int64(1000), p.AmountRefunded)

		got, err := c.GetRefund(ctx, r1.ID)
		require.NoError(t, err)
		require.Equal(t, "rf_1", got.Metadata["refund_id"])
	})

	t.Run("RejectsRefundOverTheRemainingAmount", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)
		_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 600, TotalAmountConfirmation: 600, PaymentID: pm}, "")
		require.NoError(t, err)

		_, err = c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 500, TotalAmountConfirmation: 1100, PaymentID: pm}, "")
		require.True(t, gcapi.IsValidation(err), err)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, "amount", apiErr.Errors[0].Field)
		require.Equal(t, "available_refund_amount_insufficient", apiErr.Errors[0].Reason)
	})

	t.Run("RejectsWrongTotalAmountConfirmation", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)
		_, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 300, TotalAmountConfirmation: 300, PaymentID: pm}, "")
		require.NoError(t, err)

		// A duplicate of the first refund under a new key: the total gives it away.
		_, err = c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 300, TotalAmountConfirmation: 300, PaymentID: pm}, "")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, "total_amount_confirmation", apiErr.Errors[0].Field)
		require.Equal(t, "/refunds/total_amount_confirmation", apiErr.Errors[0].RequestPointer)
	})

	t.Run("RejectsRefundOfUnconfirmedPayment", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		require.NoError(t, c.RunScenarioSimulator(ctx, gcapi.ScenarioBillingRequestFulfilled, br.ID))
		br, err = c.GetBillingRequest(ctx, br.ID)
		require.NoError(t, err)

		_, err = c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 100, TotalAmountConfirmation: 100, PaymentID: br.Links.PaymentRequestPayment}, "")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeInvalidState, apiErr.Type)
	})

	t.Run("BouncedRefundGivesTheAmountBack", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		pm := paidPayment(t, gc, c, 1000)
		rf, err := c.CreateRefund(ctx, gcapi.RefundCreate{Amount: 400, TotalAmountConfirmation: 400, PaymentID: pm}, "")
		require.NoError(t, err)

		require.NoError(t, c.RunScenarioSimulator(ctx, gcapi.ScenarioRefundBounced, rf.ID))
		rf, err = c.GetRefund(ctx, rf.ID)
		require.NoError(t, err)
		require.Equal(t, gcapi.RefundStatusBounced, rf.Status)
		p, err := c.GetPayment(ctx, pm)
		require.NoError(t, err)
		require.Equal(t, int64(0), p.AmountRefunded)
	})
}

func TestCancelBillingRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CancelsAndRecordsMetadataOnTheEvent", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)

		br, err = c.CancelBillingRequest(ctx, br.ID, map[string]string{"reason": "buyer_abandoned"}, "")
		require.NoError(t, err)
		require.Equal(t, gcapi.BillingRequestStatusCancelled, br.Status)
		events := gc.Events()
		last := events[len(events)-1]
		require.Equal(t, "cancelled", last.Action)
		require.Equal(t, "buyer_abandoned", last.Metadata["reason"])
	})

	t.Run("CancellingTwiceIsNotAnError", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		_, err = c.CancelBillingRequest(ctx, br.ID, nil, "")
		require.NoError(t, err)

		again, err := c.CancelBillingRequest(ctx, br.ID, nil, "")
		require.NoError(t, err)
		require.Equal(t, gcapi.BillingRequestStatusCancelled, again.Status)
	})

	t.Run("CannotCancelAFulfilledRequest", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		br, err := c.CreateBillingRequest(ctx, gbpPayment(1000), "")
		require.NoError(t, err)
		require.NoError(t, gc.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, br.ID))

		_, err = c.CancelBillingRequest(ctx, br.ID, nil, "")
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeInvalidState, apiErr.Type)
	})
}

func TestListCreditors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("ReturnsTheCreditorForAValidToken", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t, gcfake.WithCreditorName("Acme Ltd"))
		c, _ := newClient(t, gc)
		list, err := c.ListCreditors(ctx, 1)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "Acme Ltd", list[0].Name)
		require.True(t, strings.HasPrefix(list[0].ID, "CR"))
	})

	t.Run("BadTokenIsA401WithoutRetries", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, sleeps := newClient(t, gc, func(cfg *gcapi.Config) { cfg.AccessToken = "sandbox_wrong" })
		_, err := c.ListCreditors(ctx, 1)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
		require.Equal(t, gcapi.ErrorTypeInvalidAPIUsage, apiErr.Type)
		require.Empty(t, sleeps.Waits())
	})

	t.Run("ZeroLimitLeavesThePageSizeToGoCardless", func(t *testing.T) {
		t.Parallel()
		gc := newFake(t)
		c, _ := newClient(t, gc)
		_, err := c.ListCreditors(ctx, 0)
		require.NoError(t, err)
		require.Empty(t, gc.Requests()[0].Query)
	})
}

func TestScenarioSimulatorIsSandboxOnly(t *testing.T) {
	t.Parallel()
	gc := newFake(t, gcfake.WithAccessToken("live_token"))
	c, _ := newClient(t, gc, func(cfg *gcapi.Config) { cfg.Environment = gcapi.EnvironmentLive })

	err := c.RunScenarioSimulator(context.Background(), gcapi.ScenarioPaymentConfirmed, "PM1")
	require.ErrorIs(t, err, gcapi.ErrSandboxOnly)
	require.Empty(t, gc.Requests())

	_, err = c.ListCreditors(context.Background(), 1)
	require.NoError(t, err, "the rest of the client works in live")
}

func TestLenientDecoding(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/payments/PM1":
			_, _ = io.WriteString(w, `{"payments":{"id":"PM1","amount":"1500","amount_refunded":0,"currency":"GBP",
				"status":"pending_bank_magic","brand_new_field":{"nested":[1,2,3]},"fx":null,
				"links":{"mandate":"MD1","instalment_schedule":"IS1"},"created_at":"2025-03-14T12:00:00.000Z"},
				"meta":{"anything":true}}`)
		case "/billing_requests/BRQ1":
			_, _ = io.WriteString(w, `{"billing_requests":{"id":"BRQ1","status":"awaiting_wizardry",
				"payment_request":{"amount":"500","currency":"GBP","app_fee":null},"mandate_request":null,
				"actions":[{"type":"select_institution","required":false,"available_currencies":["GBP"]}],
				"purpose_code":"mortgage"}}`)
		case "/creditors":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"message":"overloaded"}`)
		case "/refunds/RF1":
			_, _ = io.WriteString(w, `{"refunds":{"id":"RF1","amount":200,"status":"refund_settled","links":{"payment":"PM1"}}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, _ := clientFor(t, srv.URL)
	ctx := context.Background()

	t.Run("IgnoresUnknownFieldsAndKeepsUnknownPaymentStatus", func(t *testing.T) {
		t.Parallel()
		p, err := c.GetPayment(ctx, "PM1")
		require.NoError(t, err)
		require.Equal(t, int64(1500), p.Amount, "string amounts are accepted")
		require.Equal(t, gcapi.PaymentStatus("pending_bank_magic"), p.Status)
		require.False(t, p.Status.Known())
		require.Equal(t, "MD1", p.Links.Mandate)
	})

	t.Run("KeepsUnknownBillingRequestStatus", func(t *testing.T) {
		t.Parallel()
		br, err := c.GetBillingRequest(ctx, "BRQ1")
		require.NoError(t, err)
		require.False(t, br.Status.Known())
		require.Nil(t, br.MandateRequest)
		require.Equal(t, int64(500), br.PaymentRequest.Amount)
		require.Equal(t, "select_institution", br.Actions[0].Type)
	})

	t.Run("KeepsUnknownRefundStatus", func(t *testing.T) {
		t.Parallel()
		rf, err := c.GetRefund(ctx, "RF1")
		require.NoError(t, err)
		require.Equal(t, gcapi.RefundStatus("refund_settled"), rf.Status)
		require.False(t, rf.Status.Known())
		require.True(t, gcapi.RefundStatusPaid.Known())
	})

	t.Run("JSONErrorWithoutEnvelopeIsAnUpstreamError", func(t *testing.T) {
		t.Parallel()
		_, err := c.ListCreditors(ctx, 1)
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeUpstream, apiErr.Type)
		require.Equal(t, "503 response without a GoCardless error envelope", apiErr.Message)
	})

	t.Run("NonGoCardless404BodyIsAnUpstreamNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := c.GetMandate(ctx, "MD404")
		require.True(t, gcapi.IsNotFound(err))
		var apiErr *gcapi.APIError
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, gcapi.ErrorTypeUpstream, apiErr.Type)
	})
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                           string
		err                            error
		notFound, validation, rateLimd bool
	}{
		{"NilIsNothing", nil, false, false, false},
		{"PlainErrorIsNothing", errors.New("boom"), false, false, false},
		{"404IsNotFound", &gcapi.APIError{StatusCode: 404, Type: "invalid_api_usage"}, true, false, false},
		{"422ValidationFailedIsValidation", &gcapi.APIError{StatusCode: 422, Type: "validation_failed"}, false, true, false},
		{"LocalValidationErrorIsValidation", &gcapi.ValidationError{}, false, true, false},
		{"429IsRateLimited", &gcapi.APIError{StatusCode: 429}, false, false, true},
		{"WrappedErrorsAreSeenThrough", errors.Join(errors.New("ctx"), &gcapi.APIError{StatusCode: 429}), false, false, true},
		{"InvalidStateIsNotValidation", &gcapi.APIError{StatusCode: 422, Type: "invalid_state"}, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.notFound, gcapi.IsNotFound(tc.err))
			require.Equal(t, tc.validation, gcapi.IsValidation(tc.err))
			require.Equal(t, tc.rateLimd, gcapi.IsRateLimited(tc.err))
		})
	}
}
