package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestContextAttributesAppearOnEveryLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := New("admin-backend", slog.LevelInfo, &buf)
	ctx := With(context.Background(), "request_id", "req_1")
	ctx = With(ctx, "organization_id", "org_1")
	log.InfoContext(ctx, "hello", "k", "v")
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "req_1", line["request_id"])
	require.Equal(t, "org_1", line["organization_id"])
	require.Equal(t, "admin-backend", line["service"])
	require.Equal(t, "v", line["k"])
}
