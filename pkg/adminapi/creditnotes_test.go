package adminapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// An issued, unpaid invoice credited through POST /api/v1/invoices/:id/credit-notes: a draft
// is refused (409 INVOICE_NOT_ISSUED); a part is credited (201, a numbered credit note in the
// invoices' JSON shape, replayed as it was under its Idempotency-Key), more than is left is
// refused (422 CREDIT_EXCEEDS_CREDITABLE), the rest is credited, then nothing (409
// INVOICE_FULLY_CREDITED). The invoice shows its notes and its state; the list filters by
// invoice; a test key sees no live note; a key with invoice:read only cannot credit.
func TestCreditNotesAPIDirectCredit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		set := apptest.Do(t, "PATCH", base+"/invoice-settings", tn.LiveKey, map[string]any{
			"creditNoteLayout": map[string]any{"prefix": "GS-", "period": "none", "reset": "never", "padding": 3}})
		require.Equal(t, http.StatusOK, set.Status, string(set.Body))
		draft := apptest.Do(t, "POST", base+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "language": "de",
			"client": map[string]any{"name": "Erika Muster", "email": "erika@example.com", "country": "DE"},
			"lines":  []map[string]any{{"description": "Beratung", "quantity": 3, "unitPrice": 11900, "type": "digital_service"}}})
		require.Equal(t, http.StatusCreated, draft.Status, string(draft.Body))
		id := draft.JSON(t)["id"].(string)
		credit := func(body map[string]any, headers ...string) *apptest.Response {
			return apptest.Do(t, "POST", base+"/invoices/"+id+"/credit-notes", tn.LiveKey, body, headers...)
		}
		res := credit(map[string]any{})
		require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		require.Equal(t, domain.CodeInvoiceNotIssued, res.JSON(t)["code"])
		require.Equal(t, http.StatusOK, apptest.Do(t, "POST", base+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{}).Status)

		first := credit(map[string]any{"amount": 10001, "reason": "goodwill"}, "Idempotency-Key", "credit-"+id)
		require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
		cn := first.JSON(t)
		require.Equal(t, "credit_note", cn["object"])
		require.Equal(t, "GS-001", cn["number"])
		require.Equal(t, "credit", cn["kind"])
		require.Equal(t, "goodwill", cn["reason"])
		require.Equal(t, id, cn["invoiceId"])
		require.Equal(t, "live", cn["mode"])
		totals := cn["totals"].(map[string]any)
		require.EqualValues(t, 10001, totals["gross"])
		require.EqualValues(t, 1597, totals["tax"]) // 10001 at 19 %: 8404 net, 1597 tax
		require.EqualValues(t, 8404, totals["net"])
		require.Equal(t, "Erika Muster", cn["client"].(map[string]any)["name"])
		replay := credit(map[string]any{"amount": 10001, "reason": "goodwill"}, "Idempotency-Key", "credit-"+id)
		require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.Body, replay.Body)

		over := credit(map[string]any{"amount": 35700 - 10000})
		require.Equal(t, http.StatusUnprocessableEntity, over.Status, string(over.Body))
		require.Equal(t, domain.CodeCreditExceedsCreditable, over.JSON(t)["code"])
		bad := credit(map[string]any{"amount": 0})
		require.Equal(t, http.StatusBadRequest, bad.Status, string(bad.Body))
		require.Equal(t, "amount", bad.JSON(t)["field"])

		inv := apptest.Do(t, "GET", base+"/invoices/"+id, tn.LiveKey, nil).JSON(t)
		pay := inv["payment"].(map[string]any)
		require.Equal(t, "partially_credited", pay["state"])
		require.EqualValues(t, 10001, pay["credited"])
		require.EqualValues(t, 35700-10001, pay["outstanding"])
		require.Len(t, inv["creditNotes"], 1)

		rest := credit(map[string]any{})
		require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
		require.Equal(t, "GS-002", rest.JSON(t)["number"])
		require.EqualValues(t, 35700-10001, rest.JSON(t)["totals"].(map[string]any)["gross"])
		none := credit(map[string]any{})
		require.Equal(t, http.StatusConflict, none.Status, string(none.Body))
		require.Equal(t, domain.CodeInvoiceFullyCredited, none.JSON(t)["code"])
		require.Equal(t, "credited", apptest.Do(t, "GET", base+"/invoices/"+id, tn.LiveKey, nil).JSON(t)["payment"].(map[string]any)["state"])

		list := apptest.Do(t, "GET", base+"/credit-notes?invoiceId="+id, tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, list.Status, string(list.Body))
		require.Len(t, list.JSON(t)["data"], 2)
		require.Empty(t, apptest.Do(t, "GET", base+"/credit-notes?invoiceId=inv_none", tn.LiveKey, nil).JSON(t)["data"])
		require.Empty(t, apptest.Do(t, "GET", base+"/credit-notes", tn.TestKey, nil).JSON(t)["data"], "a test key lists live notes")
		one := apptest.Do(t, "GET", base+"/credit-notes/"+cn["id"].(string), tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, one.Status, string(one.Body))
		require.Equal(t, "GS-001", one.JSON(t)["number"])
		require.Equal(t, http.StatusNotFound, apptest.Do(t, "GET", base+"/credit-notes/"+cn["id"].(string), tn.TestKey, nil).Status, "a test key sees a live note")

		_, reader, err := env.Services().Tenancy.CreateAPIKey(context.Background(), tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Mode: "live", Scopes: []string{"invoice:read"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, apptest.Do(t, "GET", base+"/credit-notes", reader, nil).Status)
		denied := apptest.Do(t, "POST", base+"/invoices/"+id+"/credit-notes", reader, map[string]any{})
		require.Equal(t, http.StatusForbidden, denied.Status, string(denied.Body))
	})
}

