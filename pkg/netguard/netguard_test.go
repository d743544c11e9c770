package netguard_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/netguard"
)

type resolverFunc func(ctx context.Context, host string) ([]netip.Addr, error)

func (f resolverFunc) LookupNetIP(ctx context.Context, _ string, host string) ([]netip.Addr, error) {
	return f(ctx, host)
}

func fixed(answers map[string][]netip.Addr, looked *[]string) netguard.Resolver {
	return resolverFunc(func(_ context.Context, host string) ([]netip.Addr, error) {
		*looked = append(*looked, host)
		if as, ok := answers[host]; ok {
			return as, nil
		}
		return nil, errors.New("no such host")
	})
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	var looked []string
	strict := netguard.Policy{Resolver: fixed(map[string][]netip.Addr{
		"loop.test":   {netip.MustParseAddr("127.0.0.1")},
		"mixed.test":  {netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("192.168.0.1")},
		"mapped.test": {netip.MustParseAddr("::ffff:10.0.0.1")},
		"shop.test":   {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("2606:4700:4700::1111")},
		"empty.test":  {},
	}, &looked)}
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "::1", "[::1]", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::",
		"224.0.0.1", "ff02::1", "::ffff:127.0.0.1", "fe80::1%eth0", "localhost", "LOCALHOST.", "api.localhost", "127.1",
		"2130706433", "0x7f.0.0.1", "0x7f000001", "loop.test", "mixed.test", "mapped.test"} {
		unresolved, err := strict.CheckHost(context.Background(), host)
		var te *netguard.TargetError
		require.ErrorAs(t, err, &te, host)
		require.Contains(t, err.Error(), "refused: ", host)
		require.False(t, unresolved, host)
	}
	for _, host := range []string{"93.184.216.34", "2606:4700:4700::1111", "shop.test", "example.com.test"} {
		_, err := strict.CheckHost(context.Background(), host)
		require.NoError(t, err, host)
	}
	for _, host := range []string{"nowhere.test", "empty.test"} {
		unresolved, err := strict.CheckHost(context.Background(), host)
		require.NoError(t, err, "%s: a name that does not resolve now is accepted (delivery checks again)", host)
		require.True(t, unresolved, host)
	}
	require.NotContains(t, looked, "localhost.", "localhost is judged without DNS")
	require.NotContains(t, looked, "api.localhost")
	require.NotContains(t, looked, "127.1")

	looked = nil
	open := netguard.Policy{AllowPrivate: true, Resolver: strict.Resolver}
	for _, host := range []string{"127.0.0.1", "10.0.0.1", "localhost", "loop.test"} {
		_, err := open.CheckHost(context.Background(), host)
		require.NoError(t, err, host)
	}
	require.Empty(t, looked, "nothing to look up when private targets are allowed")
}

func TestCheckHostLookupIsBounded(t *testing.T) {
	t.Parallel()
	p := netguard.Policy{LookupTimeout: 50 * time.Millisecond, Resolver: resolverFunc(func(ctx context.Context, _ string) ([]netip.Addr, error) {
		<-ctx.Done() // a DNS server that never answers
		return nil, ctx.Err()
	})}
	unresolved, err := p.CheckHost(context.Background(), "slow.test")
	require.NoError(t, err)
	require.True(t, unresolved)
}

func TestInternalAddresses(t *testing.T) {
	t.Parallel()
	for _, a := range []string{"127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "255.255.255.255", "224.0.0.1", "240.0.0.1",
		"198.18.0.1", "192.0.2.1", "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:c0a8:101::1",
		"::7f00:1", "2001:db8::1", "fec0::1"} {
		_, internal := netguard.Internal(netip.MustParseAddr(a))
		require.True(t, internal, a)
	}
	for _, a := range []string{"93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"} {
		reason, internal := netguard.Internal(netip.MustParseAddr(a))
		require.False(t, internal, "%s (%s)", a, reason)
	}
}
