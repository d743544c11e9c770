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
