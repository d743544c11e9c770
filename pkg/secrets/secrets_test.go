package secrets

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func keyring(t *testing.T) *Keyring {
	t.Helper()
	mk, err := ParseKey(GenerateKey())
	require.NoError(t, err)
	k, err := NewKeyring(mk, nil)
	require.NoError(t, err)
	return k
}

func TestEnvelopeRoundTrip(t *testing.T) {
	t.Parallel()
	k := keyring(t)
	wrapped, err := k.NewDataKey("org_1")
	require.NoError(t, err)
	dk, err := k.UnwrapDataKey(wrapped, "org_1")
	require.NoError(t, err)
	sealed, err := dk.Seal([]byte("sk_test_123"), "provider:prov_1:credentials")
	require.NoError(t, err)
	require.NotContains(t, sealed, "sk_test_123")
	pt, err := dk.Open(sealed, "provider:prov_1:credentials")
	require.NoError(t, err)
	require.Equal(t, "sk_test_123", string(pt))

	t.Run("RejectsAnotherPurpose", func(t *testing.T) {
		_, err := dk.Open(sealed, "provider:prov_2:credentials")
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("RejectsAnotherOrganisation", func(t *testing.T) {
		_, err := k.UnwrapDataKey(wrapped, "org_2")
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("RejectsTampering", func(t *testing.T) {
		b := []byte(sealed)
		i := len(b) - 5
		b[i] ^= 1
		if b[i] == sealed[i] || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", rune(b[i])) {
			b[i] = 'A'
			if sealed[i] == 'A' {
				b[i] = 'B'
			}
		}
		_, err := dk.Open(string(b), "provider:prov_1:credentials")
		require.ErrorIs(t, err, ErrDecrypt)
	})
	t.Run("RejectsAnotherMasterKey", func(t *testing.T) {
		_, err := keyring(t).UnwrapDataKey(wrapped, "org_1")
		require.ErrorIs(t, err, ErrDecrypt)
	})
}

func TestMasterKeyRotation(t *testing.T) {
	t.Parallel()
	oldMK, _ := ParseKey(GenerateKey())
	newMK, _ := ParseKey(GenerateKey())
	old, err := NewKeyring(oldMK, nil)
	require.NoError(t, err)
	wrapped, err := old.NewDataKey("org_1")
	require.NoError(t, err)
	rotating, err := NewKeyring(newMK, oldMK)
	require.NoError(t, err)
	_, err = rotating.UnwrapDataKey(wrapped, "org_1")
	require.NoError(t, err, "the previous master key still opens old data keys")
	rewrapped, err := rotating.RewrapDataKey(wrapped, "org_1")
	require.NoError(t, err)
	done, err := NewKeyring(newMK, nil)
	require.NoError(t, err)
	_, err = done.UnwrapDataKey(rewrapped, "org_1")
	require.NoError(t, err)
}

func TestHashAPISecretIsKeyed(t *testing.T) {
	t.Parallel()
	a, b := keyring(t), keyring(t)
	require.Equal(t, a.HashAPISecret("s"), a.HashAPISecret("s"))
	require.NotEqual(t, a.HashAPISecret("s"), b.HashAPISecret("s"))
	require.True(t, EqualHash(a.HashAPISecret("s"), a.HashAPISecret("s")))
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	_, err := ParseKey("short")
	require.Error(t, err)
	_, err = ParseKey(strings.Repeat("ab", 32))
	require.NoError(t, err)
	_, err = ParseKey(GenerateKey())
	require.NoError(t, err)
}
