package gcapi

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A sleep that ignored its context would hang here until the test binary's timeout.
func TestSleepContextHonoursCancellation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, sleepContext(ctx, time.Hour), context.Canceled)
}
