package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/money"
)

// stableCode is what API-CONTRACT.md section 4 promises for error codes.
var stableCode = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// FuzzCheckoutCreate binds and validates POST /v1/checkouts/{siteId}/create exactly as the
// Admin API does before anything is written (httpapi.ReadJSON, CheckoutRequest.Input, the mode
// rule for API keys and dashboard users, platform's validation against a site held in memory)
// and checks that any input ends either in a domain error that is a 4xx with a stable code
// (never an internal error) or in a checkout that keeps every promise of the contract: a
// positive amount in range in a known currency, items that add up, a short reference, URLs
// that are https (http only for localhost in test mode) on the site's allowed hosts, an expiry
// from 30 minutes to 90 days, no NUL character anywhere, and an answer that encodes.
func FuzzCheckoutCreate(f *testing.F) {
	woo, _ := json.Marshal(map[string]any{
		"amount": 11900, "currency": "EUR", "email": "jane.doe@example.com", "externalReference": "wc-1042",
		"returnUrl": "https://shop.example.com/checkout/order-received/1042/?key=wc_order_abc&tx={transactionId}",
		"cancelUrl": "https://shop.example.com/cart/?cancel_order=true&order_id=1042", "ipnUrl": "https://shop.example.com/?wc-api=payment_gateway_app",
		"clientId": "42", "language": "de_DE",
		"billingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE", "phone": "+49 30 123456"},
		"items": []map[string]any{{"name": "Jacket", "quantity": 1, "unitPrice": 10000, "itemType": "physical", "vatRate": 19},
			{"name": "Shipping", "quantity": 1, "unitPrice": 2900, "itemType": "shipping", "vatRate": "19"}, {"description": "Coupon", "unitPrice": -1000}},
		"metadata": map[string]any{"order": 1042, "tags": []string{"a"}}, "expiresInMinutes": 60,
	})
	for _, s := range []string{string(woo),
		`{"amount":1000,"currency":"EUR","email":"a@example.com","externalReference":"o-1","items":[{"name":"A","quantity":1,"unitPrice":1000}]}`,
		`{"amount":1000,"currency":"jpy","invoiceNumber":"INV-1","mode":"live"}`,
		`{"amount":10.5,"currency":"EUR","externalReference":"o"}`, `{"amount":"1000"}`, `{"amount":1001,"currency":"EUR","externalReference":"o","items":[{"name":"A","unitPrice":1000}]}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","returnUrl":"http://localhost:3000/thanks?tx={transactionId}"}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","cancelUrl":"javascript:alert(1)"}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","returnUrl":"https://evil.example.net@shop.example.com/"}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","returnUrl":"https://a.b.example.org:8443/x"}`,
		`{"amount":1000,"currency":"EUR","externalReference":"A\u0000B"}`, `{"amount":1000,"currency":"EUR","externalReference":"A\\u0000B"}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","items":[{"name":"A","quantity":1,"unitPrice":1000,"vatRate":250}]}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","items":[{"name":"A","quantity":1,"unitPrice":1000,"vatRate":"5.555"}]}`,
		`{"amount":9223372036854775807,"currency":"EUR","externalReference":"o","items":[{"name":"A","quantity":1000000,"unitPrice":-9223372036854775808}]}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","metadata":{"":1}}`, `{"amount":1000,"currency":"EUR","externalReference":"o","metadata":{"k":1e400}}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o","expiresInMinutes":10}`, `{"amount":1000,"currency":"EUR","externalReference":"o","billingAddress":{"country":"Germany"}}`,
		`{"amount":1000,"currency":"EUR","externalReference":"o"}]`, `{"amount":1000,"currency":"EUR","externalReference":"o"} {}`, ``, `[]`, `null`, `"x"`,
	} {
		f.Add([]byte(s), uint8(0), "application/json")
	}
	f.Add([]byte(`{"amount":1000,"currency":"EUR","externalReference":"o","mode":"test"}`), uint8(2), "application/json; charset=utf-8")
	f.Add([]byte(`{"amount":1000,"currency":"EUR","externalReference":"o"}`), uint8(1), "text/plain")
	f.Add([]byte(`{"amount":1000,"currency":"EUR","externalReference":"o"}`), uint8(5), "application/vnd.api+json")

	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	hosts := config.Hosts{AdminBackendDomain: "api.example.com", MainBackendDomain: "webhook.example.com", MainFrontendDomain: "secure.example.com", Scheme: "https"}
	svcs := map[bool]*checkout.Service{}
	for _, dev := range []bool{false, true} {
		svcs[dev] = checkout.New(checkout.Deps{Log: logging.Discard(), Dev: dev, Now: func() time.Time { return now }})
	}
	site := &domain.Site{ID: "site_fuzz", OrganizationID: "org_fuzz", AllowedHosts: []string{"shop.example.com", "*.example.org", "localhost:8443"}}
	e := echo.New()
	target := &url.URL{Path: "/v1/checkouts/site_fuzz/create"}

	f.Fuzz(func(t *testing.T, body []byte, who uint8, contentType string) {
		req := &http.Request{Method: http.MethodPost, URL: target, Header: http.Header{echo.HeaderContentType: {contentType}}, Body: io.NopCloser(bytes.NewReader(body))}
		c := e.NewContext(req, nil)
		actor := domain.Actor{Type: domain.ActorAPIKey, OrganizationID: site.OrganizationID, Mode: domain.ModeTest}
		switch who % 3 {
		case 1:
			actor.Mode = domain.ModeLive
		case 2:
			actor = domain.Actor{Type: domain.ActorUser, OrganizationID: site.OrganizationID, Role: domain.RoleAdmin}
		}
		dev := who&4 != 0

		ch, err := bindAndValidate(c, svcs[dev], site, actor)
		if err != nil {
			var de *domain.Error
			if !errors.As(err, &de) {
				t.Fatalf("%q: %T %v is not a domain error (it would be a 500)", body, err, err)
			}
			if st := httpapi.StatusOf(de.Kind); st < 400 || st >= 500 || de.Kind == domain.KindInternal {
				t.Fatalf("%q: %v answers %d", body, err, st)
			}
			if !stableCode.MatchString(de.Code) || de.Message == "" {
				t.Fatalf("%q: error code %q, message %q", body, de.Code, de.Message)
			}
			return
		}
		mt := strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
		if len(bytes.TrimSpace(body)) > 0 && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			t.Fatalf("a body sent as %q was read", contentType)
		}
		if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			t.Fatalf("%q is not JSON but was accepted", body)
		}
		checkCheckout(t, ch, site, actor, dev, now)
		if _, err := httpapi.MarshalJSON(newCheckoutView(ch, hosts, now)); err != nil {
			t.Fatalf("the answer does not encode: %v", err)
		}
	})
}

