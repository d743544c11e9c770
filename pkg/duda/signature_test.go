package duda_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
)

func TestSignMatchesDudaDocumentedExample(t *testing.T) {
	t.Parallel()
	// Duda's "Webhook Authentication" page: body {'key1':'world','key2':'world'}, timestamp 1570350275357, key
	// "mysecretsecret" (the decoded secret) → +DCfT1wIMUiaZnlZB4u59/d5wkXKA89lv67Ov66vnyc=.
	secret := base64.StdEncoding.EncodeToString([]byte("mysecretsecret"))
	body := []byte(`{'key1':'world','key2':'world'}`)
	require.Equal(t, "+DCfT1wIMUiaZnlZB4u59/d5wkXKA89lv67Ov66vnyc=", duda.Sign(secret, "1570350275357", body))
	require.NoError(t, duda.VerifySignature(secret, "1570350275357", "+DCfT1wIMUiaZnlZB4u59/d5wkXKA89lv67Ov66vnyc=",
		body, time.UnixMilli(1570350275357).Add(time.Minute), 5*time.Minute))
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	other := base64.StdEncoding.EncodeToString([]byte("another-secret-another-secret-xx"))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"site_name":"a1b2c3d4","free":false}`)
	ms := func(at time.Time) string { return strconv.FormatInt(at.UnixMilli(), 10) }
	secs := func(at time.Time) string { return strconv.FormatInt(at.Unix(), 10) }

	for _, tc := range []struct {
		name      string
		timestamp string
		signature string
		body      []byte
		want      error // nil: accepted
	}{
		{"valid, millisecond timestamp", ms(now), duda.Sign(secret, ms(now), body), body, nil},
		{"valid, second timestamp", secs(now), duda.Sign(secret, secs(now), body), body, nil},
		{"valid, signed a little in the past", ms(now.Add(-4 * time.Minute)), duda.Sign(secret, ms(now.Add(-4*time.Minute)), body), body, nil},
		{"valid, clock slightly behind the sender", ms(now.Add(time.Minute)), duda.Sign(secret, ms(now.Add(time.Minute)), body), body, nil},
		{"valid, body re-indented by a proxy", ms(now), duda.Sign(secret, ms(now), body), []byte("{\n  \"site_name\": \"a1b2c3d4\",\n  \"free\": false\n}"), nil},
		{"tampered body", ms(now), duda.Sign(secret, ms(now), body), []byte(`{"site_name":"evil","free":false}`), duda.ErrBadSignature},
		{"wrong secret", ms(now), duda.Sign(other, ms(now), body), body, duda.ErrBadSignature},
		{"timestamp swapped after signing", ms(now.Add(time.Second)), duda.Sign(secret, ms(now), body), body, duda.ErrBadSignature},
		{"stale timestamp", ms(now.Add(-6 * time.Minute)), duda.Sign(secret, ms(now.Add(-6*time.Minute)), body), body, duda.ErrStaleTimestamp},
		{"stale second timestamp", secs(now.Add(-time.Hour)), duda.Sign(secret, secs(now.Add(-time.Hour)), body), body, duda.ErrStaleTimestamp},
		{"timestamp in the future", ms(now.Add(6 * time.Minute)), duda.Sign(secret, ms(now.Add(6*time.Minute)), body), body, duda.ErrStaleTimestamp},
		{"missing signature", ms(now), "", body, duda.ErrBadSignature},
		{"missing timestamp", "", duda.Sign(secret, "", body), body, duda.ErrBadSignature},
		{"signature not base64", ms(now), "not base64!", body, duda.ErrBadSignature},
		{"timestamp not a number, even when signed", "yesterday", duda.Sign(secret, "yesterday", body), body, duda.ErrBadSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := duda.VerifySignature(secret, tc.timestamp, tc.signature, tc.body, now, 5*time.Minute)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}

	t.Run("a secret that is not base64 is a configuration error", func(t *testing.T) {
		t.Parallel()
		err := duda.VerifySignature("%%%", ms(now), "x", body, now, time.Minute)
		require.Error(t, err)
		require.NotErrorIs(t, err, duda.ErrBadSignature)
		require.Empty(t, duda.Sign("%%%", ms(now), body))
	})
	t.Run("zero tolerance means the default", func(t *testing.T) {
		t.Parallel()
		at := now.Add(-4 * time.Minute)
		require.NoError(t, duda.VerifySignature(secret, ms(at), duda.Sign(secret, ms(at), body), body, now, 0))
	})
}

func TestVerifyRequestKeepsTheBodyReadable(t *testing.T) {
	t.Parallel()
	secret := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	now := time.Now()
	body := []byte(`{"site_name":"s1"}`)
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	r := httptest.NewRequest(http.MethodPost, "/duda/lifecycle/uninstall", bytes.NewReader(body))
	r.Header.Set(duda.HeaderSignature, duda.Sign(secret, ts, body))
	r.Header.Set(duda.HeaderSignatureTimestamp, ts)

	got, err := duda.VerifyRequest(r, secret, now, time.Minute)
	require.NoError(t, err)
	require.Equal(t, body, got)
	again := new(bytes.Buffer)
	_, err = again.ReadFrom(r.Body)
	require.NoError(t, err)
	require.Equal(t, body, again.Bytes())

	t.Run("an unsigned request is refused", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest(http.MethodPost, "/duda/lifecycle/install", bytes.NewReader(body))
		_, err := duda.VerifyRequest(r, secret, now, time.Minute)
		require.ErrorIs(t, err, duda.ErrBadSignature)
	})
}
