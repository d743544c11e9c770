package panel_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestNotificationQueueShowsWhatWaits runs real notifications against a merchant that always
// answers 500: the transaction page lists the queued notifications with the next try, says the
// later ones wait behind the failing first one, shows each attempt's request and answer, and
// "Retry now" sends that first notification again at once.
func TestNotificationQueueShowsWhatWaits(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var deliveries []string
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		deliveries = append(deliveries, r.Header.Get("X-IPN-Delivery-ID"))
		mu.Unlock()
		http.Error(w, "shop database down", http.StatusInternalServerError)
	}))
	t.Cleanup(merchant.Close)
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), deliveries...)
	}
	s := storetest.Fresh(t, store.SQLite)
	_, err := s.Migrate(ctx, -1)
	require.NoError(t, err)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true})
	tn := env.NewTenant(t)
	co, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 1500, Currency: "EUR",
		ExternalReference: "ipn-q", IPNURL: merchant.URL + "/ipn", Mode: domain.ModeTest})
	require.NoError(t, err)
	txn := wireTransaction(t, env, tn, co)
	require.Eventually(t, func() bool { return len(received()) > 0 }, 30*time.Second, 50*time.Millisecond, "the merchant is called")

	editor := signedIn(t, env, tn, domain.RoleEditor)
	var pg *page
	require.Eventually(t, func() bool {
		pg = editor.get("/transactions/" + txn.ID)
		return pg.Doc.Find("#ipn-blocked").Length() == 1
	}, 30*time.Second, 100*time.Millisecond, "the page says a notification waits behind the failing one")
	blocked := text(pg, "#ipn-blocked")
	require.Regexp(t, `^1 later notification waits behind event 1 \(.+\), which failed \d+ times? \(.*500.*\): notifications reach the merchant in order\. Its next try is at `, blocked)
	require.Equal(t, 2, pg.Doc.Find("#ipn-queue tbody tr").Length())
	require.Contains(t, text(pg, "#ipn-queue tbody tr:nth-child(2)"), "after event 1 is delivered")
	exchange := text(pg, "section[aria-labelledby=ipn-h] details.exchange")
	require.Contains(t, exchange, txn.ID, "the request sent")
	require.Contains(t, exchange, "shop database down", "the merchant's answer")

	first := received()[0]
	before := len(received())
	res := submit(t, editor, pg, "#ipn-blocked form", nil)
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	require.Eventually(t, func() bool { return len(received()) > before }, 30*time.Second, 50*time.Millisecond, "the retry arrives at once")
	require.Equal(t, first, received()[before], "the failing first notification is the one retried")

	viewer := signedIn(t, env, tn, domain.RoleViewer)
	vp := viewer.get("/transactions/" + txn.ID)
	require.Equal(t, 1, vp.Doc.Find("#ipn-blocked").Length(), "viewers see why notifications wait")
	require.Zero(t, vp.Doc.Find("#ipn-blocked form").Length(), "but cannot retry")

	// The page with its queue and opened exchanges is accessible.
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	b.Navigate(env.AdminURL + "/transactions/" + txn.ID)
	b.WaitVisible("#ipn-blocked")
	b.Eval(`document.querySelectorAll("details").forEach(d => d.open = true); true`, nil)
	requireAccessible(t, b, "the transaction page with queued notifications")
}
