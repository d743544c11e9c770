package duda

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/logging"
)

// portStore is the Store port with only what a test needs: a connection and a site by name.
// Any other call panics (the embedded interface is nil), so a test also shows which storage a
// use case touches.
type portStore struct {
	Store
	conns map[string]*domain.DudaConnection
	sites map[string]*domain.DudaSite
}

func (s portStore) GetDudaConnectionByID(_ context.Context, id string) (*domain.DudaConnection, error) {
	if c, ok := s.conns[id]; ok {
		return c, nil
	}
	return nil, domain.NotFound("Duda connection")
}

func (s portStore) GetDudaSessionBySessionID(context.Context, string, string) (*domain.DudaSession, error) {
	return nil, domain.NotFound("Duda session")
}

func (s portStore) GetDudaSite(_ context.Context, _, name string) (*domain.DudaSite, error) {
	if site, ok := s.sites[name]; ok {
		return site, nil
	}
	return nil, domain.NotFound("Duda site")
}

// portConnections opens connections without secrets.
type portConnections struct{ Connections }

func (portConnections) OpenDudaConnection(_ context.Context, c *domain.DudaConnection) (*dudaconn.DudaApp, error) {
	return &dudaconn.DudaApp{Connection: c}, nil
}

func (portConnections) Hosts() config.Hosts { return config.Hosts{} }

// The use cases run on their ports alone: an arrival is refused, with its reason, before any
// checkout is made or Duda is called, for an unknown or disabled connection and a site the app
// is not installed on; the payment methods are none for them.
func TestArrivalRefusalsOnThePorts(t *testing.T) {
	t.Parallel()
	now := time.Now()
	st := portStore{
		conns: map[string]*domain.DudaConnection{
			"dcn_on":  {ID: "dcn_on", OrganizationID: "org_1", SiteID: "site_1", Enabled: true},
			"dcn_off": {ID: "dcn_off", OrganizationID: "org_1", SiteID: "site_1"},
		},
		sites: map[string]*domain.DudaSite{"gone": {ID: "dst_1", SiteName: "gone", InstalledAt: &now, UninstalledAt: &now}},
	}
	uc := New(Options{Store: st, Connections: portConnections{}, Log: logging.Discard()})
	ctx := context.Background()
	for _, c := range []struct {
		conn, site string
		want       ArrivalReason
	}{
		{"dcn_unknown", "shop", ArrivalUnknownLink},
		{"dcn_off", "shop", ArrivalDisabled},
		{"dcn_on", "never-installed", ArrivalSiteNotConnected},
		{"dcn_on", "gone", ArrivalSiteNotConnected},
	} {
		_, err := uc.Arrive(ctx, c.conn, "sess_1", c.site)
		var r *ArrivalRefusal
		require.True(t, errors.As(err, &r), "%s/%s: %v", c.conn, c.site, err)
		require.Equal(t, c.want, r.Reason, "%s/%s", c.conn, c.site)

		methods, why := uc.Offer(ctx, c.conn, domain.ModeLive, dudaapi.PaymentMethodsRequest{SiteName: c.site})
		require.Empty(t, methods)
		require.NotEmpty(t, why)
	}
}
