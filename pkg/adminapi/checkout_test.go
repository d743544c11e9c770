package adminapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// woo is a checkout shaped like the WooCommerce plugin's requests.
func woo(ref string, items []map[string]any, amount int64) map[string]any {
	return map[string]any{
		"amount": amount, "currency": "EUR", "email": "jane.doe@example.com", "externalReference": ref,
		"returnUrl": "https://shop.example.com/checkout/order-received/" + ref + "/?key=wc_order_abc&tx={transactionId}",
		"cancelUrl": "https://shop.example.com/cart/?cancel_order=true&order_id=" + ref,
		"ipnUrl":    "https://shop.example.com/?wc-api=payment_gateway_app",
		"clientId":  "42",
		"billingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "address1": "Hauptstr. 1", "city": "Berlin",
			"postcode": "10115", "country": "DE", "phone": "+49 30 123456"},
		"shippingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
		"items":           items,
		"language":        "de_DE",
	}
}

func TestWooCommerceShapedCheckoutsSucceed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		url := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
		cases := map[string]struct {
			items  []map[string]any
			amount int64
		}{
			"TaxIncludedInItemPrices": {[]map[string]any{
				{"name": "Hoodie", "quantity": 2, "unitPrice": 4999, "vatRate": 19, "itemType": "physical"},
				{"name": "Shipping", "quantity": 1, "unitPrice": 495, "vatRate": 19, "itemType": "shipping"},
			}, 10493},
			"SeparateTaxLine": {[]map[string]any{
				{"name": "E-book", "quantity": 1, "unitPrice": 1000, "itemType": "virtual"},
				{"name": "VAT", "quantity": 1, "unitPrice": 190, "itemType": "tax"},
			}, 1190},
			"NegativeDiscountLines": {[]map[string]any{
				{"name": "Mug", "quantity": 3, "unitPrice": 1200, "itemType": "physical"},
				{"name": "Coupon SUMMER10", "quantity": 1, "unitPrice": -360, "itemType": "discount"},
			}, 3240},
			"RoundingFixedOnTheLastItem": {[]map[string]any{
				{"name": "Pen", "quantity": 3, "unitPrice": 333, "vatRate": "19.00"},
				{"name": "Pen (rounding)", "quantity": 1, "unitPrice": 1},
			}, 1000},
			"DescriptionOnlyItems": {[]map[string]any{{"description": "Consulting hour", "quantity": 2, "unitPrice": 5000, "itemType": "digital_service"}}, 10000},
			"NoItems":              {nil, 2500},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				ref := "wc-" + domain.RandomString(6)
				res := apptest.Do(t, http.MethodPost, url, tn.TestKey, woo(ref, tc.items, tc.amount))
				require.Equal(t, http.StatusOK, res.Status, "plugins check for exactly 200: %s", res.Body)
				body := res.JSON(t)
				for _, k := range []string{"id", "sessionPublicId", "shortCode", "paymentUrl", "expiresAt", "status", "mode"} {
					require.NotEmpty(t, body[k], k)
				}
				require.Equal(t, "open", body["status"])
				require.Equal(t, "test", body["mode"])
				require.Equal(t, env.Hosts.MainFrontendURL()+"/checkout/"+body["shortCode"].(string), body["paymentUrl"])
				require.Regexp(t, `^[A-Za-z0-9._:-]{1,128}$`, body["sessionPublicId"])
				require.GreaterOrEqual(t, len(body["shortCode"].(string)), 11, "at least 60 bits of randomness")
				require.Equal(t, "de", body["language"])
				c, err := s.GetCheckout(ctx, tn.Org.ID, body["id"].(string))
				require.NoError(t, err)
				require.Equal(t, tc.amount, c.Amount)
				require.Len(t, c.Items, len(tc.items))
			})
		}
		t.Run("ItemTypeAliasesAreMapped", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, woo("a-"+domain.RandomString(5), []map[string]any{
				{"name": "Box", "quantity": 1, "unitPrice": 100, "itemType": "physical"},
				{"name": "Licence", "quantity": 1, "unitPrice": 100, "itemType": "virtual"},
			}, 200))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			items := res.JSON(t)["items"].([]any)
			require.Equal(t, "goods", items[0].(map[string]any)["itemType"])
			require.Equal(t, "digital_service", items[1].(map[string]any)["itemType"])
		})
		t.Run("ApiPrefixServesTheSameHandler", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, woo("p-"+domain.RandomString(5), nil, 100))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
	})
}

func TestCheckoutValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		url := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
		base := func() map[string]any {
			return map[string]any{"amount": 1000, "currency": "EUR", "email": "a@example.com", "externalReference": "o-1",
				"items": []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 1000}}}
		}
		long := strings.Repeat("x", 65)
		cases := []struct {
			name   string
			mutate func(m map[string]any)
			code   string
			field  string
		}{
			{"ZeroAmount", func(m map[string]any) { m["amount"] = 0; m["items"] = nil }, "VALIDATION_ERROR", "amount"},
			{"NegativeAmount", func(m map[string]any) { m["amount"] = -5; m["items"] = nil }, "VALIDATION_ERROR", "amount"},
			{"FractionalAmount", func(m map[string]any) { m["amount"] = 10.5 }, "VALIDATION_ERROR", "amount"},
			{"StringAmount", func(m map[string]any) { m["amount"] = "1000" }, "VALIDATION_ERROR", "amount"},
			{"MissingAmount", func(m map[string]any) { delete(m, "amount") }, "VALIDATION_ERROR", "amount"},
			{"UnknownCurrency", func(m map[string]any) { m["currency"] = "XYZ" }, "VALIDATION_ERROR", "currency"},
			{"BadEmail", func(m map[string]any) { m["email"] = "not-an-email" }, "VALIDATION_ERROR", "email"},
			{"NoReference", func(m map[string]any) { delete(m, "externalReference") }, "VALIDATION_ERROR", "externalReference"},
			{"LongReference", func(m map[string]any) { m["externalReference"] = long }, "VALIDATION_ERROR", "externalReference"},
			{"HTTPReturnURL", func(m map[string]any) { m["returnUrl"] = "http://shop.example.com/thanks" }, "VALIDATION_ERROR", "returnUrl"},
			{"RelativeReturnURL", func(m map[string]any) { m["returnUrl"] = "/thanks" }, "VALIDATION_ERROR", "returnUrl"},
			{"ForeignReturnHost", func(m map[string]any) { m["returnUrl"] = "https://evil.example.net/x" }, "VALIDATION_ERROR", "returnUrl"},
			{"ForeignCancelHost", func(m map[string]any) { m["cancelUrl"] = "https://evil.example.net/x" }, "VALIDATION_ERROR", "cancelUrl"},
			{"JavascriptURL", func(m map[string]any) { m["cancelUrl"] = "javascript:alert(1)" }, "VALIDATION_ERROR", "cancelUrl"},
			{"HTTPIPNURL", func(m map[string]any) { m["ipnUrl"] = "http://shop.example.com/ipn" }, "VALIDATION_ERROR", "ipnUrl"},
			{"ZeroQuantity", func(m map[string]any) { m["items"] = []map[string]any{{"name": "A", "quantity": 0, "unitPrice": 1000}} }, "VALIDATION_ERROR", "items[0].quantity"},
			{"FractionalUnitPrice", func(m map[string]any) { m["items"] = []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 10.5}} }, "VALIDATION_ERROR", "items.unitPrice"},
			{"UnknownItemType", func(m map[string]any) {
				m["items"] = []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 1000, "itemType": "gift"}}
			}, "VALIDATION_ERROR", "items[0].itemType"},
			{"ItemWithoutName", func(m map[string]any) { m["items"] = []map[string]any{{"quantity": 1, "unitPrice": 1000}} }, "VALIDATION_ERROR", "items[0].name"},
			{"PositiveDiscount", func(m map[string]any) {
				m["items"] = []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 900}, {"name": "D", "quantity": 1, "unitPrice": 100, "itemType": "discount"}}
			}, "VALIDATION_ERROR", "items[1].unitPrice"},
			{"BadCountry", func(m map[string]any) { m["billingAddress"] = map[string]any{"country": "Germany"} }, "VALIDATION_ERROR", "billingAddress.country"},
			{"BadVATRate", func(m map[string]any) {
				m["items"] = []map[string]any{{"name": "A", "quantity": 1, "unitPrice": 1000, "vatRate": 250}}
			}, "VALIDATION_ERROR", "items"},
			{"ShortExpiry", func(m map[string]any) { m["expiresInMinutes"] = 10 }, "VALIDATION_ERROR", "expiresInMinutes"},
			{"LongExpiry", func(m map[string]any) { m["expiresInMinutes"] = 90*24*60 + 1 }, "VALIDATION_ERROR", "expiresInMinutes"},
			{"SumMismatch", func(m map[string]any) { m["amount"] = 1001 }, "AMOUNT_MISMATCH", "items"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				m := base()
				tc.mutate(m)
				res := apptest.Do(t, http.MethodPost, url, tn.TestKey, m)
				require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
				b := res.JSON(t)
				require.Equal(t, tc.code, b["code"], string(res.Body))
				require.Contains(t, b["field"], tc.field, string(res.Body))
				require.Equal(t, b["message"], b["error"])
				require.Equal(t, res.Header.Get("X-Request-ID"), b["requestId"])
			})
		}
		t.Run("TheNULCharacterIsRefusedNotA500", func(t *testing.T) {
			for _, mutate := range []func(m map[string]any){
				func(m map[string]any) {
					m["items"] = []map[string]any{{"name": "A\x00B", "quantity": 1, "unitPrice": 1000}}
				},
				func(m map[string]any) { m["clientId"] = "c\x00" },
				func(m map[string]any) { m["metadata"] = map[string]any{"k": "\x00"} },
			} {
				m := base()
				mutate(m)
				res := apptest.Do(t, http.MethodPost, url, tn.TestKey, m)
				require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
				require.Equal(t, "VALIDATION_ERROR", res.JSON(t)["code"])
			}
			m := base()
			m["externalReference"] = "nul-text"
			m["items"] = []map[string]any{{"name": `A\u0000B`, "quantity": 1, "unitPrice": 1000}} // text, not a NUL
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, m)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, `A\u0000B`, res.JSON(t)["items"].([]any)[0].(map[string]any)["name"])
		})
		t.Run("SumMismatchMessageMatchesThePlugins", func(t *testing.T) {
			m := base()
			m["amount"] = 1500
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, m)
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, res.JSON(t)["message"], "sum of item amounts (1000) does not match total amount (1500)")
		})
		t.Run("HTTPLocalhostAllowedInTestMode", func(t *testing.T) {
			m := base()
			m["externalReference"] = "lh-" + domain.RandomString(4)
			m["returnUrl"] = "http://localhost:3000/thanks?tx={transactionId}"
			m["ipnUrl"] = "http://127.0.0.1:9000/ipn"
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, m)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
		t.Run("ForeignSiteIsNotFound", func(t *testing.T) {
			other := env.NewTenant(t)
			res := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+other.Site.ID+"/create", tn.TestKey, base())
			require.Equal(t, http.StatusNotFound, res.Status)
			require.Equal(t, "NOT_FOUND", res.JSON(t)["code"])
		})
		t.Run("NoProviderForTheKeysModeIs422", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, url, tn.LiveKey, base())
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			require.Equal(t, domain.CodeNoProvider, res.JSON(t)["code"])
		})
		t.Run("NoCheckoutWasWrittenByAnyFailure", func(t *testing.T) {
			list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: "o-1", Limit: 10})
			require.NoError(t, err)
			require.Empty(t, list)
		})
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		url := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
		body := func(ref string, amount int64) map[string]any {
			return map[string]any{"amount": amount, "currency": "EUR", "externalReference": ref}
		}
		_, testKeyID, _, _ := parse(tn.TestKey)
		// stored is the key under which the test key's requests keep their answers.
		stored := func(key string) string {
			return adminapi.IdempotencyScope(domain.Actor{Type: domain.ActorAPIKey, ID: testKeyID}, key)
		}
		t.Run("SameKeySameBodyReplaysByteForByte", func(t *testing.T) {
			key := "idem-" + domain.RandomString(10)
			first := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r1", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, first.Status, string(first.Body))
			require.Empty(t, first.Header.Get("Idempotent-Replayed"))
			second := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r1", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, second.Status)
			require.Equal(t, "true", second.Header.Get("Idempotent-Replayed"))
			require.Equal(t, first.Body, second.Body)
		})
		t.Run("SameKeyDifferentBodyIs422", func(t *testing.T) {
			key := "idem-" + domain.RandomString(10)
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r2", 100), "Idempotency-Key", key).Status)
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r2", 200), "Idempotency-Key", key)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			require.Equal(t, "IDEMPOTENCY_KEY_REUSED", res.JSON(t)["code"])
		})
		t.Run("ErrorAnswersAreReplayedToo", func(t *testing.T) {
			key := "idem-" + domain.RandomString(10)
			bad := map[string]any{"amount": 100, "currency": "XXX", "externalReference": "r"}
			first := apptest.Do(t, http.MethodPost, url, tn.TestKey, bad, "Idempotency-Key", key)
			require.Equal(t, http.StatusBadRequest, first.Status)
			second := apptest.Do(t, http.MethodPost, url, tn.TestKey, bad, "Idempotency-Key", key)
			require.Equal(t, first.Body, second.Body)
			require.Equal(t, "true", second.Header.Get("Idempotent-Replayed"))
		})
		t.Run("KeysAreScopedPerOrganisation", func(t *testing.T) {
			other := env.NewTenant(t)
			key := "shared-" + domain.RandomString(8)
			a := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r3", 100), "Idempotency-Key", key)
			b := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+other.Site.ID+"/create", other.TestKey, body("r3", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, a.Status)
			require.Equal(t, http.StatusOK, b.Status)
			require.NotEqual(t, a.JSON(t)["id"], b.JSON(t)["id"])
		})
		t.Run("InFlightRequestIs409AndADeadClaimIsTakenOver", func(t *testing.T) {
			raw, err := json.Marshal(body("r4", 100))
			require.NoError(t, err)
			path := "/v1/checkouts/" + tn.Site.ID + "/create"
			sum := sha256.Sum256(append([]byte("POST "+path+" test\n"), raw...)) // method, path, the key's mode; body
			hash := hex.EncodeToString(sum[:])

			// The same request is still running elsewhere: it holds the key.
			key := "idem-" + domain.RandomString(10)
			outcome, _, err := s.BeginIdempotency(ctx, tn.Org.ID, stored(key), hash, time.Minute, 48*time.Hour)
			require.NoError(t, err)
			require.Equal(t, store.IdemStarted, outcome)
			res := apptest.Do(t, http.MethodPost, env.AdminURL+path, tn.TestKey, raw, "Idempotency-Key", key)
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			require.Equal(t, "IDEMPOTENCY_KEY_IN_FLIGHT", res.JSON(t)["code"])

			// A claim whose process died (lease over) is taken over by the retry.
			dead := "idem-" + domain.RandomString(10)
			_, _, err = s.BeginIdempotency(ctx, tn.Org.ID, stored(dead), hash, -time.Second, 48*time.Hour)
			require.NoError(t, err)
			res = apptest.Do(t, http.MethodPost, env.AdminURL+path, tn.TestKey, raw, "Idempotency-Key", dead)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
		t.Run("FiftyConcurrentIdenticalRequestsCreateOneCheckout", func(t *testing.T) {
			key := "burst-" + domain.RandomString(10)
			ref := "burst-" + domain.RandomString(6)
			var wg sync.WaitGroup
			statuses := make(chan int, 50)
			bodies := make(chan string, 50)
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := apptest.Do(t, http.MethodPost, url, tn.TestKey, body(ref, 777), "Idempotency-Key", key)
					statuses <- res.Status
					if res.Status == http.StatusOK {
						bodies <- string(res.Body)
					}
				}()
			}
			wg.Wait()
			close(statuses)
			close(bodies)
			for st := range statuses {
				require.Contains(t, []int{http.StatusOK, http.StatusConflict}, st, "only success or in-flight, never 500")
			}
			distinct := map[string]bool{}
			for b := range bodies {
				distinct[b] = true
			}
			require.Len(t, distinct, 1, "every success is the same answer")
			list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: ref, Limit: 100})
			require.NoError(t, err)
			require.Len(t, list, 1, "exactly one checkout")
		})
		if s.Dialect() == store.Postgres { // SQLite runs one writer at a time: no request can hold a key there
			t.Run("AKeyHeldByARequestStillRunningIs409UntilItEnds", func(t *testing.T) {
				// Another request with the key is between its checks and its write (it holds the
				// key's lock) when this one writes: this one writes nothing and answers 409.
				key := "held-" + domain.RandomString(10)
				release := storetest.HoldIdempotencyKey(t, s, tn.Org.ID, stored(key))
				res := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r7", 100), "Idempotency-Key", key)
				release()
				require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
				require.Equal(t, "IDEMPOTENCY_KEY_IN_FLIGHT", res.JSON(t)["code"])
				list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: "r7", Limit: 10})
				require.NoError(t, err)
				require.Empty(t, list, "the refused request wrote nothing")

				first := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r7", 100), "Idempotency-Key", key)
				require.Equal(t, http.StatusOK, first.Status, string(first.Body))
				again := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r7", 100), "Idempotency-Key", key)
				require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
				require.Equal(t, first.Body, again.Body)
			})
		}
		t.Run("AStoredAnswerIsReplayedEvenIfTheRequestWouldNowFail", func(t *testing.T) {
			own := env.NewTenant(t)
			ownURL := env.AdminURL + "/v1/checkouts/" + own.Site.ID + "/create"
			key := "idem-" + domain.RandomString(10)
			first := apptest.Do(t, http.MethodPost, ownURL, own.TestKey, body("r8", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, first.Status, string(first.Body))
			p := *own.Provider
			p.Enabled = false
			require.NoError(t, s.UpdateProvider(ctx, &p))
			fresh := apptest.Do(t, http.MethodPost, ownURL, own.TestKey, body("r8", 100), "Idempotency-Key", "idem-"+domain.RandomString(10))
			require.Equal(t, http.StatusUnprocessableEntity, fresh.Status, "a new request now fails: %s", fresh.Body)
			retry := apptest.Do(t, http.MethodPost, ownURL, own.TestKey, body("r8", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, retry.Status, string(retry.Body))
			require.Equal(t, "true", retry.Header.Get("Idempotent-Replayed"))
			require.Equal(t, first.Body, retry.Body)
		})
		t.Run("AnExpiredRecordIsReplaced", func(t *testing.T) {
			key := "idem-" + domain.RandomString(10)
			require.NoError(t, s.SaveIdempotency(ctx, tn.Org.ID, stored(key), "an-older-request", http.StatusOK, []byte(`{"id":"old"}`), "application/json", -time.Second))
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r9", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Empty(t, res.Header.Get("Idempotent-Replayed"))
			require.NotEqual(t, "old", res.JSON(t)["id"])
			again := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r9", 100), "Idempotency-Key", key)
			require.Equal(t, res.Body, again.Body)
		})
		t.Run("ALiveKeyReusingATestKeysIdempotencyKeyIsAnotherRequest", func(t *testing.T) {
			key := "idem-" + domain.RandomString(10)
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r11", 100), "Idempotency-Key", key).Status)
			// The live key's request runs as its own: the site has no live provider.
			res := apptest.Do(t, http.MethodPost, url, tn.LiveKey, body("r11", 100), "Idempotency-Key", key)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "never the test-mode checkout: %s", res.Body)
			require.Equal(t, domain.CodeNoProvider, res.JSON(t)["code"])
			require.Empty(t, res.Header.Get("Idempotent-Replayed"))
		})
		if s.Dialect() == store.Postgres {
			t.Run("ARetryOfAnAnsweredKeyIsReplayedWhileAnotherRetryHoldsIt", func(t *testing.T) {
				key := "idem-" + domain.RandomString(10)
				first := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r12", 100), "Idempotency-Key", key)
				require.Equal(t, http.StatusOK, first.Status)
				release := storetest.HoldIdempotencyKey(t, s, tn.Org.ID, stored(key))
				retry := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r12", 100), "Idempotency-Key", key)
				release()
				require.Equal(t, http.StatusOK, retry.Status, "the stored answer, not 409: %s", retry.Body)
				require.Equal(t, first.Body, retry.Body)
			})
		}
		t.Run("TheAnswerShowsTheCheckoutAsStored", func(t *testing.T) {
			for _, headers := range [][]string{{"Idempotency-Key", "idem-" + domain.RandomString(10)}, nil} {
				created := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r10", 100), headers...)
				require.Equal(t, http.StatusOK, created.Status, string(created.Body))
				answer := created.JSON(t)
				stored := apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/checkouts/"+answer["id"].(string), tn.TestKey, nil).JSON(t)
				for _, f := range []string{"id", "sessionPublicId", "shortCode", "paymentUrl", "status", "mode", "amount", "items", "metadata", "createdAt", "updatedAt", "expiresAt"} {
					require.Equal(t, stored[f], answer[f], "%s (headers %v)", f, headers)
				}
				at, err := time.Parse(time.RFC3339Nano, answer["createdAt"].(string))
				require.NoError(t, err)
				require.WithinDuration(t, time.Now(), at, time.Minute)
			}
		})
		t.Run("ConcurrentRetriesOfAnExpiredKeyCreateOneCheckout", func(t *testing.T) {
			// Each retry finds the expired record and replaces it: only the first replacement
			// may stand. The race is narrow, so it is run for several keys.
			for round := 0; round < 10; round++ {
				key := "expired-" + domain.RandomString(10)
				ref := "expired-" + domain.RandomString(6)
				require.NoError(t, s.SaveIdempotency(ctx, tn.Org.ID, stored(key), "an-older-request", http.StatusOK, []byte(`{"id":"old"}`), "application/json", -time.Second))
				var wg sync.WaitGroup
				results := make(chan *apptest.Response, 20)
				for i := 0; i < 20; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						results <- apptest.Do(t, http.MethodPost, url, tn.TestKey, body(ref, 555), "Idempotency-Key", key)
					}()
				}
				wg.Wait()
				close(results)
				distinct := map[string]bool{}
				for res := range results {
					require.Contains(t, []int{http.StatusOK, http.StatusConflict}, res.Status, string(res.Body))
					if res.Status == http.StatusOK {
						distinct[string(res.Body)] = true
					}
				}
				require.Len(t, distinct, 1, "every success is the same answer")
				list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: ref, Limit: 100})
				require.NoError(t, err)
				require.Len(t, list, 1, "exactly one checkout")
			}
		})
		t.Run("BadKeyIs400", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, url, tn.TestKey, body("r6", 100), "Idempotency-Key", strings.Repeat("k", 256))
			require.Equal(t, http.StatusBadRequest, res.Status)
		})
	})
}

