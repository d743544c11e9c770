package gcfake_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
)

var t0 = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// call sends a raw API request with the right token and version unless hdr overrides them.
func call(t *testing.T, s *gcfake.Server, method, path, body string, hdr map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.AccessToken())
	req.Header.Set("GoCardless-Version", "2015-07-06")
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	}
	return resp.StatusCode, resp.Header, out
}

// errorOf returns the error envelope's inside, failing if there is none.
func errorOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	require.True(t, ok, "no error envelope in %v", body)
	for _, k := range []string{"message", "documentation_url", "type", "request_id", "code", "errors"} {
		require.Contains(t, e, k)
	}
	return e
}

func firstError(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	errs := errorOf(t, body)["errors"].([]any)
	require.NotEmpty(t, errs)
	return errs[0].(map[string]any)
}

func createBR(t *testing.T, s *gcfake.Server, body string) string {
	t.Helper()
	status, _, out := call(t, s, "POST", "/billing_requests", body, nil)
	require.Equal(t, http.StatusCreated, status, out)
	return out["billing_requests"].(map[string]any)["id"].(string)
}

const gbp1000 = `{"billing_requests":{"payment_request":{"amount":1000,"currency":"GBP","description":"Order 1","metadata":{"txn":"t1"}},"metadata":{"site":"s1"}}}`

