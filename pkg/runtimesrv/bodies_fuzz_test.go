package runtimesrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/tenancy"
)

// FuzzRuntimeBodies reads the JSON bodies the hosted page posts to the runtime API (tax
// preview, transaction create, GoCardless billing request) exactly as the handlers do
// (httpapi.ReadJSON, billingDetails, payment.Buyer.Validate, then the tax for a checkout held
// in memory, with format-only VAT id checks) and checks that any body ends either in a 4xx
// domain error with a stable code or in buyer details that keep their promises: trimmed, at
// most 255 bytes, a valid e-mail and an ISO country code when present, validation idempotent,
// the postalCode/postcode rule, and a tax preview whose lines add up and which encodes.
func FuzzRuntimeBodies(f *testing.F) {
	for i, s := range []string{
		`{"billingAddress":{"country":"DE","postcode":"10115","vatId":"DE136695976"}}`,
		`{"billingAddress":{"country":"fr","postalCode":"75001","vatId":"fr 40-303.265.045"},"shippingAddress":{"country":"AT"}}`,
		`{"sessionPublicId":"cs_abc","providerId":"prv_1","billingAddress":{"name":"Jane Doe","email":"jane@example.com","line1":"Hauptstr. 1","city":"Berlin","postalCode":"10115","country":"DE"}}`,
		`{"sessionPublicId":"cs_abc","providerId":"prv_gc","transactionId":"txn_1","billingAddress":{"name":"J","country":" gb "},"language":"fr"}`,
		`{"billingAddress":{"email":"not-an-email"}}`, `{"billingAddress":{"country":"Germany"}}`, `{"billingAddress":{"vatId":"XX"}}`,
		`{"billingAddress":{"name":"A\u0000B"}}`, `{"billingAddress":[]}`, `{"billingAddress":{"country":"US","vatId":"GB980780684"}}`,
		`{}]`, ``, `null`, `{"billingAddress":{"name":"` + strings.Repeat("x", 256) + `"}}`,
	} {
		for route := uint8(0); route < 3; route++ {
			f.Add([]byte(s), route|uint8(i%4)<<2, "application/json")
		}
	}
	f.Add([]byte(`{"billingAddress":{"country":"DE"}}`), uint8(4), "text/plain")

	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := payment.New(payment.Deps{Tenancy: tenancy.New(tenancy.Deps{Log: logging.Discard(), Now: clock}), Log: logging.Discard(), Now: clock})
	rate := int64(1900)
	checkout := &domain.Checkout{ID: "chk_fuzz", Amount: 11900, Currency: "EUR", Mode: domain.ModeTest,
		BillingAddress: &domain.Address{Country: "DE"}, ShippingAddress: &domain.Address{Country: "DE"},
		Items: []domain.Item{{Name: "Jacket", Quantity: 1, UnitPrice: 10000, VATRate: &rate, ItemType: domain.ItemGoods},
			{Name: "Shipping", Quantity: 1, UnitPrice: 2900, ItemType: domain.ItemShipping}, {Name: "Coupon", Quantity: 1, UnitPrice: -1000, ItemType: domain.ItemDiscount}}}
	e := echo.New()
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, body []byte, route uint8, contentType string) {
		req := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/api/v1/x"}, Header: http.Header{echo.HeaderContentType: {contentType}},
			Body: io.NopCloser(bytes.NewReader(body))}
		c := e.NewContext(req, nil)
		var addr runtimeapi.BuyerAddress
		var dst any
		switch route % 3 {
		case 0:
			dst = &runtimeapi.TaxPreviewRequest{}
		case 1:
			dst = &runtimeapi.CreateTransactionRequest{}
		case 2:
			dst = &runtimeapi.BillingRequestRequest{}
		}
		if _, err := httpapi.ReadJSON(c, dst); err != nil {
			domainError(t, body, err)
			return
		}
		if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
			t.Fatalf("%q is not JSON but was accepted", body)
		}
		roundTrips(t, dst)
		switch in := dst.(type) {
		case *runtimeapi.TaxPreviewRequest:
			addr = in.BillingAddress
		case *runtimeapi.CreateTransactionRequest:
			addr = in.BillingAddress
		case *runtimeapi.BillingRequestRequest:
			addr = in.BillingAddress
		}
		bd := billingDetails(addr)
		if want := addr.PostalCode; want == "" && bd.PostalCode != addr.Postcode || want != "" && bd.PostalCode != want {
			t.Fatalf("postal code %q from postalCode %q and postcode %q", bd.PostalCode, addr.PostalCode, addr.Postcode)
		}
		b := payment.Buyer{BillingDetails: bd}
		if err := b.Validate(); err != nil {
			if de := domainError(t, body, err); de.Kind != domain.KindInvalid || !strings.HasPrefix(de.Field, "billingAddress.") {
				t.Fatalf("buyer refused with %+v", de)
			}
			return
		}
		for _, v := range []string{b.Name, b.Company, b.Line1, b.Line2, b.City, b.PostalCode, b.VATID, b.Email, b.Country} {
			if v != strings.TrimSpace(v) || len(v) > 255 || strings.ContainsRune(v, 0) {
				t.Fatalf("buyer field %q kept", v)
			}
		}
		if b.Email != "" && domain.ValidateEmail("email", b.Email) != nil || b.Country != "" && !domain.IsCountryCode(b.Country) {
			t.Fatalf("buyer %+v accepted", b.BillingDetails)
		}
		again := b
		if err := again.Validate(); err != nil || again != b {
			t.Fatalf("Validate is not idempotent: %+v -> %+v, %v", b, again, err)
		}

		// The site's VAT id setting and the organisation's price convention come from the route byte.
		site := &domain.Site{VATIDValidation: []domain.VATIDValidation{domain.VATIDFormat, domain.VATIDNone}[route>>2&1]}
		org := &domain.Organization{SellerCountry: "DE", PricesIncludeTax: route&8 != 0}
		res, err := svc.TaxFor(ctx, org, site, checkout, b.BillingDetails)
		if err != nil {
			if de := domainError(t, body, err); de.Kind != domain.KindInvalid {
				t.Fatalf("tax refused with %+v", de)
			}
			return
		}
		v := TaxView(res, checkout.Currency)
		var net, tx, gross int64
		for _, l := range v.Lines {
			if l.Net+l.Tax != l.Gross {
				t.Fatalf("line %+v", l)
			}
			net, tx, gross = net+l.Net, tx+l.Tax, gross+l.Gross
		}
		if len(v.Lines) != len(checkout.Items) || net != v.TotalNet || tx != v.TotalTax || gross != v.TotalGross || v.TotalNet+v.TotalTax != v.TotalGross {
			t.Fatalf("tax preview does not add up: %+v", v)
		}
		if org.PricesIncludeTax && v.TotalGross != checkout.Amount {
			t.Fatalf("prices include tax but the gross is %d, not %d", v.TotalGross, checkout.Amount)
		}
		if _, err := httpapi.MarshalJSON(v); err != nil {
			t.Fatalf("tax preview does not encode: %v", err)
		}
	})
}

// domainError fails unless err is a domain error answered with a 4xx and a stable code.
func domainError(t *testing.T, body []byte, err error) *domain.Error {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("%q: %T %v is not a domain error (it would be a 500)", body, err, err)
	}
	if st := httpapi.StatusOf(de.Kind); st < 400 || st >= 500 || de.Code == "" || de.Message == "" || strings.ContainsAny(de.Code, " \n") {
		t.Fatalf("%q: %+v answers %d", body, de, st)
	}
	return de
}

// roundTrips checks that a decoded request re-encodes to itself.
func roundTrips(t *testing.T, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%+v does not encode: %v", v, err)
	}
	again := reflect.New(reflect.TypeOf(v).Elem())
	if err := json.Unmarshal(b, again.Interface()); err != nil || !reflect.DeepEqual(again.Interface(), v) {
		t.Fatalf("%+v does not round-trip through %s: %v", v, b, err)
	}
}
