package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), l)
		out = append(out, m)
	}
	return out
}

func TestContextAttributesAppearOnEveryLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := New("admin-backend", slog.LevelInfo, &buf)
	ctx := With(context.Background(), "request_id", "req_1")
	ctx = With(ctx, KeyOrg, "org_1")
	log.InfoContext(ctx, "hello", "k", "v")
	line := lines(t, &buf)[0]
	require.Equal(t, "req_1", line["request_id"])
	require.Equal(t, "org_1", line["org_id"])
	require.Equal(t, "admin-backend", line["service"])
	require.Equal(t, "v", line["k"])
}

// The tenant named deep inside a request reaches every later line of it, also lines logged
// with a context made before it was known (the access log line written at the end).
func TestScopeTagsEveryLaterLineOfTheRequest(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := New("admin-backend", slog.LevelInfo, &buf)
	outer := With(Scope(context.Background()), KeyRequestID, "req_1")
	log.InfoContext(outer, "before")
	inner := context.WithValue(outer, layerKey{}, "handler") // a layer's own derived context
	require.True(t, SetTenant(inner, "org_1", ""))
	log.InfoContext(inner, "authenticated")
	require.True(t, SetTenant(inner, "", "site_1"))
	log.WarnContext(inner, "handler")
	log.InfoContext(outer, "request") // the access log line
	got := lines(t, &buf)
	require.Len(t, got, 4)
	require.NotContains(t, got[0], "org_id")
	require.Equal(t, "org_1", got[1]["org_id"])
	require.NotContains(t, got[1], "site_id")
	for _, l := range got[2:] {
		require.Equal(t, "org_1", l["org_id"], l["msg"])
		require.Equal(t, "site_1", l["site_id"], l["msg"])
		require.Equal(t, "req_1", l["request_id"], l["msg"])
	}
	org, site := Tenant(outer)
	require.Equal(t, [2]string{"org_1", "site_1"}, [2]string{org, site})
}

func TestSetTenant(t *testing.T) {
	t.Parallel()
	t.Run("WithoutScopeDoesNothing", func(t *testing.T) {
		var buf bytes.Buffer
		ctx := context.Background()
		require.False(t, SetTenant(ctx, "org_1", "site_1"))
		New("svc", slog.LevelInfo, &buf).InfoContext(ctx, "job")
		require.NotContains(t, lines(t, &buf)[0], "org_id")
	})
	t.Run("AnotherOrganisationForgetsTheSite", func(t *testing.T) {
		ctx := Scope(context.Background())
		SetTenant(ctx, "org_1", "site_1")
		SetTenant(ctx, "org_1", "")
		org, site := Tenant(ctx)
		require.Equal(t, [2]string{"org_1", "site_1"}, [2]string{org, site}, "the same organisation keeps its site")
		SetTenant(ctx, "org_2", "")
		org, site = Tenant(ctx)
		require.Equal(t, [2]string{"org_2", ""}, [2]string{org, site})
	})
	t.Run("WithWinsOverTheScopeWithoutDuplicates", func(t *testing.T) {
		var buf bytes.Buffer
		ctx := Scope(context.Background())
		SetTenant(ctx, "org_1", "site_1")
		New("svc", slog.LevelInfo, &buf).InfoContext(With(ctx, KeyOrg, "org_2"), "x")
		raw := buf.String()
		require.Equal(t, 1, strings.Count(raw, `"org_id"`), raw)
		require.Contains(t, raw, `"org_id":"org_2"`)
		require.Contains(t, raw, `"site_id":"site_1"`)
	})
	t.Run("ConcurrentUse", func(t *testing.T) {
		ctx := Scope(context.Background())
		log := New("svc", slog.LevelInfo, &bytes.Buffer{})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				SetTenant(ctx, "org_1", "site_1")
				log.InfoContext(ctx, "x")
				Tenant(ctx)
			}()
		}
		wg.Wait()
	})
}

type layerKey struct{}
