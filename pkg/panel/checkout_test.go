package panel_test

import (
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
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func checkoutForm(tn *apptest.Tenant) url.Values {
	return url.Values{"site": {tn.Site.ID}, "mode": {"test"}, "currency": {"EUR"}, "email": {"buyer@example.com"},
		"externalReference": {"INV-" + domain.RandomString(6)},
		"item_name":         {"Consulting", "Travel"}, "item_quantity": {"3", "1"}, "item_unitPrice": {"120.00", "45.50"},
		"item_vatRate": {"19", ""}, "item_type": {"digital_service", "goods"},
		"expiryValue": {"3", ""}, "expiryUnit": {"days"}, "returnUrl": {"https://shop.example.com/thanks?tx={transactionId}"}}
}

func TestCreateCheckoutForm(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleEditor)

		t.Run("FormIsAccessible", func(t *testing.T) {
			p := c.get("/checkouts/new")
			require.Equal(t, http.StatusOK, p.Status)
			require.Equal(t, "Create checkout · "+tn.Org.Name+" · Paygate", p.Doc.Find("title").Text())
			p.Doc.Find("main input:not([type=hidden]), main select, main textarea").Each(func(_ int, sel *goquery.Selection) {
				id, _ := sel.Attr("id")
				labelled := id != "" && p.Doc.Find(`label[for="`+id+`"]`).Length() > 0 || sel.ParentFiltered("label").Length() > 0 || sel.AttrOr("aria-label", "") != ""
				require.True(t, labelled, "control %s has a label", id)
			})
			require.Equal(t, 1, p.Doc.Find(`#items .item-row`).Length(), "one row to start with")
			require.Equal(t, 1, p.Doc.Find(`template#item-template`).Length(), "a row template for the script")
			require.NotEmpty(t, p.Doc.Find("#f-externalReference").AttrOr("value", ""), "a reference is suggested")
			require.Equal(t, 1, p.Doc.Find(`#f-currency option[selected]`).Length())
			require.Equal(t, "EUR", p.Doc.Find(`#f-currency option[selected]`).Text())
		})

		t.Run("CreatesThroughThePlatform", func(t *testing.T) {
			form := checkoutForm(tn)
			res := c.post("/checkouts", form)
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			require.True(t, strings.HasPrefix(res.Location, "/checkouts/chk_"), res.Location)
			id := strings.TrimPrefix(strings.Split(res.Location, "?")[0], "/checkouts/")

			co, err := s.GetCheckout(ctx, tn.Org.ID, id)
			require.NoError(t, err)
			require.Equal(t, domain.OriginDashboard, co.Origin)
			require.Equal(t, domain.ModeTest, co.Mode)
			require.EqualValues(t, 3*12000+4550, co.Amount, "the amount is the items' total")
			require.Equal(t, form.Get("externalReference"), co.ExternalReference)
			require.Len(t, co.Items, 2)
			require.Equal(t, domain.ItemDigitalService, co.Items[0].ItemType)
			require.EqualValues(t, 1900, *co.Items[0].VATRate)
			require.Nil(t, co.Items[1].VATRate)
			require.Equal(t, "https://shop.example.com/thanks?tx={transactionId}", co.ReturnURL)
			require.InDelta(t, 3*24, co.ExpiresAt.Sub(co.CreatedAt).Hours(), 0.1)
			require.Equal(t, tn.Org.ID, co.OrganizationID)

			detail := c.get(res.Location)
			require.Equal(t, http.StatusOK, detail.Status)
			require.Equal(t, "Checkout created. Send the payment link to the buyer.", text(detail, ".notice"))
			url := env.Hosts.PaymentURL(co.ShortCode)
			require.Equal(t, url, detail.Doc.Find("#f-paymentUrl").AttrOr("value", ""))
			require.Equal(t, "#f-paymentUrl", detail.Doc.Find(`button[data-copy]`).AttrOr("data-copy", ""))
			qr := detail.Doc.Find("svg.qr")
			require.Equal(t, 1, qr.Length(), "a QR code")
			require.Equal(t, "img", qr.AttrOr("role", ""))
			require.NotEmpty(t, qr.Find("path").AttrOr("d", ""))
			require.Contains(t, text(detail, "main"), "405.50 EUR")
			require.Contains(t, text(detail, "main"), "Consulting")
			require.Contains(t, text(detail, "main"), "Checkout · created", "the timeline")

			audit, _, err := env.Services().Tenancy.ListAudit(ctx, tn.Admin, store.AuditFilter{OrganizationID: tn.Org.ID, TargetID: id, Limit: 5})
			require.NoError(t, err)
			require.Len(t, audit, 1)
			require.Equal(t, "checkout.create", audit[0].Action)
		})

		t.Run("ErrorsAreShownNextToTheFields", func(t *testing.T) {
			before := snapshot(t, s, tn.Org.ID)
			for name, tc := range map[string]struct {
				change  func(url.Values)
				field   string
				message string
			}{
				"BadPrice":       {func(v url.Values) { v["item_unitPrice"] = []string{"12,50", "1"} }, "items-0-unitPrice", "Enter a price like 24.99"},
				"TooPrecise":     {func(v url.Values) { v["item_unitPrice"] = []string{"1.005", "1"} }, "items-0-unitPrice", "at most 2 decimal places"},
				"ZeroQuantity":   {func(v url.Values) { v["item_quantity"] = []string{"3", "0"} }, "items-1-quantity", "Enter a whole number"},
				"BadVAT":         {func(v url.Values) { v["item_vatRate"] = []string{"19", "abc"} }, "items-1-vatRate", "percentage"},
				"BadEmail":       {func(v url.Values) { v.Set("email", "not-an-address") }, "email", "The e-mail address must be a valid e-mail address"},
				"NoReference":    {func(v url.Values) { v.Set("externalReference", "") }, "externalReference", "The reference or invoice number is required"},
				"LongReference":  {func(v url.Values) { v.Set("externalReference", strings.Repeat("x", 65)) }, "externalReference", "at most 64"},
				"ForeignHost":    {func(v url.Values) { v.Set("returnUrl", "https://evil.example/x") }, "returnUrl", "not one of the site's allowed hosts"},
				"ShortExpiry":    {func(v url.Values) { v.Set("expiryValue", "10"); v.Set("expiryUnit", "minutes") }, "expiryValue", "from 30"},
				"NoItems":        {func(v url.Values) { v["item_name"] = []string{"", ""}; v["item_unitPrice"] = []string{"", ""} }, "items-0-name", "at least one item"},
				"NameMissing":    {func(v url.Values) { v["item_name"] = []string{"Consulting", ""} }, "items-1-name", "Item 2 needs a name"},
				"UnknownSite":    {func(v url.Values) { v.Set("site", "site_nope") }, "site", "Choose one of your sites"},
				"NoLiveProvider": {func(v url.Values) { v.Set("mode", "live") }, "site", "no enabled live-mode payment provider"},
				"Discount":       {func(v url.Values) { v["item_unitPrice"] = []string{"120", "-5"} }, "items-1-unitPrice", "Item 2 unit price may be negative only for discount lines"},
			} {
				t.Run(name, func(t *testing.T) {
					form := checkoutForm(tn)
					tc.change(form)
					res := c.post("/checkouts", form)
					require.Contains(t, []int{400, 422}, res.Status, text(res, "main"))
					input := res.Doc.Find("#f-" + tc.field)
					require.Equal(t, 1, input.Length(), "the field %s is on the page", tc.field)
					errID := "f-" + tc.field + "-error"
					require.Contains(t, text(res, "#"+errID), tc.message)
					require.Contains(t, input.AttrOr("aria-describedby", ""), errID, "the message is tied to the field")
					require.Equal(t, "true", input.AttrOr("aria-invalid", ""))
					require.Contains(t, text(res, "[role=alert]"), tc.message, "and summarised at the top")
					require.Equal(t, "#f-"+tc.field, res.Doc.Find("[role=alert] a").AttrOr("href", ""), "the summary links to the field")
					require.Equal(t, form.Get("email"), res.Doc.Find("#f-email").AttrOr("value", ""), "what was typed is kept")
					require.Equal(t, 2, res.Doc.Find("#items .item-row").Length())
				})
			}
			require.Equal(t, before, snapshot(t, s, tn.Org.ID), "no checkout was created")
		})

		t.Run("RowsWithoutJavaScript", func(t *testing.T) {
			form := checkoutForm(tn)
			form.Set("op", "add-row")
			res := c.post("/checkouts", form)
			require.Equal(t, http.StatusOK, res.Status)
			require.Equal(t, 3, res.Doc.Find("#items .item-row").Length())
			require.Equal(t, "Travel", res.Doc.Find("#f-items-1-name").AttrOr("value", ""))
			require.Equal(t, "1", res.Doc.Find("#f-items-2-quantity").AttrOr("value", ""))

			form = checkoutForm(tn)
			form.Set("op", "remove-row-0")
			res = c.post("/checkouts", form)
			require.Equal(t, http.StatusOK, res.Status)
			require.Equal(t, 1, res.Doc.Find("#items .item-row").Length())
			require.Equal(t, "Travel", res.Doc.Find("#f-items-0-name").AttrOr("value", ""))
			require.Equal(t, "Remove item 1", res.Doc.Find(`button[value="remove-row-0"]`).AttrOr("aria-label", ""))
		})

		t.Run("ExtendFromTheDetailPage", func(t *testing.T) {
			co, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{
				Amount: 700, Currency: "EUR", ExternalReference: "ext-" + domain.RandomString(5), Mode: domain.ModeTest,
				Metadata: map[string]any{"orderId": "A-17"}})
			require.NoError(t, err)
			page := c.get("/checkouts/" + co.ID)
			form := page.Doc.Find(`form[action$="/extend"]`)
			require.Equal(t, 1, form.Length())
			require.Equal(t, "Keep the link open longer", form.Find("legend").Text())
			require.Contains(t, text(page, "dl.facts"), `"orderId": "A-17"`, "the merchant's metadata is shown")

			res := c.post("/checkouts/"+co.ID+"/extend", url.Values{"expiryValue": {"10"}, "expiryUnit": {"days"}})
			require.Equal(t, http.StatusSeeOther, res.Status, res.Body)
			require.Contains(t, text(c.get(res.Location), "main"), "The payment link now stays open longer.")
			got, err := env.Services().Checkout.GetCheckout(ctx, tn.Admin, tn.Org.ID, co.ID)
			require.NoError(t, err)
			require.WithinDuration(t, time.Now().Add(10*24*time.Hour), got.Checkout.ExpiresAt, time.Minute)

			for _, bad := range []url.Values{
				{"expiryValue": {"2"}, "expiryUnit": {"days"}},  // earlier than now
				{"expiryValue": {"91"}, "expiryUnit": {"days"}}, // beyond 90 days
				{"expiryValue": {"x"}, "expiryUnit": {"days"}},
				{"expiryValue": {"3"}, "expiryUnit": {"weeks"}},
			} {
				res := c.post("/checkouts/"+co.ID+"/extend", bad)
				require.Equal(t, http.StatusBadRequest, res.Status, "%v: %s", bad, res.Body)
				require.Equal(t, "Cannot extend this checkout", text(res, "h1"), "%v", bad)
			}
			again, err := env.Services().Checkout.GetCheckout(ctx, tn.Admin, tn.Org.ID, co.ID)
			require.NoError(t, err)
			require.Equal(t, got.Checkout.ExpiresAt, again.Checkout.ExpiresAt, "a refused extension changes nothing")

			_, err = env.Services().Checkout.ExpireCheckout(ctx, tn.Admin, tn.Org.ID, co.ID)
			require.NoError(t, err)
			require.Zero(t, c.get("/checkouts/"+co.ID).Doc.Find(`form[action$="/extend"]`).Length(), "no control once it is over")
			res = c.post("/checkouts/"+co.ID+"/extend", url.Values{"expiryValue": {"10"}, "expiryUnit": {"days"}})
			require.Equal(t, http.StatusConflict, res.Status, res.Body)
		})
		t.Run("ExpireFromTheDetailPage", func(t *testing.T) {
			co := newCheckout(t, env, tn, 900)
			page := c.get("/checkouts/" + co.ID)
			require.Equal(t, 1, page.Doc.Find(`form[action$="/expire"]`).Length())
			res := c.post("/checkouts/"+co.ID+"/expire", nil)
			require.Equal(t, http.StatusSeeOther, res.Status)
			after := c.get(res.Location)
			require.Equal(t, "Expired", text(after, ".page-head .badge"))
			require.Zero(t, after.Doc.Find("svg.qr").Length(), "no payment link once it is over")
			again := c.post("/checkouts/"+co.ID+"/expire", nil)
			require.Equal(t, http.StatusConflict, again.Status)
		})
	})
}
