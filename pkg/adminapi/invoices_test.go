package adminapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A draft made, changed and issued through /api/v1/invoices: the number comes at issue (the
// layout the organisation set), the tax from the checkouts' engine, the payment state is open;
// a test key does not see a live invoice. Then every route that addresses an invoice and is
// not a read is called on the issued invoice: each refuses (409 INVOICE_ISSUED), and the
// stored invoice is byte for byte what it was.
func TestInvoicesAPIIssuedInvoiceCannotChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		layout := map[string]any{"invoiceLayout": map[string]any{"prefix": "R-", "period": "none", "reset": "never", "padding": 3},
			"seller": map[string]any{"company": "Shop GmbH", "line1": "Marktplatz 1", "city": "Köln", "postalCode": "50667", "country": "DE", "vatId": "DE123456789"}}
		set := apptest.Do(t, "PATCH", base+"/invoice-settings", tn.LiveKey, layout)
		require.Equal(t, http.StatusOK, set.Status, string(set.Body))
		require.Equal(t, http.StatusForbidden, apptest.Do(t, "PATCH", base+"/invoice-settings", tn.TestKey, layout).Status, "a test key changes shared settings")

		draft := apptest.Do(t, "POST", base+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "language": "de",
			"client": map[string]any{"name": "Erika Muster", "email": "erika@example.com", "country": "DE"},
			"lines":  []map[string]any{{"description": "Beratung", "quantity": 3, "unitPrice": 11900, "type": "digital_service"}}})
		require.Equal(t, http.StatusCreated, draft.Status, string(draft.Body))
		d := draft.JSON(t)
		id := d["id"].(string)
		require.Equal(t, "draft", d["status"])
		require.Nil(t, d["number"])
		require.Equal(t, "live", d["mode"])

		bad := apptest.Do(t, "POST", base+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "lines": []any{}})
		require.Equal(t, http.StatusBadRequest, bad.Status, string(bad.Body))
		require.Equal(t, "lines", bad.JSON(t)["field"])

		upd := apptest.Do(t, "PATCH", base+"/invoices/"+id, tn.LiveKey, map[string]any{"notes": "Danke!",
			"lines": []map[string]any{{"description": "Beratung", "quantity": 2, "unitPrice": 11900, "type": "digital_service"}}})
		require.Equal(t, http.StatusOK, upd.Status, string(upd.Body))
		require.EqualValues(t, 23800, upd.JSON(t)["totals"].(map[string]any)["gross"])

		require.Equal(t, http.StatusNotFound, apptest.Do(t, "GET", base+"/invoices/"+id, tn.TestKey, nil).Status, "a test key sees a live invoice")

		issued := apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{}, "Idempotency-Key", "issue-"+id)
		require.Equal(t, http.StatusOK, issued.Status, string(issued.Body))
		iv := issued.JSON(t)
		require.Equal(t, "issued", iv["status"])
		require.Equal(t, "R-001", iv["number"])
		require.Equal(t, "Shop GmbH", iv["seller"].(map[string]any)["company"])
		totals := iv["totals"].(map[string]any)
		require.EqualValues(t, 23800, totals["gross"])
		require.EqualValues(t, 3800, totals["tax"])
		require.EqualValues(t, 20000, totals["net"])
		require.Equal(t, "open", iv["payment"].(map[string]any)["state"])
		require.EqualValues(t, 23800, iv["payment"].(map[string]any)["outstanding"])
		replay := apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{}, "Idempotency-Key", "issue-"+id)
		require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
		require.Equal(t, issued.Body, replay.Body)

		before := storedInvoice(t, s, tn.Org.ID, id)
		walked := 0
		for _, r := range env.Admin.API.Routes() {
			if !strings.HasPrefix(r.Path, "/invoices/:id") || r.Method == http.MethodGet {
				continue
			}
			walked++
			url := base + strings.ReplaceAll(r.Path, ":id", id)
			body := map[string]any{"notes": "changed", "lines": []map[string]any{{"description": "x", "quantity": 1, "unitPrice": 1}}}
			for _, headers := range [][]string{nil, {"Idempotency-Key", "walk-" + domain.RandomString(8)}} {
				res := apptest.Do(t, r.Method, url, tn.LiveKey, body, headers...)
				if r.Path == "/invoices/:id/payment-link" || r.Path == "/invoices/:id/credit-notes" || r.Path == "/invoices/:id/send" ||
					r.Path == "/invoices/:id/events/resend" {
					// Paying, crediting, sending or resending an event of an issued invoice is
					// allowed; it changes nothing of it (checked below).
					require.Less(t, res.Status, 500, string(res.Body))
					continue
				}
				require.Equal(t, http.StatusConflict, res.Status, "%s %s: %s", r.Method, r.Path, res.Body)
				require.Equal(t, domain.CodeInvoiceIssued, res.JSON(t)["code"], "%s %s", r.Method, r.Path)
			}
		}
		require.GreaterOrEqual(t, walked, 4, "the changing routes were walked")
		require.Equal(t, before, storedInvoice(t, s, tn.Org.ID, id), "an issued invoice changed")

		list := apptest.Do(t, "GET", base+"/invoices?status=issued", tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, list.Status)
		require.Len(t, list.JSON(t)["data"], 1)
		require.Empty(t, apptest.Do(t, "GET", base+"/invoices", tn.TestKey, nil).JSON(t)["data"], "a test key lists live invoices")
	})
}

