package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
)

func TestCutPageKeepsLimitRowsAndSaysWhetherMoreFollow(t *testing.T) {
	rows, more := domain.CutPage([]int{1, 2, 3}, 2)
	require.Equal(t, []int{1, 2}, rows)
	require.True(t, more)
	rows, more = domain.CutPage([]int{1, 2}, 2)
	require.Equal(t, []int{1, 2}, rows)
	require.False(t, more)
	rows, more = domain.CutPage([]int(nil), 5)
	require.Empty(t, rows)
	require.False(t, more)
}
