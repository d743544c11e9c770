package panel_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// requireEveryError checks a re-rendered form: each field's message in words beside it (marked
// invalid), the summary counting and listing them all, leading to first.
func requireEveryError(t *testing.T, res *page, first string, want map[string]string) {
	t.Helper()
	for field, msg := range want {
		require.Contains(t, text(res, "#f-"+field+"-error"), msg, field)
		require.Equal(t, "true", res.Doc.Find("#f-"+field).AttrOr("aria-invalid", ""), field)
	}
	summary := text(res, "[role=alert]")
	if len(want) > 1 {
		require.Contains(t, summary, "Please correct the "+strconv.Itoa(len(want))+" highlighted fields:")
	}
	for _, msg := range want {
		require.Contains(t, summary, msg)
	}
	require.Equal(t, "#f-"+first, res.Doc.Find("[role=alert] a").AttrOr("href", ""), "the summary leads to the first")
}

// TestDudaFormShowsEveryErrorAtOnce: the Duda connection form with a missing App UUID, a bad API
// user, a secret that is not base64 and an http IPN URL answers with all four, each beside its
// field in words (nothing is created); the edit form likewise reports all its mistakes at once.
func TestDudaFormShowsEveryErrorAtOnce(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	c.get("/duda/new")
	res := c.post("/duda", dudaForm(tn.Site.ID, "", "api:user", "pw-secret", "not base64 !", "http://shop.example.com/ipn", true))
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	requireEveryError(t, res, "appUuid", map[string]string{
		"appUuid":   "The App UUID is required",
		"appUser":   "The API user must be the app's API user (at most 200 characters, no colon)",
		"appSecret": "The app secret must be the app's base64 secret",
		"ipnUrl":    "The IPN URL must use https",
	})
	require.NotContains(t, text(res, "main"), "appUser must", "words, not the API's field names")
	list, err := env.Services().DudaConn.ListDudaConnections(ctx, tn.Admin, tn.Org.ID)
	require.NoError(t, err)
	require.Empty(t, list, "nothing was created")

	dc := dudaConnection(t, env, tn)
	c.get("/duda/" + dc.ID)
	res = c.post("/duda/"+dc.ID, dudaForm(tn.Site.ID, "bad/uuid", "api:user", "", "", "ftp://shop.example.com/ipn", true))
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	requireEveryError(t, res, "ipnUrl", map[string]string{
		"appUuid": "The App UUID must be the app's UUID",
		"appUser": "The API user must be",
		"ipnUrl":  "The IPN URL must",
	})
	after, err := env.Services().DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, dc.ID)
	require.NoError(t, err)
	require.Equal(t, dc.AppUUID, after.AppUUID, "nothing was changed")
	require.Equal(t, dc.AppUser, after.AppUser)
}

// TestInviteFormShowsEveryErrorAtOnce: the invite form with a wrong address and an unknown role
// (a tampered select) answers with both, in words; an empty address says it is required.
func TestInviteFormShowsEveryErrorAtOnce(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	c.get("/users")
	res := c.post("/users", url.Values{"email": {"not-an-address"}, "role": {"owner"}})
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	requireEveryError(t, res, "email", map[string]string{
		"email": "E-mail address must be a valid e-mail address",
		"role":  "Role must be admin, editor or viewer",
	})
	require.Equal(t, "not-an-address", res.Doc.Find("#f-email").AttrOr("value", ""), "what was typed stays")

	res = c.post("/users", url.Values{"email": {" "}, "role": {"viewer"}})
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Equal(t, "E-mail address is required", text(res, "#f-email-error"))
	members, err := env.Services().Tenancy.ListMembers(ctx, tn.Admin, tn.Org.ID)
	require.NoError(t, err)
	for _, m := range members {
		require.NotEqual(t, "not-an-address", m.User.Email, "nobody was invited")
	}
}