func storedInvoice(t *testing.T, s *store.Store, orgID, id string) string {
	t.Helper()
	inv, err := s.GetInvoice(context.Background(), orgID, id)
	require.NoError(t, err)
	b, err := json.Marshal(inv)
	require.NoError(t, err)
	return string(b)
}

// A payment link asks for the outstanding amount or a part of it (no less than the minimum);
// each paid link settles the invoice (the outbox consumer, in the dispatcher's transaction):
// partially paid, then paid, then nothing more to pay; invoice.issued and invoice.paid are in
// the outbox.
func TestInvoicePaymentLinksSettleTheInvoice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		svc := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)})
		d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](s)})
		d.Register("invoice", func(ctx context.Context, tx ipn.Store, e domain.Event) error {
			return svc.Hook(ctx, store.Rebind[invoice.Store, ipn.Store](tx), e)
		})
		draft := apptest.Do(t, "POST", base+"/invoices", tn.TestKey, map[string]any{"currency": "EUR", "siteId": tn.Site.ID,
			"client": map[string]any{"name": "Erika Muster", "email": "erika@example.com", "country": "DE"},
			"lines":  []map[string]any{{"description": "Beratung", "quantity": 2, "unitPrice": 11900}}})
		require.Equal(t, http.StatusCreated, draft.Status, string(draft.Body))
		id := draft.JSON(t)["id"].(string)
		link := func(body map[string]any) *apptest.Response {
			return apptest.Do(t, "POST", base+"/invoices/"+id+"/payment-link", tn.TestKey, body)
		}
		notIssued := link(map[string]any{})
		require.Equal(t, http.StatusConflict, notIssued.Status, string(notIssued.Body))
		require.Equal(t, domain.CodeInvoiceNotIssued, notIssued.JSON(t)["code"])
		require.Equal(t, http.StatusOK, apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.TestKey, map[string]any{}).Status)

		for _, amount := range []int{50, 23801} {
			res := link(map[string]any{"amount": amount})
			require.Equal(t, http.StatusBadRequest, res.Status, "%d: %s", amount, res.Body)
			require.Equal(t, "amount", res.JSON(t)["field"])
		}
		pay := func(res *apptest.Response, want int64) {
			t.Helper()
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			chkID := res.JSON(t)["checkout"].(map[string]any)["id"].(string)
			c, err := s.GetCheckout(context.Background(), tn.Org.ID, chkID)
			require.NoError(t, err)
			require.Equal(t, want, c.Amount)
			txn := storetest.Transaction(t, s, c, tn.Provider)
			_, err = s.TransitionTransaction(context.Background(), domain.Transition{OrganizationID: tn.Org.ID, TransactionID: txn.ID, To: domain.TxnSucceeded})
			require.NoError(t, err)
			for range 10 {
				if n, err := d.DispatchOnce(context.Background()); err != nil || n == 0 {
					require.NoError(t, err)
					break
				}
			}
		}
		pay(link(map[string]any{"amount": 10000}), 10000)
		got := apptest.Do(t, "GET", base+"/invoices/"+id, tn.TestKey, nil).JSON(t)["payment"].(map[string]any)
		require.Equal(t, "partially_paid", got["state"])
		require.EqualValues(t, 13800, got["outstanding"])

		pay(link(map[string]any{}), 13800)
		got = apptest.Do(t, "GET", base+"/invoices/"+id, tn.TestKey, nil).JSON(t)["payment"].(map[string]any)
		require.Equal(t, "paid", got["state"])
		require.EqualValues(t, 0, got["outstanding"])
		settled := link(map[string]any{})
		require.Equal(t, http.StatusConflict, settled.Status, string(settled.Body))
		require.Equal(t, domain.CodeInvoiceSettled, settled.JSON(t)["code"])

		var types []string
		require.NoError(t, s.InTx(context.Background(), func(tx *store.Store) error {
			evs, err := tx.ListOrganizationEvents(context.Background(), tn.Org.ID, "invoice.")
			for _, e := range evs {
				if e.Data["invoiceId"] == id {
					types = append(types, e.Type+":"+e.Status)
				}
			}
			return err
		}))
		require.Equal(t, []string{"invoice.issued:issued", "invoice.paid:partially_paid", "invoice.paid:paid"}, types)
	})
}
