package export_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/export"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// gatedStore is the real store, except that its second page of transactions waits until the
// test has read the first page from the export's output.
type gatedStore struct {
	*store.Store
	calls    atomic.Int32 // queries begun
	returned atomic.Int32 // queries answered
	gate     chan struct{}
}

func (g *gatedStore) ListTransactions(ctx context.Context, f domain.TransactionFilter) ([]domain.Transaction, error) {
	defer g.returned.Add(1)
	if g.calls.Add(1) == 2 {
		select {
		case <-g.gate:
		case <-time.After(20 * time.Second):
			return nil, domain.Internal(nil, "the first page never reached the reader: the export is not streamed")
		}
	}
	return g.Store.ListTransactions(ctx, f)
}

func viewer(orgID string) domain.Actor {
	return domain.Actor{Type: domain.ActorUser, ID: "usr_x", OrganizationID: orgID, Role: domain.RoleEditor}
}

func TestExportIsStreamedPageByPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		sd := storetest.SeedVolume(t, s, storetest.Site(t, s, org.ID, p), p, storetest.Volume{Checkouts: 250, Transactions: 250, Every: time.Second}, "strm")
		g := &gatedStore{Store: s, gate: make(chan struct{})}
		svc := export.New(g, 100)
		r, w := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := svc.Transactions(ctx, viewer(org.ID), domain.TransactionFilter{OrganizationID: org.ID}, w)
			done <- err
			w.CloseWithError(err)
		}()
		lines := bufio.NewReader(r)
		var first []string
		for i := 0; i <= 100; i++ { // the header and the first page
			line, err := lines.ReadString('\n')
			require.NoError(t, err, "line %d arrives while the second page is still unread", i)
			first = append(first, line)
		}
		require.Equal(t, int32(1), g.returned.Load(), "only the first page has been read when its rows arrive")
		close(g.gate)
		rest, err := io.ReadAll(lines)
		require.NoError(t, err)
		require.NoError(t, <-done)
		rows, err := csv.NewReader(strings.NewReader(strings.Join(first, "") + string(rest))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 251)
		require.Equal(t, "id", rows[0][0])
		for i := 0; i < 250; i++ {
			require.Equal(t, sd.TransactionID(i), rows[i+1][0], "newest first, every row once")
		}
		require.Equal(t, int32(3), g.calls.Load(), "three queries of 101 rows at most: 100, 100 and the last 50")
	})
}

func TestExportCellsAreSafeAndAmountsExact(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		p := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, p)
		mk := func(amount int64, currency, ref, invoice string, bill *domain.Address, m domain.Mode) *domain.Checkout {
			c := &domain.Checkout{ID: domain.NewID(domain.PrefixCheckout), OrganizationID: org.ID, SiteID: site.ID, Mode: m,
				ShortCode: domain.NewShortCode(), SessionPublicID: domain.NewSessionPublicID(), Status: domain.CheckoutOpen, Amount: amount,
				Currency: currency, Email: "søren@example.com", ExternalReference: ref, InvoiceNumber: invoice, BillingAddress: bill,
				Origin: domain.OriginAPI, ExpiresAt: time.Now().Add(time.Hour)}
			require.NoError(t, s.CreateCheckout(ctx, c))
			return c
		}
		mk(123456, "KWD", "=HYPERLINK(\"http://x\")", "+1", &domain.Address{FirstName: "@SUM(A1)", LastName: "Ørsted, \"Jr\""}, domain.ModeTest)
		mk(1500, "JPY", "-2", "\tx", nil, domain.ModeTest)
		mk(5, "EUR", "live-order", "", nil, domain.ModeLive)
		var b strings.Builder
		n, err := export.New(s, 0).Checkouts(ctx, viewer(org.ID), domain.CheckoutFilter{OrganizationID: org.ID, Mode: domain.ModeTest}, &b)
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.Contains(t, b.String(), "\r\n", "RFC 4180 line ends")
		rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		require.NoError(t, err)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		jpy, kwd := rows[1], rows[2] // newest first
		require.Equal(t, "1500", jpy[col["amount"]])
		require.Equal(t, "JPY", jpy[col["currency"]])
		require.Equal(t, "'-2", jpy[col["external_reference"]])
		require.Equal(t, "'\tx", jpy[col["invoice_number"]])
		require.Equal(t, "123.456", kwd[col["amount"]], "three decimals for KWD")
		require.Equal(t, `'=HYPERLINK("http://x")`, kwd[col["external_reference"]])
		require.Equal(t, "'+1", kwd[col["invoice_number"]])
		require.Equal(t, `'@SUM(A1) Ørsted, "Jr"`, kwd[col["buyer_name"]], "UTF-8, quotes and commas quoted")
		require.Equal(t, "søren@example.com", kwd[col["email"]])

		key := domain.Actor{Type: domain.ActorAPIKey, ID: "key_x", OrganizationID: org.ID, Mode: domain.ModeLive, Scopes: []string{"checkout:read"}}
		_, err = export.New(s, 0).Checkouts(ctx, key, domain.CheckoutFilter{OrganizationID: org.ID}, &b)
		require.Equal(t, domain.KindForbidden, domain.ErrorKind(err), "export:execute is needed")
		key.Scopes = append(key.Scopes, "export:execute")
		var live strings.Builder
		n, err = export.New(s, 0).Checkouts(ctx, key, domain.CheckoutFilter{OrganizationID: org.ID}, &live)
		require.NoError(t, err)
		require.Equal(t, 1, n, "a live key exports live checkouts only")
		require.Contains(t, live.String(), "live-order")
		n, err = export.New(s, 0).Checkouts(ctx, key, domain.CheckoutFilter{OrganizationID: org.ID, Mode: domain.ModeTest}, &live)
		require.NoError(t, err)
		require.Zero(t, n, "nor the test ones when asked for them")
		_, err = export.New(s, 0).Checkouts(ctx, viewer(storetest.Org(t, s).ID), domain.CheckoutFilter{OrganizationID: org.ID}, &b)
		require.Equal(t, domain.KindNotFound, domain.ErrorKind(err), "another organisation's")
	})
}
