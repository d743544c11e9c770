package domain

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// ID prefixes, one per entity, so an id says what it names.
const (
	PrefixOrganization = "org"
	PrefixUser         = "usr"
	PrefixSite         = "site"
	PrefixProvider     = "prov"
	PrefixAPIKey       = "key"
	PrefixCheckout     = "chk"
	PrefixSession      = "cs"
	PrefixTransaction  = "txn"
	PrefixRefund       = "ref"
	PrefixEvent        = "evt"
	PrefixDelivery     = "ipn"
	PrefixAttempt      = "ipa"
	PrefixAudit        = "aud"
	PrefixJob          = "job"
	PrefixProviderEvt  = "pev"
	PrefixWebhook      = "whd"
	PrefixDudaConn     = "dcn"
	PrefixDudaSite     = "dst"
	PrefixReceipt      = "rcp"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var (
	idMu     sync.Mutex
	idLastMS uint64
	idLastR  [10]byte
)

// NewID returns a new prefixed, time-sortable, random id: "chk_01jd3k..." (26 characters after
// the prefix: 48 bits of milliseconds then 80 random bits, Crockford base32, like a ULID).
// Ids made in the same millisecond by this process still sort in creation order.
func NewID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	idMu.Lock()
	if ms <= idLastMS {
		// Same (or earlier) millisecond: increment the random part so order is kept.
		ms = idLastMS
		for i := len(idLastR) - 1; i >= 0; i-- {
			idLastR[i]++
			if idLastR[i] != 0 {
				break
			}
		}
	} else {
		idLastMS = ms
		mustRandom(idLastR[:])
	}
	copy(b[6:], idLastR[:])
	idMu.Unlock()
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	return prefix + "_" + encodeBase32(b)
}

func encodeBase32(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n characters drawn uniformly from [0-9A-Za-z] (5.95 bits each).
func RandomString(n int) string {
	var sb strings.Builder
	sb.Grow(n)
	buf := make([]byte, n+n/2+8)
	for sb.Len() < n {
		mustRandom(buf)
		for _, c := range buf {
			if c >= 248 { // 248 = 4*62: reject to keep the distribution uniform
				continue
			}
			sb.WriteByte(base62[c%62])
			if sb.Len() == n {
				break
			}
		}
	}
	return sb.String()
}

// NewShortCode returns the public code of a hosted checkout page: 12 base62 characters,
// about 71 bits of randomness, so codes cannot be guessed or enumerated.
func NewShortCode() string { return RandomString(12) }

// NewSessionPublicID returns the public id of a checkout session, matching [A-Za-z0-9._:-]{1,128}.
func NewSessionPublicID() string { return PrefixSession + "_" + RandomString(24) }

func mustRandom(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("domain: crypto/rand failed: " + err.Error())
	}
}

// IDAt is the smallest id of the given prefix that NewID could have made at t's millisecond:
// ids sort by creation time, so a range of creation times is a range of ids.
func IDAt(prefix string, t time.Time) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	return prefix + "_" + encodeBase32(b)
}