func TestAPIChecks(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		typ, reason              string
	}{
		{"AnswersUnknownTokenWith401", "GET", "/creditors", "", map[string]string{"Authorization": "Bearer sandbox_other"}, 401, "invalid_api_usage", "access_token_not_found"},
		{"AnswersMissingTokenWith401", "GET", "/creditors", "", map[string]string{"Authorization": ""}, 401, "invalid_api_usage", "access_token_not_found"},
		{"RequiresVersionHeader", "GET", "/creditors", "", map[string]string{"GoCardless-Version": ""}, 400, "invalid_api_usage", "missing_version_header"},
		{"RejectsUnknownVersion", "GET", "/creditors", "", map[string]string{"GoCardless-Version": "2099-01-01"}, 400, "invalid_api_usage", "version_not_found"},
		{"RejectsNonJSONContentType", "POST", "/billing_requests", gbp1000, map[string]string{"Content-Type": "text/plain"}, 415, "invalid_api_usage", "invalid_content_type"},
		{"RejectsBodyWithoutWrapper", "POST", "/billing_requests", `{"payment_request":{"amount":1000,"currency":"GBP"}}`, nil, 400, "invalid_api_usage", "invalid_document_structure"},
		{"RejectsWrongWrapper", "POST", "/refunds", `{"refund":{"amount":1}}`, nil, 400, "invalid_api_usage", "invalid_document_structure"},
		{"RejectsInvalidJSON", "POST", "/billing_requests", `{"billing_requests":`, nil, 400, "invalid_api_usage", "invalid_json"},
		{"RejectsActionWithoutDataWrapper", "POST", "/scenario_simulators/payment_confirmed/actions/run", `{"links":{"resource":"PM1"}}`, nil, 400, "invalid_api_usage", "invalid_document_structure"},
		{"AnswersUnknownPathWith404", "GET", "/subscriptions", "", nil, 404, "invalid_api_usage", "path_not_found"},
		{"AnswersUnknownPaymentWith404", "GET", "/payments/PM0", "", nil, 404, "invalid_api_usage", "resource_not_found"},
		{"AnswersUnknownScenarioWith404", "POST", "/scenario_simulators/payment_teleported/actions/run", `{"data":{"links":{"resource":"PM1"}}}`, nil, 404, "invalid_api_usage", "resource_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gcfake.New(t)
			status, _, body := call(t, s, tc.method, tc.path, tc.body, tc.hdr)
			require.Equal(t, tc.status, status, body)
			e := errorOf(t, body)
			require.Equal(t, tc.typ, e["type"])
			require.Equal(t, float64(tc.status), e["code"])
			require.Equal(t, tc.reason, firstError(t, body)["reason"])
		})
	}

	t.Run("SendsRateLimitHeadersOnEveryAnswer", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		_, hdr, _ := call(t, s, "GET", "/creditors", "", nil)
		require.Equal(t, "1000", hdr.Get("RateLimit-Limit"))
		_, err := http.ParseTime(hdr.Get("RateLimit-Reset"))
		require.NoError(t, err)
	})
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path, body, field, pointer string
	}{
		{"RejectsZeroAmount", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":0,"currency":"GBP"}}}`, "amount", "/billing_requests/payment_request/amount"},
		{"RejectsFractionalAmount", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":10.5,"currency":"GBP"}}}`, "amount", "/billing_requests/payment_request/amount"},
		{"RejectsCurrencyWithoutInstantScheme", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":"SEK"}}}`, "currency", "/billing_requests/payment_request/currency"},
		{"RejectsCurrencyWithoutDirectDebitScheme", "/billing_requests", `{"billing_requests":{"mandate_request":{"currency":"JPY"}}}`, "currency", "/billing_requests/mandate_request/currency"},
		{"RejectsMismatchedMandateScheme", "/billing_requests", `{"billing_requests":{"mandate_request":{"currency":"GBP","scheme":"ach"}}}`, "scheme", "/billing_requests/mandate_request/scheme"},
		{"RejectsMixedCurrencies", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":"GBP"},"mandate_request":{"currency":"EUR"}}}`, "currency", "/billing_requests/mandate_request/currency"},
		{"RejectsFourMetadataKeys", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":"GBP"},"metadata":{"a":"1","b":"2","c":"3","d":"4"}}}`, "metadata", "/billing_requests/metadata"},
		{"RejectsLongMetadataKey", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":"GBP","metadata":{"` + strings.Repeat("k", 51) + `":"v"}}}}`, "metadata", "/billing_requests/payment_request/metadata"},
		{"RejectsLongMetadataValue", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":"GBP"},"metadata":{"k":"` + strings.Repeat("v", 501) + `"}}}`, "metadata", "/billing_requests/metadata"},
		{"RejectsWrongTypes", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":100,"currency":7}}}`, "payment_request.currency", "/billing_requests/payment_request/currency"},
		{"RejectsFlowForUnknownBillingRequest", "/billing_request_flows", `{"billing_request_flows":{"links":{"billing_request":"BRQ0"}}}`, "billing_request", "/billing_request_flows/links/billing_request"},
		{"RejectsFlowWithRelativeRedirect", "/billing_request_flows", `{"billing_request_flows":{"links":{"billing_request":"BRQ0"},"redirect_uri":"/back"}}`, "redirect_uri", "/billing_request_flows/redirect_uri"},
		{"RejectsRefundForUnknownPayment", "/refunds", `{"refunds":{"amount":100,"total_amount_confirmation":100,"links":{"payment":"PM0"}}}`, "payment", "/refunds/links/payment"},
		{"RejectsRefundWithoutTotalConfirmation", "/refunds", `{"refunds":{"amount":100,"links":{"payment":"PM0"}}}`, "total_amount_confirmation", "/refunds/total_amount_confirmation"},
		{"RejectsSimulatorWithoutResource", "/scenario_simulators/payment_confirmed/actions/run", `{"data":{"links":{}}}`, "resource", "/data/links/resource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gcfake.New(t)
			status, _, body := call(t, s, "POST", tc.path, tc.body, nil)
			require.Equal(t, http.StatusUnprocessableEntity, status, body)
			require.Equal(t, "validation_failed", errorOf(t, body)["type"])
			var fields, pointers []any
			for _, e := range errorOf(t, body)["errors"].([]any) {
				fields = append(fields, e.(map[string]any)["field"])
				pointers = append(pointers, e.(map[string]any)["request_pointer"])
			}
			require.Contains(t, fields, tc.field)
			require.Contains(t, pointers, tc.pointer)
		})
	}

	t.Run("StringAmountsAreAccepted", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		id := createBR(t, s, `{"billing_requests":{"payment_request":{"amount":"500","currency":"EUR"}}}`)
		br, ok := s.BillingRequest(id)
		require.True(t, ok)
		require.Equal(t, int64(500), br.PaymentRequest.Amount)
		require.Equal(t, "sepa_credit_transfer", br.PaymentRequest.Scheme)
	})

	t.Run("MandateSchemeAloneImpliesCurrency", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		id := createBR(t, s, `{"billing_requests":{"mandate_request":{"scheme":"autogiro"}}}`)
		br, _ := s.BillingRequest(id)
		require.Equal(t, "SEK", br.MandateRequest.Currency)
	})
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()

	t.Run("ReplayAnswers409WithConflictingResourceID", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		key := map[string]string{"Idempotency-Key": "k1"}
		status, _, first := call(t, s, "POST", "/billing_requests", gbp1000, key)
		require.Equal(t, http.StatusCreated, status)
		id := first["billing_requests"].(map[string]any)["id"]

		status, _, again := call(t, s, "POST", "/billing_requests", gbp1000, key)
		require.Equal(t, http.StatusConflict, status)
		require.Equal(t, "invalid_state", errorOf(t, again)["type"])
		fe := firstError(t, again)
		require.Equal(t, "idempotent_creation_conflict", fe["reason"])
		require.Equal(t, id, fe["links"].(map[string]any)["conflicting_resource_id"])
	})

	t.Run("KeysAreScopedToTheEndpoint", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		key := map[string]string{"Idempotency-Key": "shared"}
		status, _, out := call(t, s, "POST", "/billing_requests", gbp1000, key)
		require.Equal(t, http.StatusCreated, status)
		brq := out["billing_requests"].(map[string]any)["id"].(string)
		status, _, _ = call(t, s, "POST", "/billing_request_flows", `{"billing_request_flows":{"links":{"billing_request":"`+brq+`"}}}`, key)
		require.Equal(t, http.StatusCreated, status)
	})

	t.Run("FailedCreateDoesNotUseUpTheKey", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		key := map[string]string{"Idempotency-Key": "k2"}
		status, _, _ := call(t, s, "POST", "/billing_requests", `{"billing_requests":{"payment_request":{"amount":0,"currency":"GBP"}}}`, key)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		status, _, _ = call(t, s, "POST", "/billing_requests", gbp1000, key)
		require.Equal(t, http.StatusCreated, status)
	})
}

func TestAuthorisationPage(t *testing.T) {
	t.Parallel()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	newFlow := func(t *testing.T, s *gcfake.Server, extra string) (brID, flowURL string) {
		t.Helper()
		brID = createBR(t, s, gbp1000)
		status, _, out := call(t, s, "POST", "/billing_request_flows",
			`{"billing_request_flows":{"links":{"billing_request":"`+brID+`"}`+extra+`}}`, nil)
		require.Equal(t, http.StatusCreated, status, out)
		return brID, out["billing_request_flows"].(map[string]any)["authorisation_url"].(string)
	}
	get := func(t *testing.T, u string) (int, string) {
		t.Helper()
		resp, err := noRedirects.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("ShowsPayAndExitControlsWithoutScripts", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		_, u := newFlow(t, s, "")
		require.True(t, strings.HasPrefix(u, s.URL()+"/flow/BRF"), u)
		status, html := get(t, u)
		require.Equal(t, http.StatusOK, status)
		require.Contains(t, html, `id="gc-pay"`)
		require.Contains(t, html, `id="gc-exit"`)
		require.Contains(t, html, "GBP 10.00")
		require.NotContains(t, html, "<script")
	})

	t.Run("PayFulfilsAndRedirectsToRedirectURI", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		brID, u := newFlow(t, s, `,"redirect_uri":"https://shop.example/ok?x=1","prefilled_customer":{"given_name":"Grace","email":"grace@example.com"}`)

		resp, err := noRedirects.PostForm(u+"/pay", url.Values{})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "https://shop.example/ok?x=1", resp.Header.Get("Location"))

		br, _ := s.BillingRequest(brID)
		require.Equal(t, "fulfilled", br.Status)
		p, ok := s.Payment(br.Links.PaymentRequestPayment)
		require.True(t, ok)
		require.Equal(t, "pending_submission", p.Status)
		require.Equal(t, "t1", p.Metadata["txn"])
		cust, _ := s.Customer(br.Links.Customer)
		require.Equal(t, "Grace", cust.GivenName)

		// A second click (or a refresh) does not create a second payment.
		resp, err = noRedirects.PostForm(u+"/pay", url.Values{})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		br2, _ := s.BillingRequest(brID)
		require.Equal(t, br.Links.PaymentRequestPayment, br2.Links.PaymentRequestPayment)
	})

	t.Run("ExitRedirectsToExitURIAndLeavesRequestPending", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		brID, u := newFlow(t, s, `,"exit_uri":"https://shop.example/checkout"`)
		resp, err := noRedirects.Get(u + "/exit")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		require.Equal(t, "https://shop.example/checkout", resp.Header.Get("Location"))
		br, _ := s.BillingRequest(brID)
		require.Equal(t, "pending", br.Status)
	})

	t.Run("ExpiredFlowAnswers410", func(t *testing.T) {
		t.Parallel()
		var now atomic.Int64
		now.Store(t0.UnixNano())
		s := gcfake.New(t, gcfake.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
		_, u := newFlow(t, s, "")
		now.Add(int64(7*24*time.Hour + time.Second))
		status, _ := get(t, u)
		require.Equal(t, http.StatusGone, status)
	})

	t.Run("CancelledRequestCannotBePaid", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		brID, u := newFlow(t, s, "")
		status, _, _ := call(t, s, "POST", "/billing_requests/"+brID+"/actions/cancel", "", nil)
		require.Equal(t, http.StatusOK, status)
		_, html := get(t, u)
		require.NotContains(t, html, `id="gc-pay"`)
		_, err := s.Pay(context.Background(), strings.TrimPrefix(u, s.URL()+"/flow/"))
		require.Error(t, err)
	})

	t.Run("UnknownFlowAnswers404", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		status, _ := get(t, s.URL()+"/flow/BRF000")
		require.Equal(t, http.StatusNotFound, status)
	})

	t.Run("FlowForFulfilledRequestIsRefused", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		brID := createBR(t, s, gbp1000)
		require.NoError(t, s.Simulate(context.Background(), gcfake.ScenarioBillingRequestFulfilled, brID))
		status, _, body := call(t, s, "POST", "/billing_request_flows", `{"billing_request_flows":{"links":{"billing_request":"`+brID+`"}}}`, nil)
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Equal(t, "invalid_state", errorOf(t, body)["type"])
	})
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// setup returns the id to run the scenario on.
	fulfilled := func(t *testing.T, s *gcfake.Server) (string, gcfake.BillingRequest) {
		id := createBR(t, s, gbp1000)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, id))
		br, _ := s.BillingRequest(id)
		return id, br
	}
	payment := func(t *testing.T, s *gcfake.Server) string {
		_, br := fulfilled(t, s)
		return br.Links.PaymentRequestPayment
	}
	confirmed := func(t *testing.T, s *gcfake.Server) string {
		pm := payment(t, s)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, pm))
		return pm
	}
	refund := func(t *testing.T, s *gcfake.Server) string {
		pm := confirmed(t, s)
		status, _, out := call(t, s, "POST", "/refunds", `{"refunds":{"amount":400,"total_amount_confirmation":400,"links":{"payment":"`+pm+`"}}}`, nil)
		require.Equal(t, http.StatusCreated, status, out)
		return out["refunds"].(map[string]any)["id"].(string)
	}
	mandate := func(t *testing.T, s *gcfake.Server) string {
		id := createBR(t, s, `{"billing_requests":{"mandate_request":{"currency":"GBP"}}}`)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, id))
		br, _ := s.BillingRequest(id)
		return br.Links.MandateRequestMandate
	}
	statusOf := func(s *gcfake.Server, id string) string {
		if p, ok := s.Payment(id); ok {
			return p.Status
		}
		if m, ok := s.Mandate(id); ok {
			return m.Status
		}
		if r, ok := s.Refund(id); ok {
			return r.Status
		}
		br, _ := s.BillingRequest(id)
		return br.Status
	}

	for _, tc := range []struct {
		scenario string
		setup    func(*testing.T, *gcfake.Server) string
		want     string
		actions  []string // resource_type/action of the events the scenario records, in order
	}{
		{gcfake.ScenarioBillingRequestFulfilled, func(t *testing.T, s *gcfake.Server) string { return createBR(t, s, gbp1000) },
			"fulfilled", []string{"payments/created", "billing_requests/fulfilled"}},
		{gcfake.ScenarioBillingRequestFulfilledAndPaymentFailed, func(t *testing.T, s *gcfake.Server) string { return createBR(t, s, gbp1000) },
			"fulfilled", []string{"payments/created", "billing_requests/fulfilled", "payments/submitted", "payments/failed"}},
		{gcfake.ScenarioBillingRequestFulfilledAndPaymentPaidOut, func(t *testing.T, s *gcfake.Server) string { return createBR(t, s, gbp1000) },
			"fulfilled", []string{"payments/created", "billing_requests/fulfilled", "payments/submitted", "payments/confirmed", "payments/paid_out"}},
		{gcfake.ScenarioPaymentConfirmed, payment, "confirmed", []string{"payments/submitted", "payments/confirmed"}},
		{gcfake.ScenarioPaymentPaidOut, payment, "paid_out", []string{"payments/submitted", "payments/confirmed", "payments/paid_out"}},
		{gcfake.ScenarioPaymentFailed, confirmed, "failed", []string{"payments/failed"}},
		{gcfake.ScenarioPaymentChargedBack, confirmed, "charged_back", []string{"payments/paid_out", "payments/charged_back"}},
		{gcfake.ScenarioPaymentCancelled, payment, "cancelled", []string{"payments/cancelled"}},
		{gcfake.ScenarioMandateActivated, mandate, "active", []string{"mandates/submitted", "mandates/active"}},
		{gcfake.ScenarioMandateFailed, mandate, "failed", []string{"mandates/failed"}},
		{gcfake.ScenarioRefundPaid, refund, "paid", []string{"refunds/paid"}},
		{gcfake.ScenarioRefundBounced, refund, "bounced", []string{"refunds/failed"}},
	} {
		t.Run("Runs_"+tc.scenario, func(t *testing.T) {
			t.Parallel()
			s := gcfake.New(t)
			id := tc.setup(t, s)
			before := len(s.Events())

			status, _, out := call(t, s, "POST", "/scenario_simulators/"+tc.scenario+"/actions/run",
				`{"data":{"links":{"resource":"`+id+`"}}}`, nil)
			require.Equal(t, http.StatusOK, status, out)
			require.Equal(t, tc.scenario, out["scenario_simulators"].(map[string]any)["id"])

			var got []string
			for _, e := range s.Events()[before:] {
				got = append(got, e.ResourceType+"/"+e.Action)
			}
			require.Equal(t, tc.actions, got)
			require.Equal(t, tc.want, statusOf(s, id))
		})
	}

	t.Run("WrongStartingStateAnswers422InvalidState", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		pm := payment(t, s)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioPaymentCancelled, pm))
		code, _, body := call(t, s, "POST", "/scenario_simulators/payment_confirmed/actions/run", `{"data":{"links":{"resource":"`+pm+`"}}}`, nil)
		require.Equal(t, http.StatusUnprocessableEntity, code)
		require.Equal(t, "invalid_state", errorOf(t, body)["type"])
		require.Error(t, s.Simulate(ctx, gcfake.ScenarioPaymentConfirmed, pm))
	})

	t.Run("UnknownResourceIsNotFound", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		code, _, _ := call(t, s, "POST", "/scenario_simulators/payment_confirmed/actions/run", `{"data":{"links":{"resource":"PM0"}}}`, nil)
		require.Equal(t, http.StatusNotFound, code)
	})

	t.Run("FailedMandateCancelsItsPendingPayments", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		id := createBR(t, s, `{"billing_requests":{"payment_request":{"amount":100,"currency":"GBP"},"mandate_request":{"currency":"GBP"}}}`)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, id))
		br, _ := s.BillingRequest(id)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioMandateFailed, br.Links.MandateRequestMandate))
		p, _ := s.Payment(br.Links.PaymentRequestPayment)
		require.Equal(t, "cancelled", p.Status)
	})

	t.Run("EventsCarryLinksAndResourceMetadata", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		_, br := fulfilled(t, s)
		events := s.Events()
		last := events[len(events)-1]
		require.Equal(t, "billing_requests", last.ResourceType)
		require.Equal(t, "fulfilled", last.Action)
		require.Equal(t, br.ID, last.Links["billing_request"])
		require.Equal(t, br.Links.PaymentRequestPayment, last.Links["payment_request_payment"])
		require.Equal(t, "s1", last.ResourceMetadata["site"])
		require.Equal(t, "payer", last.Details.Origin)

		paymentCreated := events[len(events)-2]
		require.Equal(t, "t1", paymentCreated.ResourceMetadata["txn"])
	})

	t.Run("ScenariosListsEveryScenario", func(t *testing.T) {
		t.Parallel()
		require.Len(t, gcfake.Scenarios(), 12)
		require.Contains(t, gcfake.Scenarios(), "refund_bounced")
	})
}

