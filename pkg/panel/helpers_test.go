package panel_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// client is a browser stand-in: it keeps cookies (Secure ones too: the test servers speak
// plain HTTP on loopback, which browsers treat as secure), sends the panel's Origin on POSTs
// and never follows redirects, so tests see each answer.
type client struct {
	t       testing.TB
	base    string
	origin  string
	cookies map[string]*http.Cookie
	last    *page
}

// page is one answer, parsed.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Doc      *goquery.Document
	Location string
}

var httpClient = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func newClient(t testing.TB, base string) *client {
	return &client{t: t, base: base, origin: base, cookies: map[string]*http.Cookie{}}
}

func (c *client) do(method, path string, body io.Reader, headers ...string) *page {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8") // as browsers do
	for _, ck := range c.cookies {
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := httpClient.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	p := &page{Status: res.StatusCode, Header: res.Header, Body: string(raw), Location: res.Header.Get("Location")}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		p.Doc, err = goquery.NewDocumentFromReader(bytes.NewReader(raw))
		require.NoError(c.t, err)
		c.last = p
	}
	return p
}

func (c *client) get(path string) *page {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil)
}

// post sends a form with the panel's Origin and, unless the form has one, the CSRF token of
// the last page seen (fetching the overview first when there is none).
func (c *client) post(path string, form url.Values, headers ...string) *page {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", c.csrf())
	}
	h := append([]string{"Origin", c.origin}, headers...)
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), h...)
}

// csrf is the token in the last page's forms.
func (c *client) csrf() string {
	c.t.Helper()
	if c.last == nil || c.last.Doc.Find(`input[name=csrf]`).Length() == 0 {
		c.get("/organizations")
	}
	v, _ := c.last.Doc.Find(`input[name=csrf]`).First().Attr("value")
	require.NotEmpty(c.t, v, "no CSRF token on the page")
	return v
}

// login signs in through the form and fails the test unless it works.
func (c *client) login(email, password string) {
	c.t.Helper()
	c.get("/login")
	res := c.post("/login", url.Values{"email": {email}, "password": {password}})
	require.Equal(c.t, http.StatusSeeOther, res.Status, "sign-in: %s", text(res, "main"))
	require.NotEmpty(c.t, c.cookies["pg_session"], "a session cookie is set")
	c.last = nil // the sign-in form's token is not the session's
}

// text is the trimmed text of the first element matching sel.
func text(p *page, sel string) string {
	if p.Doc == nil {
		return p.Body
	}
	return strings.Join(strings.Fields(p.Doc.Find(sel).First().Text()), " ")
}

// member creates a user with a password and a role in the tenant's organisation.
func member(t testing.TB, env *apptest.Env, orgID string, role domain.Role) (email, password string) {
	t.Helper()
	email = strings.ToLower(string(role)+"."+domain.RandomString(8)) + "@example.com"
	password = "pw-" + domain.RandomString(16)
	u, err := env.Services().Tenancy.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: email, Password: password})
	require.NoError(t, err)
	require.NoError(t, env.Store.AddMembership(ctx, &domain.Membership{OrganizationID: orgID, UserID: u.ID, Role: role}))
	return email, password
}

// signedIn returns a client signed in as a new member with the role.
func signedIn(t testing.TB, env *apptest.Env, tn *apptest.Tenant, role domain.Role) *client {
	t.Helper()
	c := newClient(t, env.AdminURL)
	if role == domain.RoleAdmin {
		c.login(tn.AdminUser.Email, tn.Password)
		return c
	}
	email, pw := member(t, env, tn.Org.ID, role)
	c.login(email, pw)
	return c
}

// newCheckout creates a test checkout through the platform, as an API integration would.
func newCheckout(t testing.TB, env *apptest.Env, tn *apptest.Tenant, amount int64) *domain.Checkout {
	t.Helper()
	co, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{
		Amount: amount, Currency: "EUR", Email: "buyer@example.com", ExternalReference: "order-" + domain.RandomString(6), Mode: domain.ModeTest,
		Items: []checkout.ItemInput{{Name: "Poster", Quantity: 1, UnitPrice: amount, ItemType: "goods"}}})
	require.NoError(t, err)
	return co
}

// wireTransaction starts a wire-transfer payment of a checkout, as the hosted page does.
func wireTransaction(t testing.TB, env *apptest.Env, tn *apptest.Tenant, co *domain.Checkout) *domain.Transaction {
	t.Helper()
	st, err := env.Services().Payment.StartTransaction(ctx, payment.StartInput{SessionPublicID: co.SessionPublicID, ProviderID: tn.Provider.ID,
		Buyer: payment.Buyer{BillingDetails: domain.BillingDetails{Name: "Jane Doe", Email: "jane@example.com", Country: "DE"}}})
	require.NoError(t, err)
	return st.Transaction
}

// paidTransaction is a wire transfer marked paid.
func paidTransaction(t testing.TB, env *apptest.Env, tn *apptest.Tenant, amount int64) *domain.Transaction {
	t.Helper()
	txn := wireTransaction(t, env, tn, newCheckout(t, env, tn, amount))
	paid, err := env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, txn.ID, "")
	require.NoError(t, err)
	return paid
}
