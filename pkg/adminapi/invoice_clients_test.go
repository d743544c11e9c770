package adminapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestInvoiceDraftNamesAClient: POST /api/v1/invoices with a clientId that is not one of the
// organisation's clients in the key's mode answers 422 CLIENT_NOT_FOUND (field clientId), as a
// checkout does; with a client and no client block the draft carries the client's name,
// company, e-mail, billing address and VAT id.
func TestInvoiceDraftNamesAClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		other := env.NewTenant(t)
		api := env.AdminURL + "/api/v1"
		create := func(key string) string {
			res := apptest.Do(t, http.MethodPost, api+"/clients", key, map[string]any{"email": "erika@example.com", "name": "Erika Muster",
				"company": "Muster AG", "vatId": "DE123456789",
				"billingAddress": map[string]any{"address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"}})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			return res.JSON(t)["id"].(string)
		}
		live, test, foreign := create(tn.LiveKey), create(tn.TestKey), create(other.LiveKey)
		lines := []map[string]any{{"description": "Beratung", "quantity": 1, "unitPrice": 11900, "type": "digital_service"}}

		for _, id := range []string{"cli_unknown", test, foreign} {
			res := apptest.Do(t, http.MethodPost, api+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "clientId": id, "lines": lines})
			body := requireCode(t, res, http.StatusUnprocessableEntity, domain.CodeClientNotFound)
			require.Equal(t, "clientId", body["field"], id)
		}

		res := apptest.Do(t, http.MethodPost, api+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR", "clientId": live, "lines": lines})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		inv := res.JSON(t)
		require.Equal(t, live, inv["clientId"])
		require.Equal(t, map[string]any{"name": "Erika Muster", "company": "Muster AG", "email": "erika@example.com", "line1": "Hauptstr. 1",
			"city": "Berlin", "postalCode": "10115", "country": "DE", "vatId": "DE123456789"}, inv["client"])

		// The lists filter by client: this client's invoice and credit note, no one else's.
		anon := apptest.Do(t, http.MethodPost, api+"/invoices", tn.LiveKey, map[string]any{"currency": "EUR",
			"client": map[string]any{"name": "Someone Else", "email": "else@example.com", "country": "DE"}, "lines": lines})
		require.Equal(t, http.StatusCreated, anon.Status, string(anon.Body))
		for _, id := range []string{inv["id"].(string), anon.JSON(t)["id"].(string)} {
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, api+"/invoices/"+id+"/issue", tn.LiveKey, map[string]any{}).Status)
			cn := apptest.Do(t, http.MethodPost, api+"/invoices/"+id+"/credit-notes", tn.LiveKey, map[string]any{"amount": 1000, "reason": "Goodwill"})
			require.Equal(t, http.StatusCreated, cn.Status, string(cn.Body))
		}
		ids := func(path string) []string {
			res := apptest.Do(t, http.MethodGet, api+path, tn.LiveKey, nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			var out []string
			for _, row := range res.JSON(t)["data"].([]any) {
				out = append(out, row.(map[string]any)["id"].(string))
			}
			return out
		}
		require.Len(t, ids("/invoices"), 2)
		require.Equal(t, []string{inv["id"].(string)}, ids("/invoices?clientId="+live))
		require.Len(t, ids("/credit-notes"), 2)
		notes := ids("/credit-notes?clientId=" + live)
		require.Len(t, notes, 1)
		cn := apptest.Do(t, http.MethodGet, api+"/credit-notes/"+notes[0], tn.LiveKey, nil).JSON(t)
		require.Equal(t, inv["id"], cn["invoiceId"])
		// Pages: one row more is asked for than shown, and says that another page follows.
		for _, path := range []string{"/invoices", "/credit-notes"} {
			first := apptest.Do(t, http.MethodGet, api+path+"?limit=1", tn.LiveKey, nil).JSON(t)
			require.Len(t, first["data"], 1)
			require.Equal(t, true, first["hasMore"], path)
			next := apptest.Do(t, http.MethodGet, api+path+"?limit=1&after="+first["nextCursor"].(string), tn.LiveKey, nil).JSON(t)
			require.Len(t, next["data"], 1)
			require.Equal(t, false, next["hasMore"], path)
			require.NotEqual(t, first["data"].([]any)[0].(map[string]any)["id"], next["data"].([]any)[0].(map[string]any)["id"])
			for _, bad := range []string{"0", "101", "x"} {
				requireCode(t, apptest.Do(t, http.MethodGet, api+path+"?limit="+bad, tn.LiveKey, nil), http.StatusBadRequest, "VALIDATION_ERROR")
			}
		}
		require.Empty(t, ids("/invoices?clientId="+foreign), "another organisation's client")
		require.Empty(t, ids("/credit-notes?clientId="+test), "the other mode's client")
	})
}
