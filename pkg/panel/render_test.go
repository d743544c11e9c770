package panel_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestEveryPageRenders fetches each page as an admin: it renders, with a title, one h1 and no
// template slip (missing values, bad formats, filtered unsafe content).
func TestEveryPageRenders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	txn := paidTransaction(t, env, tn, 2500)
	dc := dudaConnection(t, env, tn)
	installDuda(t, env, dc, "bakery", time.Now().Add(12*time.Hour))
	c := signedIn(t, env, tn, domain.RoleAdmin)
	for _, path := range []string{"/", "/checkouts", "/checkouts/new", "/checkouts/" + txn.CheckoutID, "/transactions", "/transactions/" + txn.ID,
		"/sites", "/sites/new", "/sites/" + tn.Site.ID, "/providers", "/providers/new", "/providers/new?type=stripe", "/providers/new?type=gocardless",
		"/providers/new?type=wire_transfer", "/providers/" + tn.Provider.ID,
		"/duda", "/duda/new", "/duda/" + dc.ID, "/api-keys", "/users", "/audit", "/organizations", "/logout"} {
		p := c.get(path)
		require.Equal(t, http.StatusOK, p.Status, "%s: %s", path, p.Body)
		require.NotContains(t, p.Body, "no value", path)
		require.NotContains(t, p.Body, "%!", path)
		require.NotContains(t, p.Body, "ZgotmplZ", path)
		require.NotEmpty(t, p.Doc.Find("title").Text(), path)
		require.Equal(t, 1, p.Doc.Find("h1").Length(), path)
		require.Equal(t, 1, p.Doc.Find("main#main").Length(), path)
		p.Doc.Find("[id]").Each(func(_ int, s *goquery.Selection) {
			id := s.AttrOr("id", "")
			require.Equal(t, 1, p.Doc.Find(`[id="`+id+`"]`).Length(), "id %s is unique on %s", id, path)
		})
		p.Doc.Find("[aria-describedby]").Each(func(_ int, s *goquery.Selection) {
			for _, id := range strings.Fields(s.AttrOr("aria-describedby", "")) {
				require.Equal(t, 1, p.Doc.Find(`[id="`+id+`"]`).Length(), "aria-describedby %s points somewhere on %s", id, path)
			}
		})
	}
}

func TestHeadAnswersLikeGet(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	css := c.get("/").Doc.Find(`link[rel="stylesheet"]`).AttrOr("href", "")
	require.NotEmpty(t, css)
	for _, path := range []string{"/", "/checkouts", "/users", "/sites/" + tn.Site.ID, css} {
		get, head := c.get(path), c.do(http.MethodHead, path, nil)
		require.Equal(t, get.Status, head.Status, path)
		require.Equal(t, http.StatusOK, get.Status, path)
		require.Equal(t, get.Header.Get("Location"), head.Header.Get("Location"), path)
		require.Equal(t, get.Header.Get("Content-Type"), head.Header.Get("Content-Type"), path)
		require.Equal(t, get.Header.Get("Content-Security-Policy"), head.Header.Get("Content-Security-Policy"), path)
		require.Empty(t, head.Body, path)
		require.NotEmpty(t, get.Body, path)
	}
	anonymous := newClient(t, env.AdminURL).do(http.MethodHead, "/checkouts", nil)
	require.Equal(t, http.StatusSeeOther, anonymous.Status, "HEAD needs a session as GET does")
	require.Contains(t, anonymous.Header.Get("Location"), "/login")
	post := c.do(http.MethodHead, "/logout", nil)
	require.Equal(t, http.StatusOK, post.Status, "HEAD of a page with a form does not submit it")
}
