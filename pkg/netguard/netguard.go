// Package netguard is the one policy that keeps merchant notifications (IPN) away from internal
// networks (SSRF). Both services use it: the admin backend (and the main backend, for checkouts
// it creates for integrations) when a merchant gives a notification URL, and the main backend's
// notifier (pkg/ipn) on every delivery, again at connect time.
//
// Internal classifies one address; Policy applies the classification to a host name or URL,
// honouring IPN_ALLOW_PRIVATE_TARGETS (Policy.AllowPrivate).
package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Resolver looks host names up; net.DefaultResolver is one. Tests map names to addresses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// TargetError is a refused target address.
type TargetError struct {
	Host   string
	Addr   netip.Addr
	Reason string
}

func (e *TargetError) Error() string {
	if !e.Addr.IsValid() {
		return fmt.Sprintf("refused: %s is a %s name", e.Host, e.Reason)
	}
	if e.Host != "" && e.Host != e.Addr.String() {
		return fmt.Sprintf("refused: %s resolves to %s, a %s address", e.Host, e.Addr, e.Reason)
	}
	return fmt.Sprintf("refused: %s is a %s address", e.Addr, e.Reason)
}

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

var blockedRanges = func() []blockedRange {
	var out []blockedRange
	for _, r := range [][2]string{
		{"0.0.0.0/8", "\"this network\""},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "carrier-grade NAT"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol"},
		{"192.0.2.0/24", "documentation"},
		{"192.88.99.0/24", "6to4 relay"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"198.51.100.0/24", "documentation"},
		{"203.0.113.0/24", "documentation"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved or broadcast"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible"},
		{"64:ff9b:1::/48", "local NAT64"},
		{"100::/64", "discard-only"},
		{"2001::/32", "Teredo"},
		{"2001:db8::/32", "documentation"},
		{"fc00::/7", "unique local"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	} {
		out = append(out, blockedRange{netip.MustParsePrefix(r[0]), r[1]})
	}
	return out
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Internal reports whether a is an address notifications must not reach (loopback, private,
// link-local, CGNAT, multicast, reserved ...), with the reason. IPv4-mapped, NAT64 and 6to4
// forms are judged by the IPv4 address they carry.
func Internal(a netip.Addr) (reason string, internal bool) {
	if !a.IsValid() {
		return "invalid", true
	}
	a = a.Unmap()
	if a.Zone() != "" {
		return "scoped", true
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return Internal(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(a):
			return Internal(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	if !a.IsGlobalUnicast() {
		return "non-global", true
	}
	return "", false
}

// LocalName reports whether host is a name that always means this machine (localhost and
// *.localhost, RFC 6761), whatever DNS says.
func LocalName(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// DefaultLookupTimeout bounds the DNS lookup of Policy.CheckHost.
const DefaultLookupTimeout = 3 * time.Second

// Policy decides which notification targets are allowed.
type Policy struct {
	// AllowPrivate lets notifications reach loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS=true, for development).
	AllowPrivate bool
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// LookupTimeout bounds CheckHost's DNS lookup (default DefaultLookupTimeout).
	LookupTimeout time.Duration
}

// CheckAddr refuses an internal address unless the policy allows private targets. host is the
// name that led to a (for the message); it may be empty.
func (p Policy) CheckAddr(host string, a netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	if reason, bad := Internal(a); bad {
		return &TargetError{Host: host, Addr: a.Unmap(), Reason: reason}
	}
	return nil
}

// CheckLiteral judges a host without DNS: an IP literal (brackets and zones allowed) by its
// address, localhost and *.localhost as loopback. It returns isName true, and no error, for
// any other host name: only a lookup can judge those (CheckHost).
func (p Policy) CheckLiteral(host string) (isName bool, err error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, perr := netip.ParseAddr(h); perr == nil {
		return false, p.CheckAddr(h, a)
	}
	if p.AllowPrivate {
		return !LocalName(h), nil
	}
	if LocalName(h) {
		return false, &TargetError{Host: h, Reason: "loopback"}
	}
	if numeric(h) {
		// 127.1, 2130706433, 0x7f.0.0.1: no DNS name ends in a numeric label, and some
		// resolvers read these as IPv4 addresses.
		return false, &TargetError{Host: h, Reason: "non-canonical IP address"}
	}
	return true, nil
}

// numeric reports whether host's last label is a number (decimal, or hex with 0x), as in the
// non-canonical IPv4 forms some resolvers accept.
func numeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndex(host, ".")+1:]
	digits := strings.TrimPrefix(strings.ToLower(last), "0x")
	if digits == "" {
		return false
	}
	hex := len(digits) != len(last)
	for _, r := range digits {
		if !(r >= '0' && r <= '9' || hex && r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// CheckHost judges a host when a merchant gives it: literals as CheckLiteral does, names by
// every address of their current DNS answer (one internal address is enough to refuse).
//
// A name that does not resolve now (NXDOMAIN, timeout, no answer) is accepted: the merchant's
// DNS may be briefly down, and every delivery resolves and checks the name again, at connect
// time. unresolved reports that case so callers can log it.
func (p Policy) CheckHost(ctx context.Context, host string) (unresolved bool, err error) {
	isName, err := p.CheckLiteral(host)
	if err != nil || !isName || p.AllowPrivate {
		return false, err
	}
	timeout := p.LookupTimeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, lerr := p.resolver().LookupNetIP(lctx, "ip", host)
	if lerr != nil || len(addrs) == 0 {
		return true, nil
	}
	for _, a := range addrs {
		if err := p.CheckAddr(host, a); err != nil {
			return false, err
		}
	}
	return false, nil
}

func (p Policy) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// Lookup returns the addresses of host (an IP literal is its own answer), with no time limit
// of its own (the connection's context bounds it).
func (p Policy) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for %s", host)
	}
	return addrs, nil
}
