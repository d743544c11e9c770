package adminapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// buyerCheckout creates a checkout for a buyer through the API with key; extra fields are
// merged into the body.
func buyerCheckout(t *testing.T, env *apptest.Env, tn *apptest.Tenant, key string, extra map[string]any) *apptest.Response {
	t.Helper()
	body := map[string]any{"amount": 1000, "currency": "EUR", "externalReference": "order-" + domain.RandomString(6)}
	for k, v := range extra {
		body[k] = v
	}
	return apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/checkouts/"+tn.Site.ID+"/create", key, body)
}

func requireCode(t *testing.T, res *apptest.Response, status int, code string) map[string]any {
	t.Helper()
	require.Equal(t, status, res.Status, string(res.Body))
	body := res.JSON(t)
	require.Equal(t, code, body["code"], string(res.Body))
	return body
}

// Checkouts create and update their buyer's client (one per organisation, mode and e-mail
// without regard to case); the Admin API creates, reads, searches, changes and deletes clients
// within the key's mode; clientId links a checkout to one of our clients or is refused.
func TestClientsFromCheckoutsAndTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn, other := env.NewTenant(t), env.NewTenant(t)
		api := env.AdminURL + "/api/v1"

		first := buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"email": "Jane.Doe@Example.com",
			"billingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "city": "Berlin", "country": "DE"}})
		require.Equal(t, http.StatusOK, first.Status, string(first.Body))
		clientID, _ := first.JSON(t)["linkedClientId"].(string)
		require.True(t, strings.HasPrefix(clientID, "cli_"), string(first.Body))

		// The same buyer in other case, now with a company and a VAT id: the same client, updated.
		second := buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"email": "jane.doe@EXAMPLE.com",
			"billingAddress": map[string]any{"company": "Doe GmbH", "vatId": "de 123456789", "country": "DE"}})
		require.Equal(t, http.StatusOK, second.Status, string(second.Body))
		require.Equal(t, clientID, second.JSON(t)["linkedClientId"])
		got := apptest.Do(t, http.MethodGet, api+"/clients/"+clientID, tn.TestKey, nil)
		require.Equal(t, http.StatusOK, got.Status, string(got.Body))
		cl := got.JSON(t)
		require.Equal(t, "Jane.Doe@Example.com", cl["email"])
		require.Equal(t, "Jane Doe", cl["name"], "a checkout without a name keeps the one known")
		require.Equal(t, "Doe GmbH", cl["company"])
		require.Equal(t, "DE123456789", cl["vatId"])
		require.Equal(t, "unchecked", cl["vatIdStatus"])
		require.Equal(t, "test", cl["mode"])
		require.Equal(t, []any{}, cl["lifetimeValue"])

		// Search, and paging with the cursor.
		list := apptest.Do(t, http.MethodGet, api+"/clients?q=JANE.doe", tn.TestKey, nil)
		require.Equal(t, http.StatusOK, list.Status, string(list.Body))
		require.Len(t, list.JSON(t)["data"], 1)
		for _, e := range []string{"a@example.com", "b@example.com"} {
			res := apptest.Do(t, http.MethodPost, api+"/clients", tn.TestKey, map[string]any{"email": e, "name": "Paged"})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		}
		page1 := apptest.Do(t, http.MethodGet, api+"/clients?limit=2", tn.TestKey, nil).JSON(t)
		require.Equal(t, true, page1["hasMore"])
		page2 := apptest.Do(t, http.MethodGet, api+"/clients?limit=2&startingAfter="+page1["nextCursor"].(string), tn.TestKey, nil).JSON(t)
		require.Equal(t, false, page2["hasMore"])
		require.Len(t, page2["data"], 1)
		require.Equal(t, clientID, page2["data"].([]any)[0].(map[string]any)["id"], "newest first")

		// One client per e-mail without regard to case.
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients", tn.TestKey, map[string]any{"email": "JANE.DOE@example.com"}),
			http.StatusConflict, domain.CodeClientEmailTaken)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients", tn.TestKey, map[string]any{"name": "No mail"}),
			http.StatusBadRequest, domain.CodeValidation)

		// Modes never cross: the live key neither sees nor changes the test client, and its
		// own client of the same e-mail is another one.
		requireCode(t, apptest.Do(t, http.MethodGet, api+"/clients/"+clientID, tn.LiveKey, nil), http.StatusNotFound, domain.CodeNotFound)
		requireCode(t, apptest.Do(t, http.MethodPatch, api+"/clients/"+clientID, tn.LiveKey, map[string]any{"name": "x"}), http.StatusNotFound, domain.CodeNotFound)
		live := apptest.Do(t, http.MethodGet, api+"/clients", tn.LiveKey, nil)
		require.Equal(t, []any{}, live.JSON(t)["data"])
		liveClient := apptest.Do(t, http.MethodPost, api+"/clients", tn.LiveKey, map[string]any{"email": "jane.doe@example.com"})
		require.Equal(t, http.StatusCreated, liveClient.Status, string(liveClient.Body))
		liveID := liveClient.JSON(t)["id"].(string)
		require.NotEqual(t, clientID, liveID)

		// clientId: one of our clients links the checkout; another mode's, another
		// organisation's or an unknown one is refused; the merchant's own ids stay references.
		linked := buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"clientId": clientID})
		require.Equal(t, http.StatusOK, linked.Status, string(linked.Body))
		require.Equal(t, clientID, linked.JSON(t)["linkedClientId"])
		for _, id := range []string{liveID, "cli_01jd3k0000000000000000000z"} {
			body := requireCode(t, buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"clientId": id}), http.StatusUnprocessableEntity, domain.CodeClientNotFound)
			require.Equal(t, "clientId", body["field"])
		}
		requireCode(t, buyerCheckout(t, env, other, other.TestKey, map[string]any{"clientId": clientID}), http.StatusUnprocessableEntity, domain.CodeClientNotFound)
		merchantRef := buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"clientId": "woo-customer-42", "email": "new.buyer@example.com"})
		require.Equal(t, http.StatusOK, merchantRef.Status, string(merchantRef.Body))
		require.Equal(t, "woo-customer-42", merchantRef.JSON(t)["clientId"])
		require.NotEqual(t, clientID, merchantRef.JSON(t)["linkedClientId"])

		// Scopes: a key without client scopes gets 403.
		_, narrow, err := env.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "n", Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
		requireCode(t, apptest.Do(t, http.MethodGet, api+"/clients", narrow, nil), http.StatusForbidden, domain.CodeInsufficientScope)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients", narrow, map[string]any{"email": "x@example.com"}), http.StatusForbidden, domain.CodeInsufficientScope)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", narrow, map[string]any{"action": "block", "reason": "x"}),
			http.StatusForbidden, domain.CodeInsufficientScope)

		// Lifetime value: what succeeded minus what was refunded, per currency.
		co, err := s.GetCheckout(ctx, tn.Org.ID, first.JSON(t)["id"].(string))
		require.NoError(t, err)
		txn := storetest.Transaction(t, s, co, tn.Provider)
		_, err = env.Services().Payment.ApplyOutcome(ctx, txn, payment.Outcome{Kind: domain.OutcomeSucceeded})
		require.NoError(t, err)
		cl = apptest.Do(t, http.MethodGet, api+"/clients/"+clientID, tn.TestKey, nil).JSON(t)
		require.Equal(t, []any{map[string]any{"currency": "EUR", "paid": 1000.0, "refunded": 0.0, "net": 1000.0, "payments": 1.0}}, cl["lifetimeValue"])

		// Delete: a client with payments stays for the books; one without goes (its checkouts
		// lose the link).
		requireCode(t, apptest.Do(t, http.MethodDelete, api+"/clients/"+clientID, tn.TestKey, nil), http.StatusConflict, domain.CodeClientHasTransactions)
		newID := merchantRef.JSON(t)["linkedClientId"].(string)
		del := apptest.Do(t, http.MethodDelete, api+"/clients/"+newID, tn.TestKey, nil)
		require.Equal(t, http.StatusNoContent, del.Status, string(del.Body))
		requireCode(t, apptest.Do(t, http.MethodGet, api+"/clients/"+newID, tn.TestKey, nil), http.StatusNotFound, domain.CodeNotFound)
		unlinked, err := s.GetCheckout(ctx, tn.Org.ID, merchantRef.JSON(t)["id"].(string))
		require.NoError(t, err)
		require.Nil(t, unlinked.LinkedClientID)
		entries, err := s.ListAudit(ctx, domain.AuditFilter{OrganizationID: tn.Org.ID, TargetID: newID, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, "client.delete", entries[0].Action)
	})
}

