package adminapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// names is a resolver hook: it answers for the names it knows and counts the lookups.
type names struct {
	mu      sync.Mutex
	answers map[string][]netip.Addr
	lookups map[string]int
}

func (n *names) LookupNetIP(_ context.Context, _ string, host string) ([]netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lookups[host]++
	if as, ok := n.answers[host]; ok {
		return as, nil
	}
	return nil, errors.New("no such host")
}

func (n *names) count(host string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lookups[host]
}

func newNames() *names {
	return &names{lookups: map[string]int{}, answers: map[string][]netip.Addr{
		"shop.internal.test": {netip.MustParseAddr("127.0.0.1")},
		"mixed.test":         {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.1.2.3")},
		"metadata.test":      {netip.MustParseAddr("::ffff:169.254.169.254")},
		"shop.public.test":   {netip.MustParseAddr("93.184.216.34")},
	}}
}

// strictAdmin runs the admin backend with IPN_ALLOW_PRIVATE_TARGETS=false (production's
// setting) and a resolver hook.
func strictAdmin(res *names) apptest.Options {
	return apptest.Options{NoFrontend: true, NoMain: true, AdminBackend: func(c *config.AdminBackend) {
		c.IPNAllowPrivateTargets = false
		c.IPNResolver = res
	}}
}

// An ipnUrl that is, or resolves to, an internal address is refused when the checkout is
// created (400 IPN_URL_PRIVATE) and nothing is written.
func TestPrivateIPNURLsAreRefusedAtCreation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		res := newNames()
		env := apptest.Start(t, s, strictAdmin(res))
		tn := env.NewTenant(t)
		url := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
		create := func(t *testing.T, ref, ipnURL string) *apptest.Response {
			return apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{"amount": 1000, "currency": "EUR",
				"externalReference": ref, "ipnUrl": ipnURL, "items": []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 1000}}})
		}
		written := func(t *testing.T, ref string) int {
			list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: ref, Limit: 10})
			require.NoError(t, err)
			return len(list)
		}

		for name, ipnURL := range map[string]string{
			"Loopback":            "http://127.0.0.1/ipn",
			"LoopbackWithPort":    "http://127.0.0.1:8080/ipn",
			"LoopbackHTTPS":       "https://127.0.0.1/ipn",
			"Private":             "http://10.0.0.1/",
			"PrivateHTTPS":        "https://192.168.1.10/ipn",
			"IPv6Loopback":        "http://[::1]/",
			"IPv6UniqueLocal":     "https://[fd00::1]/ipn",
			"Metadata":            "http://169.254.169.254/",
			"CGNAT":               "https://100.64.0.1/ipn",
			"Unspecified":         "https://0.0.0.0/ipn",
			"Multicast":           "https://224.0.0.1/ipn",
			"IPv4MappedPrivate":   "https://[::ffff:10.0.0.1]/ipn",
			"Localhost":           "http://localhost/",
			"LocalhostSubdomain":  "https://shop.localhost/ipn",
			"NumericShorthand":    "https://127.1/ipn",
			"DecimalAddress":      "https://2130706433/ipn",
			"NameResolvesToLoop":  "https://shop.internal.test/ipn",
			"OneAnswerIsPrivate":  "https://mixed.test/ipn",
			"NameResolvesToMeta":  "https://metadata.test/latest",
			"TransactionTemplate": "https://10.0.0.1/ipn?tx={transactionId}",
		} {
			t.Run(name, func(t *testing.T) {
				ref := "ipn-" + domain.RandomString(8)
				r := create(t, ref, ipnURL)
				require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
				b := r.JSON(t)
				require.Equal(t, domain.CodeIPNURLPrivate, b["code"], string(r.Body))
				require.Equal(t, "ipnUrl", b["field"])
				require.Contains(t, b["message"], "refused")
				require.Equal(t, 0, written(t, ref), "no checkout row is written")
			})
		}
		t.Run("LiteralsAndLocalhostNeedNoDNS", func(t *testing.T) {
			require.Zero(t, res.count("localhost"))
			require.Zero(t, res.count("shop.localhost"))
			require.Zero(t, res.count("127.1"))
			require.Equal(t, 1, res.count("shop.internal.test"), "a name is looked up once, at creation")
		})
		t.Run("PublicTargetsAreAccepted", func(t *testing.T) {
			for _, ipnURL := range []string{"https://93.184.216.34/ipn", "https://shop.public.test/ipn", "https://[2606:4700:4700::1111]/ipn"} {
				ref := "ipn-" + domain.RandomString(8)
				r := create(t, ref, ipnURL)
				require.Equal(t, http.StatusOK, r.Status, "%s: %s", ipnURL, r.Body)
				require.Equal(t, 1, written(t, ref))
				list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: ref, Limit: 1})
				require.NoError(t, err)
				require.False(t, list[0].IPNAllowPrivate, "accepted under the strict policy, and recorded so")
			}
		})
		t.Run("ANameThatDoesNotResolveNowIsAccepted", func(t *testing.T) {
			// The merchant's DNS may be briefly down: every delivery resolves and checks it again.
			ref := "ipn-" + domain.RandomString(8)
			r := create(t, ref, "https://not-yet.example.test/ipn")
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.Equal(t, 1, res.count("not-yet.example.test"))
		})
		t.Run("OtherValidationComesFirst", func(t *testing.T) {
			r := apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{"amount": 1000, "currency": "XYZ",
				"externalReference": "x", "ipnUrl": "https://unlooked.test/ipn"})
			require.Equal(t, http.StatusBadRequest, r.Status)
			require.Equal(t, "currency", r.JSON(t)["field"])
			require.Zero(t, res.count("unlooked.test"), "no DNS for a request refused anyway")
		})
	})
}

