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

	"paygate.dev/pkg/netguard"
)

// Resolver looks host names up; net.DefaultResolver is one. Tests map names to addresses.
type Resolver = netguard.Resolver

// TargetError is a refused target address.
type TargetError = netguard.TargetError

// Guard keeps notifications away from internal networks (SSRF). It checks the address it
// actually connects to, after resolution and again at connect time, so a DNS answer that
// changes between a check and the connection cannot slip past it. The policy itself lives in
// pkg/netguard, shared with checkout creation.
type Guard struct {
	// AllowPrivate lets notifications reach loopback, private and other internal addresses
	// (IPN_ALLOW_PRIVATE_TARGETS=true, for development).
	AllowPrivate bool
	// Resolver resolves target host names (default net.DefaultResolver).
	Resolver Resolver
}

func (g *Guard) policy() netguard.Policy {
	return netguard.Policy{AllowPrivate: g.AllowPrivate, Resolver: g.Resolver}
}

func (g *Guard) check(host string, a netip.Addr) error { return g.policy().CheckAddr(host, a) }

// lookup returns the addresses of host (an IP literal is its own answer).
func (g *Guard) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	return g.policy().Lookup(ctx, host)
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