// bindAndValidate is createCheckout up to the first database access.
func bindAndValidate(c echo.Context, svc *checkout.Service, site *domain.Site, actor domain.Actor) (*domain.Checkout, error) {
	var in CheckoutRequest
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return nil, err
	}
	input, err := in.Input()
	if err != nil {
		return nil, err
	}
	if actor.Type == domain.ActorUser {
		input.Origin = domain.OriginDashboard
	}
	mode := input.Mode
	if actor.Type == domain.ActorAPIKey {
		mode = actor.Mode
	}
	if !mode.Valid() {
		return nil, domain.Invalid("mode", "mode must be test or live")
	}
	return svc.ValidateCheckout(site, mode, input)
}

var (
	references = regexp.MustCompile(`^[\x20-\x7E\p{L}\p{N}]{1,64}$`)
	language   = regexp.MustCompile(`^[a-z]{2}$`)
)

func checkCheckout(t *testing.T, ch *domain.Checkout, site *domain.Site, actor domain.Actor, dev bool, now time.Time) {
	t.Helper()
	cur, ok := money.Lookup(ch.Currency)
	if !ok || cur.Code != ch.Currency || ch.Amount <= 0 || ch.Amount > checkout.MaxAmount {
		t.Fatalf("amount %d %q", ch.Amount, ch.Currency)
	}
	if actor.Type == domain.ActorAPIKey && ch.Mode != actor.Mode || !ch.Mode.Valid() {
		t.Fatalf("mode %q for a %s-mode key", ch.Mode, actor.Mode)
	}
	if ch.ExternalReference == "" && ch.InvoiceNumber == "" {
		t.Fatal("no reference")
	}
	for _, ref := range []string{ch.ExternalReference, ch.InvoiceNumber} {
		if ref != "" && !references.MatchString(ref) {
			t.Fatalf("reference %q", ref)
		}
	}
	if len(ch.Items) > checkout.MaxItems {
		t.Fatalf("%d items", len(ch.Items))
	}
	var sum int64
	for _, it := range ch.Items {
		if it.Quantity < 1 || it.Quantity > checkout.MaxQuantity || it.Name == "" || len(it.Name) > 255 ||
			(it.UnitPrice < 0) != (it.ItemType == domain.ItemDiscount) && it.UnitPrice != 0 || it.VATRate != nil && (*it.VATRate < 0 || *it.VATRate > 10000) {
			t.Fatalf("item %+v", it)
		}
		sum += it.Total()
	}
	if len(ch.Items) > 0 && sum != ch.Amount {
		t.Fatalf("items add up to %d, amount %d", sum, ch.Amount)
	}
	for field, raw := range map[string]string{"returnUrl": ch.ReturnURL, "cancelUrl": ch.CancelURL, "ipnUrl": ch.IPNURL} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(raw, "{transactionId}", "txn_1"))
		if err != nil || u.User != nil || u.Host == "" {
			t.Fatalf("%s %q: %v", field, raw, err)
		}
		host := strings.ToLower(u.Hostname())
		local := host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
		if !(u.Scheme == "https" || u.Scheme == "http" && local && (ch.Mode == domain.ModeTest || dev)) {
			t.Fatalf("%s %q in %s mode", field, raw, ch.Mode)
		}
		if field != "ipnUrl" && !site.HostAllowed(host) && !site.HostAllowed(strings.ToLower(u.Host)) {
			t.Fatalf("%s %q is not on the site's hosts", field, raw)
		}
	}
	if d := ch.ExpiresAt.Sub(now); d < checkout.MinExpiryMinutes*time.Minute || d > checkout.MaxExpiryMinutes*time.Minute {
		t.Fatalf("expires in %s", d)
	}
	if ch.Language != "" && !language.MatchString(ch.Language) {
		t.Fatalf("language %q", ch.Language)
	}
	if ch.Email != "" && domain.ValidateEmail("email", ch.Email) != nil {
		t.Fatalf("email %q", ch.Email)
	}
	if b, err := json.Marshal(ch.Metadata); err != nil || len(b) > 16<<10 {
		t.Fatalf("metadata of %d bytes: %v", len(b), err)
	}
	noNUL(t, reflect.ValueOf(ch), "checkout")
}

// noNUL fails when any string reachable from v (map keys included) holds a NUL character, which
// neither database can store.
func noNUL(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			t.Fatalf("%s holds a NUL character: %q", path, v.String())
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			noNUL(t, v.Elem(), path)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				noNUL(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			noNUL(t, v.Index(i), path)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			noNUL(t, k, path+" key")
			noNUL(t, v.MapIndex(k), path)
		}
	}
}
