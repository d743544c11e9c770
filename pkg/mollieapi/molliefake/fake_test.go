package molliefake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/mollieapi/molliefake"
)

// call speaks to the fake in raw HTTP, as Mollie's documentation writes the requests.
func call(t *testing.T, f *molliefake.Server, method, path, key, idem string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, f.URL()+path, rd)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, res.Header, out
}

func payment(value, currency string) map[string]any {
	return map[string]any{"amount": map[string]string{"currency": currency, "value": value}, "description": "Order 12345",
		"redirectUrl": "https://webshop.example.org/order/12345/", "webhookUrl": "https://webshop.example.org/payments/webhook/",
		"metadata": map[string]string{"order_id": "12345"}}
}

func TestTheWireFormat(t *testing.T) {
	f := molliefake.New(t)
	code, h, body := call(t, f, http.MethodGet, "/v2/methods", "", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Equal(t, "application/hal+json", h.Get("Content-Type"))
	require.EqualValues(t, 401, body["status"])
	require.Equal(t, "Unauthorized", body["title"])

	for _, bad := range [][2]string{{"10.5", "EUR"}, {"10.000", "EUR"}, {"10.00", "JPY"}, {"-1.00", "EUR"}, {"10.00", "XXX"}, {"1e3", "EUR"}} {
		code, _, body := call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "", payment(bad[0], bad[1]))
		require.Equal(t, http.StatusUnprocessableEntity, code, "%v", bad)
		require.Equal(t, "amount", body["field"])
	}
	code, _, body = call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "k1", payment("10.00", "EUR"))
	require.Equal(t, http.StatusCreated, code)
	require.Equal(t, "payment", body["resource"])
	require.Equal(t, "open", body["status"])
	require.Equal(t, "test", body["mode"])
	require.Equal(t, map[string]any{"order_id": "12345"}, body["metadata"])
	id := body["id"].(string)
	require.Regexp(t, `^tr_`, id)
	require.Equal(t, f.URL()+"/checkout/"+id, body["_links"].(map[string]any)["checkout"].(map[string]any)["href"])
	_, _, again := call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "k1", payment("10.00", "EUR"))
	require.Equal(t, id, again["id"], "the same key and request: the same answer")
	code, _, _ = call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "k1", payment("11.00", "EUR"))
	require.Equal(t, http.StatusUnprocessableEntity, code, "the same key with another request")
	code, _, _ = call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "", payment("1500", "JPY"))
	require.Equal(t, http.StatusCreated, code)

	// The hosted checkout: paying calls the webhook (form-encoded id, unsigned), then redirects.
	var mu sync.Mutex
	var got []string
	hooks := http.NewServeMux()
	hooks.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
		require.NoError(t, r.ParseForm())
		mu.Lock()
		got = append(got, r.PostForm.Get("id"))
		mu.Unlock()
	})
	srv := newServer(t, hooks)
	p := payment("5.00", "EUR")
	p["webhookUrl"] = srv + "/hook"
	_, _, created := call(t, f, http.MethodPost, "/v2/payments", f.TestKey(), "", p)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	pay := created["_links"].(map[string]any)["checkout"].(map[string]any)["href"].(string) + "/pay"
	res, err := noFollow.Post(pay, "application/x-www-form-urlencoded", strings.NewReader(url.Values{}.Encode()))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.Equal(t, "https://webshop.example.org/order/12345/", res.Header.Get("Location"))
	mu.Lock()
	require.Equal(t, []string{created["id"].(string)}, got)
	mu.Unlock()
	_, _, paid := call(t, f, http.MethodGet, "/v2/payments/"+created["id"].(string), f.TestKey(), "", nil)
	require.Equal(t, "paid", paid["status"])
	require.Equal(t, map[string]any{"currency": "EUR", "value": "0.00"}, paid["amountRefunded"])
	require.NotContains(t, paid["_links"], "checkout", "no checkout once paid")
}