func TestFailureInjection(t *testing.T) {
	t.Parallel()

	t.Run("RateLimitedAnswerCarriesResetTwoSecondsAhead", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t, gcfake.WithClock(func() time.Time { return t0.Add(300 * time.Millisecond) }))
		s.FailNext(1, gcfake.FailRateLimited)
		status, hdr, body := call(t, s, "GET", "/creditors", "", nil)
		require.Equal(t, http.StatusTooManyRequests, status)
		require.Equal(t, "rate_limit_exceeded", firstError(t, body)["reason"])
		require.Equal(t, "0", hdr.Get("RateLimit-Remaining"))
		reset, err := http.ParseTime(hdr.Get("RateLimit-Reset"))
		require.NoError(t, err)
		require.Equal(t, t0.Add(2*time.Second), reset)
	})

	t.Run("ServerErrorsAreGoCardlessEnvelopes", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		s.FailNext(1, gcfake.FailInternalError)
		s.FailNext(1, gcfake.FailUnavailable)
		for _, want := range []int{500, 503} {
			status, _, body := call(t, s, "GET", "/creditors", "", nil)
			require.Equal(t, want, status)
			require.Equal(t, "gocardless", errorOf(t, body)["type"])
		}
		status, _, _ := call(t, s, "GET", "/creditors", "", nil)
		require.Equal(t, 200, status, "failures are used up")
	})

	t.Run("BadGatewayIsAnHTMLPage", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		s.FailNext(1, gcfake.FailBadGatewayHTML)
		status, hdr, _ := call(t, s, "GET", "/creditors", "", nil)
		require.Equal(t, http.StatusBadGateway, status)
		require.Contains(t, hdr.Get("Content-Type"), "text/html")
	})

	t.Run("LostResponseStillCreates", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		s.FailNext(1, gcfake.FailLostResponse)
		req, _ := http.NewRequest("POST", s.URL()+"/billing_requests", strings.NewReader(gbp1000))
		req.Header.Set("Authorization", "Bearer "+s.AccessToken())
		req.Header.Set("GoCardless-Version", "2015-07-06")
		req.Header.Set("Content-Type", "application/json")
		_, err := http.DefaultClient.Do(req)
		require.Error(t, err)
		reqs := s.Requests()
		require.Equal(t, gcfake.FailLostResponse, reqs[0].Injected)
		require.Equal(t, http.StatusCreated, reqs[0].Status)
		require.NotEmpty(t, s.Events())
	})

	t.Run("AuthorisationPagesAreNeverFailed", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		s.FailNext(1, gcfake.FailInternalError)
		resp, err := http.Get(s.URL() + "/flow/BRF0")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)
		status, _, _ := call(t, s, "GET", "/creditors", "", nil)
		require.Equal(t, 500, status)
	})

	t.Run("RecordsRequestsWithKeysAndBodies", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		call(t, s, "POST", "/billing_requests", gbp1000, map[string]string{"Idempotency-Key": "abc"})
		call(t, s, "GET", "/creditors", "", nil)
		reqs := s.Requests()
		require.Len(t, reqs, 2)
		require.Equal(t, "abc", reqs[0].IdempotencyKey)
		require.JSONEq(t, gbp1000, string(reqs[0].Body))
		require.Equal(t, 201, reqs[0].Status)
		require.Len(t, s.RequestsTo("GET", "/creditors"), 1)
	})
}

