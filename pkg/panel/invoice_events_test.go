package panel_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestInvoiceEventsOnTheInvoicePage runs the real workers: an issued invoice's event reaches its
// site's events URL (failing once first), the invoice page lists both attempts with what was
// sent and answered, and an editor's "send again" delivers the same event once more; a viewer
// sees the attempts but cannot resend, another organisation cannot reach them, and an invoice
// of no site says why it has none.
func TestInvoiceEventsOnTheInvoicePage(t *testing.T) {
	t.Parallel()
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		var mu sync.Mutex
		var ids []string // the event ids received, one per request
		failFirst := 1
		site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var ev struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			}
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &ev)
			mu.Lock()
			defer mu.Unlock()
			ids = append(ids, ev.ID)
			if failFirst > 0 {
				failFirst--
				http.Error(w, "site down for maintenance", http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(site.Close)
		received := func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), ids...)
		}
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true})
		tn := env.NewTenant(t)
		res := apptest.Do(t, http.MethodPatch, env.AdminURL+"/api/v1/sites/"+tn.Site.ID, tn.LiveKey, map[string]any{"eventsUrl": site.URL + "/events"})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))

		svc := env.Services().Invoice
		in := invoice.DraftInput{Mode: domain.ModeLive, Currency: "EUR", Language: "en", SiteID: &tn.Site.ID,
			Client: domain.Party{Name: "Ada Buyer", Email: "ada@example.com", Country: "DE"},
			Lines:  []invoice.LineInput{{Description: "Consulting", Quantity: 1, UnitPrice: 11900, Type: "digital_service"}}}
		draft, err := svc.CreateDraft(ctx, tn.Admin, tn.Org.ID, in)
		require.NoError(t, err)
		editor := signedIn(t, env, tn, domain.RoleEditor)
		require.Zero(t, editor.get("/invoices/"+draft.ID).Doc.Find("[data-site-events]").Length(), "a draft sends no events")
		inv, err := svc.Issue(ctx, tn.Admin, tn.Org.ID, draft.ID)
		require.NoError(t, err)

		// The first attempt fails; the retry delivers.
		require.Eventually(t, func() bool { return len(received()) >= 2 }, 60*time.Second, 50*time.Millisecond, "the event is retried")
		var pg *page
		require.Eventually(t, func() bool {
			// An attempt is listed from its start; its answer once the worker has recorded it.
			pg = editor.get("/invoices/" + inv.ID)
			return pg.Doc.Find("[data-site-events] table.cards tbody tr").Length() == 2 &&
				strings.Contains(text(pg, "[data-site-events] table.cards"), "HTTP 200")
		}, 30*time.Second, 100*time.Millisecond, "both attempts are listed, answered")
		attempts := text(pg, "[data-site-events] table.cards")
		for _, want := range []string{site.URL + "/events", "failed", "HTTP 503", "site down for maintenance", "delivered", "HTTP 200", "invoice.issued", inv.ID} {
			require.Contains(t, attempts, want)
		}
		require.Equal(t, 1, pg.Doc.Find(`[data-site-events] form[action="/invoices/`+inv.ID+`/resend-event"]`).Length())

		before := received()
		res2 := editor.post("/invoices/"+inv.ID+"/resend-event", nil)
		require.Equal(t, http.StatusSeeOther, res2.Status, text(res2, "main"))
		require.Equal(t, "/invoices/"+inv.ID+"?notice=event-resent", res2.Location)
		require.Equal(t, "The latest event is queued to be sent to the site's events URL again.", text(editor.get(res2.Location), ".notice"))
		require.Eventually(t, func() bool { return len(received()) > len(before) }, 30*time.Second, 50*time.Millisecond, "the resend arrives")
		got := received()
		require.Equal(t, before[len(before)-1], got[len(got)-1], "the same event, sent again")
		audit, err := env.Store.ListAudit(ctx, store.AuditFilter{OrganizationID: tn.Org.ID, TargetID: inv.ID, Action: "ipn.resend", Limit: 5})
		require.NoError(t, err)
		require.Len(t, audit, 1)
		require.Equal(t, "invoice", audit[0].TargetType)

		viewer := signedIn(t, env, tn, domain.RoleViewer)
		vp := viewer.get("/invoices/" + inv.ID)
		require.Positive(t, vp.Doc.Find("[data-site-events] table.cards tbody tr").Length(), "a viewer reads the attempts")
		require.Zero(t, vp.Doc.Find(`form[action$="/resend-event"]`).Length(), "a viewer has no resend")
		require.Equal(t, http.StatusForbidden, viewer.post("/invoices/"+inv.ID+"/resend-event", nil).Status)

		other := env.NewTenant(t)
		outsider := signedIn(t, env, other, domain.RoleAdmin)
		outsider.get("/invoices")
		require.Equal(t, http.StatusNotFound, outsider.post("/invoices/"+inv.ID+"/resend-event", nil).Status)

		// An invoice of no site sends no events, and its page says so.
		in.SiteID = nil
		bare, err := svc.CreateDraft(ctx, tn.Admin, tn.Org.ID, in)
		require.NoError(t, err)
		_, err = svc.Issue(ctx, tn.Admin, tn.Org.ID, bare.ID)
		require.NoError(t, err)
		require.Contains(t, text(editor.get("/invoices/"+bare.ID), "[data-site-events]"), "No events: the invoice belongs to no site.")
		editor.get("/invoices/" + bare.ID)
		require.Equal(t, http.StatusNotFound, editor.post("/invoices/"+bare.ID+"/resend-event", nil).Status)
	})
}
