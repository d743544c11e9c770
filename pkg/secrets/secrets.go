// Package secrets encrypts secrets at rest and hashes API key secrets.
//
// Envelope encryption: each organisation has its own random 256-bit data key; the data key is
// stored wrapped (AES-256-GCM) under the master key from the environment, and secrets are sealed
// with AES-256-GCM under the data key. Additional data binds each ciphertext to the row and field
// it belongs to, so a ciphertext copied into another row does not decrypt.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of master and data keys in bytes.
const KeySize = 32

// ErrDecrypt is returned when a ciphertext does not open: wrong key, wrong row, or tampering.
var ErrDecrypt = errors.New("secrets: ciphertext does not decrypt")

// Keyring holds the master key and, during a rotation, the previous one.
type Keyring struct {
	current  []byte
	previous []byte
	hashKey  []byte
}

// ParseKey decodes a 32-byte key given as base64 (standard or URL) or 64 hex characters.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("key must be %d bytes, got %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("key must be %d bytes as base64 or hex", KeySize)
}

// GenerateKey returns a new random key in base64, for MASTER_KEY.
func GenerateKey() string {
	b := make([]byte, KeySize)
	mustRead(b)
	return base64.StdEncoding.EncodeToString(b)
}

// NewKeyring builds a keyring from the master key and an optional previous master key.
func NewKeyring(master, previous []byte) (*Keyring, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes", KeySize)
	}
	if previous != nil && len(previous) != KeySize {
		return nil, fmt.Errorf("previous master key must be %d bytes", KeySize)
	}
	return &Keyring{current: master, previous: previous, hashKey: Derive(master, "api-key-hash/v1")}, nil
}

// Derive returns a 32-byte sub-key of key for one purpose (HMAC-SHA256 of the label).
func Derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// DeriveKey returns a sub-key of the master key for one purpose, e.g. signing sessions in development.
func (k *Keyring) DeriveKey(label string) []byte { return Derive(k.current, label) }

// keyID names a master key in wrapped data keys without revealing it.
func keyID(key []byte) string { return hex.EncodeToString(Derive(key, "key-id"))[:8] }

// NewDataKey creates an organisation's data key and returns it wrapped under the master key.
func (k *Keyring) NewDataKey(orgID string) (wrapped string, err error) {
	dk := make([]byte, KeySize)
	mustRead(dk)
	return k.wrap(dk, orgID)
}

func (k *Keyring) wrap(dk []byte, orgID string) (string, error) {
	ct, err := seal(k.current, dk, []byte("data-key:"+orgID))
	if err != nil {
		return "", err
	}
	return "mk1." + keyID(k.current) + ":" + ct, nil
}

// UnwrapDataKey opens an organisation's wrapped data key with the current or previous master key.
func (k *Keyring) UnwrapDataKey(wrapped, orgID string) (*DataKey, error) {
	head, body, ok := strings.Cut(wrapped, ":")
	if !ok || !strings.HasPrefix(head, "mk1.") {
		return nil, ErrDecrypt
	}
	kid := strings.TrimPrefix(head, "mk1.")
	for _, mk := range [][]byte{k.current, k.previous} {
		if mk == nil || keyID(mk) != kid {
			continue
		}
		dk, err := open(mk, body, []byte("data-key:"+orgID))
		if err != nil {
			return nil, err
		}
		return &DataKey{key: dk}, nil
	}
	return nil, fmt.Errorf("%w: wrapped by an unknown master key %s", ErrDecrypt, kid)
}

// RewrapDataKey re-wraps a data key under the current master key (for master key rotation).
func (k *Keyring) RewrapDataKey(wrapped, orgID string) (string, error) {
	dk, err := k.UnwrapDataKey(wrapped, orgID)
	if err != nil {
		return "", err
	}
	return k.wrap(dk.key, orgID)
}

// HashAPISecret returns the keyed hash under which an API key secret is stored.
func (k *Keyring) HashAPISecret(secret string) string {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(secret))
	return hex.EncodeToString(m.Sum(nil))
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// DataKey is an unwrapped organisation data key.
type DataKey struct{ key []byte }

// Seal encrypts plaintext for one purpose (e.g. "provider:prov_123:credentials").
func (d *DataKey) Seal(plaintext []byte, purpose string) (string, error) {
	ct, err := seal(d.key, plaintext, []byte(purpose))
	if err != nil {
		return "", err
	}
	return "v1:" + ct, nil
}

// Open decrypts what Seal produced for the same purpose.
func (d *DataKey) Open(sealed, purpose string) ([]byte, error) {
	body, ok := strings.CutPrefix(sealed, "v1:")
	if !ok {
		return nil, ErrDecrypt
	}
	return open(d.key, body, []byte(purpose))
}

func seal(key, plaintext, aad []byte) (string, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	mustRead(nonce)
	out := gcm.Seal(nonce, nonce, plaintext, aad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

func open(key []byte, body string, aad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, ErrDecrypt
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(raw) < gcm.NonceSize() {
		return nil, ErrDecrypt
	}
	pt, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], aad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

func mustRead(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("secrets: crypto/rand failed: " + err.Error())
	}
}