// A refund asked through the API (the payment use cases, as a merchant does) of a payment the
// organisation invoiced automatically yields a refund credit note for its amount, once, seen
// through GET /credit-notes and the invoice's payment state.
func TestCreditNotesAPIRefundOfAnInvoicedPayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		svc := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)})
		d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: s})
		d.Register("invoice", func(ctx context.Context, tx *store.Store, e domain.Event) error {
			return svc.Hook(ctx, store.PortOf[invoice.Store](tx), e)
		})
		d.Register("credit_note", func(ctx context.Context, tx *store.Store, e domain.Event) error {
			return svc.CreditHook(ctx, store.PortOf[invoice.Store](tx), e)
		})
		dispatch := func() {
			for range 10 {
				if n, err := d.DispatchOnce(ctx); err != nil || n == 0 {
					require.NoError(t, err)
					return
				}
			}
		}
		require.Equal(t, http.StatusOK, apptest.Do(t, "PATCH", base+"/invoice-settings", tn.LiveKey, map[string]any{"autoIssue": true}).Status)
		c, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 11900, Currency: "EUR",
			ExternalReference: "order-" + domain.RandomString(6), Mode: domain.ModeTest})
		require.NoError(t, err)
		txn := storetest.Transaction(t, s, c, tn.Provider)
		_, err = env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, txn.ID, "paid")
		require.NoError(t, err)
		dispatch()
		inv, err := s.GetInvoiceBySourceTransaction(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)

		ref := apptest.Do(t, "POST", base+"/transactions/"+txn.ID+"/refunds", tn.TestKey, map[string]any{"amount": 2500, "reason": "broken lid"})
		require.Less(t, ref.Status, 300, string(ref.Body))
		dispatch()
		list := apptest.Do(t, "GET", base+"/credit-notes?invoiceId="+inv.ID, tn.TestKey, nil).JSON(t)["data"].([]any)
		require.Len(t, list, 1)
		cn := list[0].(map[string]any)
		require.Equal(t, "refund", cn["kind"])
		require.Equal(t, ref.JSON(t)["id"], cn["refundId"])
		require.EqualValues(t, 2500, cn["totals"].(map[string]any)["gross"])
		require.Equal(t, "partially_refunded", apptest.Do(t, "GET", base+"/invoices/"+inv.ID, tn.TestKey, nil).JSON(t)["payment"].(map[string]any)["state"])
	})
}