func TestCreditors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, query string
		status      int
	}{
		{"ServesTheDefaultCreditor", "", 200},
		{"HonoursLimit", "?limit=1", 200},
		{"RejectsLimitOver500", "?limit=501", 422},
		{"RejectsNonNumericLimit", "?limit=ten", 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := gcfake.New(t)
			status, _, body := call(t, s, "GET", "/creditors"+tc.query, "", nil)
			require.Equal(t, tc.status, status, body)
			if status == 200 {
				list := body["creditors"].([]any)
				require.Len(t, list, 1)
				require.Equal(t, s.Creditors()[0].ID, list[0].(map[string]any)["id"])
			}
		})
	}
}

// receiver is a webhook endpoint recording verified batches.
type receiver struct {
	mu      sync.Mutex
	batches []*gcapi.WebhookBatch
	answer  atomic.Int32 // status for valid deliveries; 0 means 204
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	b, err := gcapi.ParseWebhook(body, req.Header.Get("Webhook-Signature"), "secret")
	if err != nil {
		w.WriteHeader(498)
		return
	}
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	if code := r.answer.Load(); code != 0 {
		w.WriteHeader(int(code))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) Batches() []*gcapi.WebhookBatch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*gcapi.WebhookBatch(nil), r.batches...)
}

func TestWebhookDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("DeliversPendingEventsAsOneSignedBatch", func(t *testing.T) {
		t.Parallel()
		recv := &receiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		s := gcfake.New(t, gcfake.WithWebhook(hook.URL, "secret"))
		id := createBR(t, s, gbp1000)
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, id))
		require.Len(t, s.PendingEvents(), 3)

		deliveries, err := s.DeliverEvents(ctx)
		require.NoError(t, err)
		require.Len(t, deliveries, 1)
		require.True(t, deliveries[0].OK())
		require.True(t, strings.HasPrefix(deliveries[0].WebhookID, "WB"))
		require.Empty(t, s.PendingEvents())

		batches := recv.Batches()
		require.Len(t, batches, 1)
		require.Equal(t, deliveries[0].WebhookID, batches[0].Meta.WebhookID)
		require.Len(t, batches[0].Events, 3)
		require.Equal(t, "billing_requests", batches[0].Events[0].ResourceType)
		require.Equal(t, "created", batches[0].Events[0].Action)

		again, err := s.DeliverEvents(ctx)
		require.NoError(t, err)
		require.Empty(t, again, "nothing new to deliver")
	})

	t.Run("UnacknowledgedBatchIsRetriedWithTheSameWebhookID", func(t *testing.T) {
		t.Parallel()
		recv := &receiver{}
		recv.answer.Store(500)
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		s := gcfake.New(t, gcfake.WithWebhook(hook.URL, "secret"))
		createBR(t, s, gbp1000)

		first, err := s.DeliverEvents(ctx)
		require.Error(t, err)
		require.Equal(t, 500, first[0].StatusCode)

		recv.answer.Store(0)
		createBR(t, s, gbp1000)
		second, err := s.DeliverEvents(ctx)
		require.NoError(t, err)
		require.Len(t, second, 2)
		require.Equal(t, first[0].WebhookID, second[0].WebhookID)
		require.Equal(t, first[0].Body, second[0].Body)
		require.Len(t, s.Deliveries(), 3)
	})

	t.Run("WrongSecretIsAnswered498", func(t *testing.T) {
		t.Parallel()
		hook := httptest.NewServer(&receiver{})
		t.Cleanup(hook.Close)
		s := gcfake.New(t, gcfake.WithWebhook(hook.URL, "not-the-secret"))
		createBR(t, s, gbp1000)
		deliveries, err := s.DeliverEvents(ctx)
		require.Error(t, err)
		require.Equal(t, 498, deliveries[0].StatusCode)
	})

	t.Run("NoEndpointIsAnError", func(t *testing.T) {
		t.Parallel()
		s := gcfake.New(t)
		_, err := s.DeliverEvents(ctx)
		require.Error(t, err)
	})

	t.Run("AutoDeliverySendsSimulatedEventsBeforeReturning", func(t *testing.T) {
		t.Parallel()
		recv := &receiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		s := gcfake.New(t, gcfake.WithAutoDeliver())
		s.SetWebhook(hook.URL, "secret")
		id := createBR(t, s, gbp1000) // API-triggered: delivered in the background
		require.NoError(t, s.WaitIdle(ctx))
		require.NoError(t, s.Simulate(ctx, gcfake.ScenarioBillingRequestFulfilled, id))

		var actions []string
		for _, b := range recv.Batches() {
			for _, e := range b.Events {
				actions = append(actions, e.ResourceType+"/"+e.Action)
			}
		}
		require.Equal(t, []string{"billing_requests/created", "payments/created", "billing_requests/fulfilled"}, actions)
	})

	t.Run("HandBuiltBatchesReplayInAnyOrder", func(t *testing.T) {
		t.Parallel()
		recv := &receiver{}
		hook := httptest.NewServer(recv)
		t.Cleanup(hook.Close)
		s := gcfake.New(t, gcfake.WithWebhook(hook.URL, "secret"))
		confirmed := gcfake.Event{ResourceType: "payments", Action: "confirmed", Links: map[string]string{"payment": "PM1"}}
		failed := gcfake.Event{ResourceType: "payments", Action: "failed", Links: map[string]string{"payment": "PM1"},
			Details: gcfake.EventDetails{Origin: "bank", Cause: "insufficient_funds", WillAttemptRetry: true}}
		b1, sig1 := s.WebhookBatch(confirmed)
		b2, sig2 := s.WebhookBatch(failed)

		for _, d := range []struct {
			body []byte
			sig  string
		}{{b2, sig2}, {b1, sig1}, {b2, sig2}} { // out of order, and once more
			status, err := s.PostWebhook(ctx, d.body, d.sig)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, status)
		}
		batches := recv.Batches()
		require.Equal(t, "failed", batches[0].Events[0].Action)
		require.True(t, batches[0].Events[0].Details.WillAttemptRetry)
		require.Equal(t, "confirmed", batches[1].Events[0].Action)
		require.Equal(t, batches[0].Events[0].ID, batches[2].Events[0].ID)

		status, err := s.PostWebhook(ctx, b1, "")
		require.NoError(t, err)
		require.Equal(t, 498, status, "unsigned deliveries are refused")
	})
}
