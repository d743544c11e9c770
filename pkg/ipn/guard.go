package ipn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"paygate.dev/pkg/domain"
)

// Resolver looks host names up; net.DefaultResolver is one. Tests map names to addresses.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Guard keeps notifications away from internal networks (SSRF). It checks the address it
// actually connects to, after resolution and again at connect time, so a DNS answer that
// changes between a check and the connection cannot slip past it.
type Guard struct {
	// AllowPrivate lets notifications reach loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS=true, for development).
	AllowPrivate bool
	// Resolver resolves target host names (default net.DefaultResolver).
	Resolver Resolver
}

// TargetError is a refused target address.
type TargetError struct {
	Host   string
	Addr   netip.Addr
	Reason string
}

func (e *TargetError) Error() string {
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

func (g *Guard) check(host string, a netip.Addr) error {
	if g.AllowPrivate {
		return nil
	}
	if reason, bad := Internal(a); bad {
		return &TargetError{Host: host, Addr: a.Unmap(), Reason: reason}
	}
	return nil
}

func (g *Guard) resolver() Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// lookup returns the addresses of host (an IP literal is its own answer).
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("no address for %s", host)
	}
	return addrs, nil
}

// DialContext resolves the target, refuses internal addresses, and connects to an allowed
// address itself; the dialer's Control hook checks the socket's address once more right before
// the connect system call.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	addrs, err := g.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}
	var firstErr error
	for _, a := range addrs {
		if err := g.check(host, a); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// control runs right before connect(2), with the numeric address being connected to.
func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: unexpected address %q", address)
	}
	return g.check("", ap.Addr())
}

// CheckURL validates a notification URL ahead of time (when a merchant sets it): http or https,
// a host, and no internal address among the host's current DNS answers. Sending checks again
// at connect time, so a later DNS change cannot get around it. Returns INVALID (field ipnUrl).
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return domain.Invalid("ipnUrl", "ipnUrl must be an absolute http or https URL")
	}
	addrs, err := g.lookup(ctx, u.Hostname())
	if err != nil {
		return domain.Invalid("ipnUrl", "the ipnUrl host %s cannot be resolved", u.Hostname())
	}
	for _, a := range addrs {
		if err := g.check(u.Hostname(), a); err != nil {
			return domain.Invalid("ipnUrl", "the ipnUrl is not allowed: %s", err.Error())
		}
	}
	return nil
}

// Transport is an HTTP transport that dials through the guard and never uses a proxy
// (a proxy would make the guard check the proxy instead of the target).
func (g *Guard) Transport() *http.Transport { return g.transport(AttemptTimeout) }

func (g *Guard) transport(timeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           g.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
}

// validScheme reports whether raw is an http(s) URL with a host.
func validScheme(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("refused: the notification URL does not parse")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("refused: only http and https notification URLs are allowed, not %q", strings.ToLower(u.Scheme))
	}
	if u.Host == "" {
		return errors.New("refused: the notification URL has no host")
	}
	return nil
}