// The same policy guards the ipnUrl of a Duda connection (create and edit).
func TestPrivateDudaIPNURLsAreRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, strictAdmin(newNames()))
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1/duda/connections"
		conn := func(ipnURL string) map[string]any {
			return map[string]any{"siteId": tn.Site.ID, "appUuid": "app-" + domain.RandomString(6), "appUser": "user",
				"appPassword": "password", "appSecret": "c2VjcmV0LXNlY3JldA==", "ipnUrl": ipnURL}
		}
		for _, ipnURL := range []string{"http://127.0.0.1/ipn", "https://10.0.0.1/ipn", "https://shop.internal.test/ipn", "http://localhost/ipn"} {
			r := apptest.Do(t, http.MethodPost, base, tn.LiveKey, conn(ipnURL))
			require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", ipnURL, r.Body)
			require.Equal(t, domain.CodeIPNURLPrivate, r.JSON(t)["code"], ipnURL)
		}
		list := apptest.Do(t, http.MethodGet, base, tn.TestKey, nil)
		require.Equal(t, http.StatusOK, list.Status)
		require.NotContains(t, string(list.Body), "app-", "no connection was written")

		r := apptest.Do(t, http.MethodPost, base, tn.LiveKey, conn("https://shop.public.test/ipn"))
		require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
		id := r.JSON(t)["id"].(string)
		r = apptest.Do(t, http.MethodPatch, base+"/"+id, tn.LiveKey, map[string]any{"ipnUrl": "https://shop.internal.test/ipn"})
		require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
		require.Equal(t, domain.CodeIPNURLPrivate, r.JSON(t)["code"])
		r = apptest.Do(t, http.MethodGet, base+"/"+id, tn.TestKey, nil)
		require.Equal(t, "https://shop.public.test/ipn", r.JSON(t)["ipnUrl"], "the refused edit changed nothing")
	})
}

// With IPN_ALLOW_PRIVATE_TARGETS=true (as `make run` and the other tests run), a loopback
// ipnUrl is accepted and the checkout records that it was accepted under that policy.
func TestPrivateIPNURLsAreAcceptedWhenAllowed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		ref := "ipn-" + domain.RandomString(8)
		r := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": 1000, "currency": "EUR", "externalReference": ref, "ipnUrl": "http://127.0.0.1:9/ipn"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: ref, Limit: 1})
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.True(t, list[0].IPNAllowPrivate)
	})
}
