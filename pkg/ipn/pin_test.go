package ipn_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// tcpTarget is a would-be notification target on loopback: it records, in order, every
// connection it accepts (and closes it at once).
type tcpTarget struct {
	ln    net.Listener
	conns chan string // remote addresses
}

func newTCPTarget(t *testing.T) *tcpTarget {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tt := &tcpTarget{ln: ln, conns: make(chan string, 64)}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tt.conns <- c.RemoteAddr().String()
			_ = c.Close()
		}
	}()
	return tt
}

func (tt *tcpTarget) port() string { return strconv.Itoa(tt.ln.Addr().(*net.TCPAddr).Port) }

// connectionsBefore makes a marker connection and counts the connections the target accepted
// before it. Connections are accepted in the order their handshakes completed, so once the
// marker has arrived every connection made before it has been counted: no waiting for
// something not to happen.
func (tt *tcpTarget) connectionsBefore(t *testing.T) int {
	t.Helper()
	c, err := net.Dial("tcp", tt.ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	marker := c.LocalAddr().String()
	n := 0
	timeout := time.After(10 * time.Second)
	for {
		select {
		case a := <-tt.conns:
			if a == marker {
				return n
			}
			n++
		case <-timeout:
			t.Fatal("the marker connection never arrived")
		}
	}
}

// A checkout accepted while private targets were refused keeps that policy for its deliveries:
// turning IPN_ALLOW_PRIVATE_TARGETS on for the dispatcher later does not let them reach an
// address their name has come to resolve to since (nor a loopback URL of a checkout from before
// the policy was recorded).
func TestDeliveriesKeepThePolicyTheirCheckoutWasAcceptedUnder(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, d store.Dialect) {
		public, loopback := netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1")
		res := &resolver{lookups: map[string]int{}, answers: map[string][][]netip.Addr{
			"later.test": {{public}, {loopback}}, // public when the checkout is created, loopback afterwards
		}}
		// The backends send with IPN_ALLOW_PRIVATE_TARGETS=true; e.svc creates checkouts with it off.
		e := newEnv(t, d, envOptions{resolver: res})
		ids := []string{e.provider.ID}
		_, err := e.svc.Tenancy.UpdateSite(ctx, e.admin, e.org.ID, e.site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &e.provider.ID})
		require.NoError(t, err)
		target := newTCPTarget(t)

		t.Run("ANameThatTurnsPrivate", func(t *testing.T) {
			chk, err := e.svc.Checkout.CreateCheckout(ctx, e.admin, e.org.ID, e.site.ID, checkout.CheckoutInput{Amount: 1000, Currency: "EUR",
				ExternalReference: "pinned-1", IPNURL: "https://later.test:" + target.port() + "/ipn", Mode: domain.ModeTest})
			require.NoError(t, err, "later.test resolved to a public address at creation")
			require.False(t, chk.IPNAllowPrivate)
			txn := storetest.Transaction(t, e.s, chk, e.provider)
			e.step() // dispatches the event and makes the first attempt; returns once it is recorded

			ds := e.deliveries(txn)
			require.Len(t, ds, 1)
			row, err := e.s.GetIPNDelivery(ctx, ds[0].ID)
			require.NoError(t, err)
			require.False(t, row.AllowPrivate, "the delivery carries the policy its checkout was accepted under")
			as := e.attempts(txn)
			require.Len(t, as, 1)
			require.Contains(t, as[0].Error, "refused: later.test resolves to 127.0.0.1, a loopback address")
			require.Nil(t, as[0].StatusCode)
			require.Equal(t, domain.IPNDeliveryPending, ds[0].Status, "not delivered")
			require.Equal(t, 0, target.connectionsBefore(t), "nothing reached the target")
		})
		t.Run("ACheckoutFromBeforeThePolicyWasRecorded", func(t *testing.T) {
			// Rows that existed before migration 0005 read as not allowed.
			txn := storetest.Transaction(t, e.s, e.checkoutUnder(false, "http://127.0.0.1:"+target.port()+"/ipn"), e.provider)
			e.step()
			as := e.attempts(txn)
			require.Len(t, as, 1)
			require.Contains(t, as[0].Error, "refused: 127.0.0.1 is a loopback address")
			require.Equal(t, 0, target.connectionsBefore(t), "nothing reached the target")
		})
		t.Run("AcceptedWhileAllowedItIsSent", func(t *testing.T) {
			// The control: the same dispatcher sends to the same target when the checkout was
			// accepted with private targets allowed.
			txn := storetest.Transaction(t, e.s, e.checkoutUnder(true, "http://127.0.0.1:"+target.port()+"/ipn"), e.provider)
			e.step()
			as := e.attempts(txn)
			require.Len(t, as, 1)
			require.NotContains(t, as[0].Error, "refused")
			require.Equal(t, 1, target.connectionsBefore(t), "the attempt connected")
		})
	})
}