// holdBody is a 409 refusal's body without its request id (checked apart).
func holdBody(t *testing.T, res *apptest.Response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	body := res.JSON(t)
	require.Regexp(t, `^[A-Za-z0-9._:-]{1,128}$`, body["requestId"])
	require.Equal(t, res.Header.Get("X-Request-ID"), body["requestId"])
	delete(body, "requestId")
	return body
}

// A customer risk hold placed through the API refuses the held buyer's checkouts (by e-mail or
// clientId) with the contract's exact bodies, whose messages carry no personal data; a
// restriction the site can meet narrows the checkout's providers; changes and the release are
// audited; an unresolved dispute refuses checkouts when the organisation asks for it.
func TestCustomerHoldsRefuseOrNarrowCheckouts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		api := env.AdminURL + "/api/v1"
		buyer := map[string]any{"email": "held.buyer@example.com",
			"billingAddress": map[string]any{"firstName": "Heldina", "lastName": "Buyerson", "country": "DE"}}
		first := buyerCheckout(t, env, tn, tn.TestKey, buyer)
		require.Equal(t, http.StatusOK, first.Status, string(first.Body))
		clientID := first.JSON(t)["linkedClientId"].(string)

		// Validation before writing.
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey,
			map[string]any{"action": "block", "reason": "Suspected fraud by Heldina"}), http.StatusBadRequest, domain.CodeValidation)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey,
			map[string]any{"action": "allow_provider_types", "reason": "lost_dispute"}), http.StatusBadRequest, domain.CodeValidation)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey,
			map[string]any{"action": "allow_provider_types", "reason": "lost_dispute", "allowedProviderIds": []string{"prov_unknown"}}), http.StatusBadRequest, domain.CodeValidation)

		placed := apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey,
			map[string]any{"action": "block", "reason": "fraud_review", "note": "Heldina Buyerson called about held.buyer@example.com"})
		require.Equal(t, http.StatusCreated, placed.Status, string(placed.Body))
		holdID := placed.JSON(t)["id"].(string)
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey,
			map[string]any{"action": "block", "reason": "again"}), http.StatusConflict, domain.CodeClientHoldExists)

		blocked := map[string]any{
			"code": domain.CodeBlockedByCustomerHold, "holdId": holdID, "action": "block", "reason": "fraud_review",
			"allowedProviderTypes": []any{}, "allowedProviderIds": []any{},
			"customerRiskHold": map[string]any{"id": holdID, "action": "block", "reason": "fraud_review", "allowedProviderTypes": []any{}, "allowedProviderIds": []any{}},
			"error":            "this customer account is under merchant review: no new checkout can be started",
			"message":          "this customer account is under merchant review: no new checkout can be started",
		}
		byEmail := map[string]any{"email": "HELD.Buyer@example.com"}
		for name, extra := range map[string]map[string]any{"email": byEmail, "clientId": {"clientId": clientID}} {
			res := buyerCheckout(t, env, tn, tn.TestKey, extra)
			require.Equal(t, blocked, holdBody(t, res), name)
			requireNoPersonalData(t, res)
		}

		// Restricted to a provider type the site does not offer.
		changed := apptest.Do(t, http.MethodPatch, api+"/clients/"+clientID+"/holds/"+holdID, tn.TestKey,
			map[string]any{"action": "allow_provider_types", "reason": "lost_dispute", "allowedProviderTypes": []string{"wise", "stripe"}})
		require.Equal(t, http.StatusOK, changed.Status, string(changed.Body))
		res := buyerCheckout(t, env, tn, tn.TestKey, byEmail)
		require.Equal(t, map[string]any{
			"code": domain.CodeRestrictedByCustomerHold, "holdId": holdID, "action": "allow_provider_types", "reason": "lost_dispute",
			"allowedProviderTypes": []any{"wise", "stripe"}, "allowedProviderIds": []any{},
			"customerRiskHold": map[string]any{"id": holdID, "action": "allow_provider_types", "reason": "lost_dispute",
				"allowedProviderTypes": []any{"wise", "stripe"}, "allowedProviderIds": []any{}},
			"error":   "this customer account may only pay with payment methods this site does not offer (see allowedProviderTypes and allowedProviderIds)",
			"message": "this customer account may only pay with payment methods this site does not offer (see allowedProviderTypes and allowedProviderIds)",
		}, holdBody(t, res))
		requireNoPersonalData(t, res)

		// A restriction the site meets narrows the checkout to the allowed provider.
		second := secondProvider(t, env, tn)
		changed = apptest.Do(t, http.MethodPatch, api+"/clients/"+clientID+"/holds/"+holdID, tn.TestKey,
			map[string]any{"action": "allow_provider_types", "reason": "lost_dispute", "allowedProviderIds": []string{second}})
		require.Equal(t, http.StatusOK, changed.Status, string(changed.Body))
		narrowed := buyerCheckout(t, env, tn, tn.TestKey, byEmail)
		require.Equal(t, http.StatusOK, narrowed.Status, string(narrowed.Body))
		require.Equal(t, []any{second}, narrowed.JSON(t)["allowedProviderIds"])

		// Released: checkouts are whole again.
		rel := apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds/"+holdID+"/release", tn.TestKey, map[string]any{"note": "cleared"})
		require.Equal(t, http.StatusOK, rel.Status, string(rel.Body))
		require.Equal(t, false, rel.JSON(t)["active"])
		requireCode(t, apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds/"+holdID+"/release", tn.TestKey, nil),
			http.StatusConflict, domain.CodeClientHoldReleased)
		free := buyerCheckout(t, env, tn, tn.TestKey, byEmail)
		require.Equal(t, http.StatusOK, free.Status, string(free.Body))
		require.Nil(t, free.JSON(t)["allowedProviderIds"])
		holds := apptest.Do(t, http.MethodGet, api+"/clients/"+clientID+"/holds", tn.TestKey, nil).JSON(t)
		require.Len(t, holds["data"], 1)

		// Every change is in the audit log, on the client.
		entries, err := s.ListAudit(ctx, domain.AuditFilter{OrganizationID: tn.Org.ID, TargetID: clientID, Limit: 10})
		require.NoError(t, err)
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		require.Equal(t, []string{"client_hold.release", "client_hold.change", "client_hold.change", "client_hold.place"}, actions)
		require.Equal(t, "block", entries[3].Details["action"])
		require.Equal(t, "cleared", entries[0].Details["note"])

		// An unresolved dispute refuses new checkouts once the organisation asks for it.
		co, err := s.GetCheckout(ctx, tn.Org.ID, first.JSON(t)["id"].(string))
		require.NoError(t, err)
		txn := storetest.Transaction(t, s, co, tn.Provider)
		txn, err = env.Services().Payment.ApplyOutcome(ctx, txn, payment.Outcome{Kind: domain.OutcomeSucceeded})
		require.NoError(t, err)
		_, err = env.Services().Payment.ApplyOutcome(ctx, txn, payment.Outcome{Kind: domain.OutcomeDisputeOpened, DisputeStatus: "open"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, buyerCheckout(t, env, tn, tn.TestKey, byEmail).Status, "the setting is off")
		on := apptest.Do(t, http.MethodPatch, api+"/organizations/"+tn.Org.ID, tn.LiveKey, map[string]any{"blockCheckoutsOnDispute": true})
		require.Equal(t, http.StatusOK, on.Status, string(on.Body))
		require.Equal(t, true, on.JSON(t)["blockCheckoutsOnDispute"])
		res = buyerCheckout(t, env, tn, tn.TestKey, byEmail)
		require.Equal(t, map[string]any{"code": domain.CodeBlockedByDispute,
			"error":   "an unresolved payment dispute of this customer account is under review: no new checkout can be started",
			"message": "an unresolved payment dispute of this customer account is under review: no new checkout can be started",
		}, holdBody(t, res))
		requireNoPersonalData(t, res)
		require.Equal(t, http.StatusOK, buyerCheckout(t, env, tn, tn.TestKey, map[string]any{"email": "someone.else@example.com"}).Status)
		_, err = env.Services().Payment.ApplyOutcome(ctx, txn, payment.Outcome{Kind: domain.OutcomeDisputeWon, DisputeStatus: "won"})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, buyerCheckout(t, env, tn, tn.TestKey, byEmail).Status, "a decided dispute no longer blocks")
	})
}

// requireNoPersonalData checks that a refusal names none of the held buyer's details.
func requireNoPersonalData(t *testing.T, res *apptest.Response) {
	t.Helper()
	var body map[string]any
	require.NoError(t, json.Unmarshal(res.Body, &body))
	for _, field := range []string{"error", "message"} {
		msg := strings.ToLower(body[field].(string))
		for _, pii := range []string{"held.buyer", "example.com", "@", "heldina", "buyerson"} {
			require.NotContains(t, msg, pii, field)
		}
	}
	require.NotContains(t, strings.ToLower(string(res.Body)), "heldina", "nor anywhere in the body (the hold's note names the buyer)")
}

// secondProvider adds a second test-mode wire-transfer provider to the tenant's site and
// returns its id.
func secondProvider(t *testing.T, env *apptest.Env, tn *apptest.Tenant) string {
	t.Helper()
	name := "Second bank"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
		Settings: map[string]string{"bankName": "Other Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
			"instructions": "Use the reference."}})
	require.NoError(t, err)
	ids := []string{tn.Provider.ID, p.ID}
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &tn.Provider.ID})
	require.NoError(t, err)
	return p.ID
}