func TestCheckoutLifecycleAndListing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		create := env.AdminURL + "/api/v1/checkouts/" + tn.Site.ID + "/create"
		var ids []string
		for i := 0; i < 5; i++ {
			res := apptest.Do(t, http.MethodPost, create, tn.TestKey, map[string]any{"amount": 100 + i, "currency": "EUR", "externalReference": fmt.Sprintf("list-%d", i)})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			ids = append(ids, res.JSON(t)["id"].(string))
		}
		t.Run("NULOrBadUTF8InAPathOrQueryIsNotA500", func(t *testing.T) {
			for _, c := range []struct{ method, path string }{
				{http.MethodGet, "/v1/checkouts/%00"},
				{http.MethodGet, "/v1/checkouts/chk_%C3%28"},
				{http.MethodGet, "/v1/checkouts?externalReference=%00"},
				{http.MethodGet, "/v1/checkouts?siteId=%C3%28"},
				{http.MethodPost, "/v1/checkouts/%00/create"},
				{http.MethodPost, "/v1/checkouts/%C3%28/create"},
			} {
				var body any
				if c.method == http.MethodPost {
					body = map[string]any{"amount": 100, "currency": "EUR", "externalReference": "nul-path"}
				}
				res := apptest.Do(t, c.method, env.AdminURL+c.path, tn.TestKey, body)
				require.Contains(t, []int{http.StatusOK, http.StatusBadRequest, http.StatusNotFound}, res.Status, "%s %s: %s", c.method, c.path, res.Body)
				if res.Status == http.StatusOK {
					require.Empty(t, res.JSON(t)["data"], "%s %s", c.method, c.path)
				}
			}
		})
		page := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=2", tn.TestKey, nil).JSON(t)
		require.Equal(t, true, page["hasMore"])
		data := page["data"].([]any)
		require.Len(t, data, 2)
		require.Equal(t, ids[4], data[0].(map[string]any)["id"], "newest first")
		next := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=2&startingAfter="+page["nextCursor"].(string), tn.TestKey, nil).JSON(t)
		require.Equal(t, ids[2], next["data"].([]any)[0].(map[string]any)["id"])
		require.Nil(t, page["previousCursor"], "nothing is newer than the first page")
		require.Equal(t, ids[2], next["previousCursor"], "a page after another has one before it")
		third := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=2&startingAfter="+next["nextCursor"].(string), tn.TestKey, nil).JSON(t)
		require.Equal(t, false, third["hasMore"])
		require.Equal(t, []any{ids[0]}, pageIDs(third))
		back := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=2&endingBefore="+third["previousCursor"].(string), tn.TestKey, nil).JSON(t)
		require.Equal(t, []any{ids[2], ids[1]}, pageIDs(back), "Previous: the page before, newest first")
		require.Equal(t, true, back["hasMore"])
		require.Equal(t, ids[1], back["nextCursor"])
		require.Equal(t, ids[2], back["previousCursor"], "newer checkouts come before it still")
		top := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=2&endingBefore="+back["previousCursor"].(string), tn.TestKey, nil).JSON(t)
		require.Equal(t, []any{ids[4], ids[3]}, pageIDs(top), "back to the first page")
		require.Nil(t, top["previousCursor"], "nothing is newer")
		both := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?startingAfter="+ids[3]+"&endingBefore="+ids[1], tn.TestKey, nil)
		require.Equal(t, http.StatusBadRequest, both.Status)
		require.Equal(t, "VALIDATION_ERROR", both.JSON(t)["code"], string(both.Body))
		require.Equal(t, "endingBefore", both.JSON(t)["field"], string(both.Body))
		require.Equal(t, http.StatusBadRequest, apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?endingBefore=txn_x", tn.TestKey, nil).Status,
			"a cursor of another list")
		byRef := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?externalReference=list-3&status=open&mode=test&siteId="+tn.Site.ID, tn.TestKey, nil).JSON(t)
		require.Len(t, byRef["data"], 1)
		require.Equal(t, http.StatusBadRequest, apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?limit=101", tn.TestKey, nil).Status)
		require.Equal(t, http.StatusBadRequest, apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts?createdFrom=yesterday", tn.TestKey, nil).Status)

		got := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/checkouts/"+ids[0], tn.TestKey, nil)
		require.Equal(t, http.StatusOK, got.Status)
		require.Equal(t, "list-0", got.JSON(t)["externalReference"])

		patched := apptest.Do(t, http.MethodPatch, env.AdminURL+"/api/v1/checkouts/"+ids[0], tn.TestKey, map[string]any{"metadata": map[string]any{"orderKey": "wc_1"}, "expiresInMinutes": 2 * 24 * 60})
		require.Equal(t, http.StatusOK, patched.Status, string(patched.Body))
		require.Equal(t, "wc_1", patched.JSON(t)["metadata"].(map[string]any)["orderKey"])

		expired := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/checkouts/"+ids[0]+"/expire", tn.TestKey, nil)
		require.Equal(t, http.StatusOK, expired.Status, string(expired.Body))
		require.Equal(t, "expired", expired.JSON(t)["status"])
		again := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/checkouts/"+ids[0]+"/expire", tn.TestKey, nil)
		require.Equal(t, http.StatusConflict, again.Status)
		extend := apptest.Do(t, http.MethodPatch, env.AdminURL+"/api/v1/checkouts/"+ids[0], tn.TestKey, map[string]any{"expiresInMinutes": 60})
		require.Equal(t, http.StatusConflict, extend.Status, "an ended checkout cannot be extended")
	})
}

// pageIDs lists the ids of a list answer's data.
func pageIDs(page map[string]any) []any {
	var out []any
	for _, d := range page["data"].([]any) {
		out = append(out, d.(map[string]any)["id"])
	}
	return out
}
