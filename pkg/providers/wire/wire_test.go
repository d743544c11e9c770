package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReferencesAreValidUniqueAndTypable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		ref := NewReference()
		require.Len(t, ref, 16)
		require.True(t, ValidReference(ref), ref)
		require.True(t, ValidReference(FormatReference(ref)), "grouped form is still valid")
		require.NotContains(t, ref[4:], "O")
		require.NotContains(t, ref[4:], "I")
		require.False(t, seen[ref])
		seen[ref] = true
	}
	require.True(t, ValidReference("RF18 5390 0754 7034"), "the ISO 11649 example")
	require.False(t, ValidReference("RF19 5390 0754 7034"), "a wrong check digit")
	ref := NewReference()
	typo := []byte(ref)
	if typo[6] == '1' {
		typo[6] = '2'
	} else {
		typo[6] = '1'
	}
	require.False(t, ValidReference(string(typo)), "a one-character typo is caught")
}
