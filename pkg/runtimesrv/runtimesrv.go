// Package runtimesrv serves the checkout runtime API on the main backend (API-CONTRACT.md
// section 5): what the hosted page reads and does. It needs no API key — the short code,
// session id and transaction id are the capabilities — is rate-limited per client IP, and
// answers cross-origin requests only from the main frontend's origin(s).
package runtimesrv

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/money"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/tax"
)

// Server is the runtime API.
type Server struct {
	svc      *payment.Service // the runtime use cases (the hosted page's checkout and its attempts)
	log      *slog.Logger
	origins  []string
	limit    ratelimit.Limiter
	internal string
}

// New builds the runtime API; origins may call it from a browser; ratePerIP is requests per
// second per client address (burst: twice that), counted by limits (nil: in process).
func New(svc *payment.Service, log *slog.Logger, origins []string, ratePerIP int, limits ratelimit.Limits) *Server {
	if ratePerIP <= 0 {
		ratePerIP = 20
	}
	if limits == nil {
		limits = ratelimit.NewLocal()
	}
	return &Server{svc: svc, log: log, origins: origins, limit: limits.New("runtime", ratelimit.PerSecond(ratePerIP, 2*ratePerIP))}
}

// syncOf is how to ask a transaction's provider for its state (nil: it cannot be asked, as a
// wire transfer): the service's provider of that type, if it is a providers.Syncer. The hosted
// page asks for it (GET .../status?sync=1) when the buyer comes back from the provider, so the
// outcome shows at once even before the provider's webhook arrives.
func (s *Server) syncOf(t domain.ProviderType) func(context.Context, *domain.Transaction) error {
	if sy, ok := s.svc.Providers()[t].(providers.Syncer); ok {
		return sy.Sync
	}
	return nil
}

// TrustInternal makes requests carrying this token (the main frontend's server-side calls)
// count against the buyer address they forward rather than the frontend's.
func (s *Server) TrustInternal(token string) { s.internal = token }

// Register mounts the routes under /api/v1.
func (s *Server) Register(e *echo.Echo) {
	g := e.Group("/api/v1", s.cors, s.rateLimit, s.tenantHeaders)
	g.GET("/checkouts/:id", s.getCheckout)
	g.POST("/checkouts/:id/tax-preview", s.taxPreview)
	g.POST("/transactions/create", s.createTransaction)
	g.GET("/transactions/:id/status", s.status)
	g.POST("/transactions/:id/cancel", s.cancel)
	g.POST("/transactions/:id/mark-pending", s.markPending)
	for _, p := range []string{"/checkouts/:id", "/checkouts/:id/tax-preview", "/transactions/create", "/transactions/:id/status",
		"/transactions/:id/cancel", "/transactions/:id/mark-pending"} {
		g.OPTIONS(p, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	}
}

// Route adds another runtime route (provider-specific steps such as GoCardless billing requests).
func (s *Server) Route(e *echo.Echo, method, path string, h echo.HandlerFunc) {
	e.Group("/api/v1", s.cors, s.rateLimit, s.tenantHeaders).Add(method, path, h)
}

// RegisterProviders mounts every provider's own runtime routes (providers.Extras.Routes).
func (s *Server) RegisterProviders(e *echo.Echo, set providers.Set) {
	for _, t := range set.Types() {
		for _, r := range set[t].Extras().Routes {
			s.Route(e, r.Method, r.Path, r.Handler)
			s.Route(e, http.MethodOptions, r.Path, func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		}
	}
}

// cors answers preflights and tags answers for the allowed origins only.
func (s *Server) cors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		origin := c.Request().Header.Get("Origin")
		if origin != "" && slices.Contains(s.origins, origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Request-ID")
			h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
			h.Set("Access-Control-Max-Age", "600")
		} else if origin != "" && c.Request().Method == http.MethodOptions {
			return c.NoContent(http.StatusForbidden)
		}
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.RealIP()
		if tok := c.Request().Header.Get(runtimeapi.HeaderInternalToken); s.internal != "" && tok != "" {
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.internal)) != 1 {
				return &domain.Error{Kind: domain.KindUnauthorized, Code: domain.CodeUnauthorized, Message: "bad internal token"}
			}
			if ip := c.Request().Header.Get(runtimeapi.HeaderClientIP); ip != "" {
				key = "buyer:" + ip
			}
		}
		if ok, wait := s.limit.Allow(c.Request().Context(), key); !ok {
			return &httpapi.RetryAfterError{Seconds: httpapi.RetryAfterSeconds(wait), Message: "too many requests from this address; slow down"}
		}
		return next(c)
	}
}

// tenantHeaders tells the main frontend, and only it (the caller with the internal token),
// the organisation and site the request turned out to concern, in response headers, so that
// its own log lines for the page name them too; buyers' browsers never see them.
func (s *Server) tenantHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		tok := c.Request().Header.Get(runtimeapi.HeaderInternalToken)
		if s.internal != "" && tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.internal)) == 1 {
			ctx := c.Request().Context()
			c.Response().Before(func() {
				org, site := logging.Tenant(ctx)
				if org != "" {
					c.Response().Header().Set(runtimeapi.HeaderOrgID, org)
				}
				if site != "" {
					c.Response().Header().Set(runtimeapi.HeaderSiteID, site)
				}
			})
		}
		return next(c)
	}
}

func (s *Server) getCheckout(c echo.Context) error {
	ctx := c.Request().Context()
	rc, err := s.svc.PageCheckout(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	// A page reloaded after the buyer started paying shows the tax of that payment.
	res, ok := tax.Result{}, false
	if rc.Transaction != nil {
		res, ok = payment.TransactionTax(rc.Checkout, rc.Transaction)
	}
	if !ok {
		var err error
		if res, err = s.svc.TaxFor(ctx, rc.Organization, rc.Site, rc.Checkout, domain.BillingDetails{}); err != nil {
			return err
		}
	}
	v := CheckoutView(rc, res, s.svc.Now())
	if v.CancelURL, err = s.svc.CancelURL(ctx, rc.Checkout); err != nil {
		s.log.WarnContext(ctx, "cancel URL", "error", err)
		v.CancelURL = rc.Checkout.CancelURL
	}
	if rc.Transaction != nil {
		st, err := s.statusView(ctx, &payment.RuntimeTransaction{Transaction: rc.Transaction, Checkout: rc.Checkout, Provider: rc.Provider})
		if err != nil {
			return err
		}
		v.Transaction = st
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) taxPreview(c echo.Context) error {
	var in runtimeapi.TaxPreviewRequest
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	rc, err := s.svc.PageCheckout(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	b := payment.Buyer{BillingDetails: billingDetails(in.BillingAddress)}
	if err := b.Validate(); err != nil {
		return err
	}
	res, err := s.svc.TaxFor(ctx, rc.Organization, rc.Site, rc.Checkout, b.BillingDetails)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, TaxView(res, rc.Checkout.Currency))
}

func billingDetails(a runtimeapi.BuyerAddress) domain.BillingDetails {
	pc := a.PostalCode
	if pc == "" {
		pc = a.Postcode
	}
	return domain.BillingDetails{Name: a.Name, Email: a.Email, Company: a.Company, Line1: a.Line1, Line2: a.Line2, City: a.City,
		PostalCode: pc, Country: a.Country, VATID: a.VATID}
}

func (s *Server) createTransaction(c echo.Context) error {
	var in runtimeapi.CreateTransactionRequest
	if _, err := httpapi.ReadJSON(c, &in); err != nil {
		return err
	}
	if in.SessionPublicID == "" || in.ProviderID == "" {
		return domain.Invalid("providerId", "sessionPublicId and providerId are required")
	}
	started, err := s.svc.StartTransaction(c.Request().Context(), payment.StartInput{SessionPublicID: in.SessionPublicID, ProviderID: in.ProviderID, ShortCode: in.ShortCode,
		Language: in.Language, Buyer: payment.Buyer{BillingDetails: billingDetails(in.BillingAddress)}})
	if err != nil {
		return err
	}
	t := started.Transaction
	return c.JSON(http.StatusOK, runtimeapi.CreateTransactionResponse{
		TransactionID: t.ID, Status: string(t.Status), ProviderType: string(t.ProviderType), Amount: t.GrossAmount, Currency: t.Currency,
		Tax: *TaxView(started.Tax, t.Currency), Next: started.Result.Next,
	})
}

func (s *Server) status(c echo.Context) error {
	ctx := c.Request().Context()
	rt, err := s.svc.RuntimeTransaction(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if sync := s.syncOf(rt.Transaction.ProviderType); sync != nil && c.QueryParam("sync") == "1" && rt.Transaction.Status.Open() {
		if err := sync(ctx, rt.Transaction); err != nil {
			s.log.WarnContext(ctx, "provider sync failed; answering from the database", "transaction_id", rt.Transaction.ID, "error", err)
		} else if rt, err = s.svc.RuntimeTransaction(ctx, c.Param("id")); err != nil {
			return err
		}
	}
	v, err := s.statusView(ctx, rt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// markPending records that the buyer says they paid. For a provider we can ask (Stripe,
// GoCardless) the buyer's word is not enough: the provider is asked instead, and only what it
// reports moves the transaction. A wire transfer can only be taken at the buyer's word.
func (s *Server) markPending(c echo.Context) error {
	ctx := c.Request().Context()
	rt, err := s.svc.RuntimeTransaction(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	if sync := s.syncOf(rt.Transaction.ProviderType); sync != nil {
		if rt.Transaction.Status.Open() {
			if err := sync(ctx, rt.Transaction); err != nil {
				return domain.Unavailable(domain.CodeProviderError, err, "the payment provider could not be reached; try again")
			}
		}
		// Note the buyer's return once the provider agrees the buyer finished there.
		if err := s.svc.NoteBuyerReturn(ctx, rt.Transaction.ID); err != nil {
			return err
		}
		return s.status(c)
	}
	if _, err := s.svc.MarkPendingByBuyer(ctx, c.Param("id")); err != nil {
		return err
	}
	return s.status(c)
}

func (s *Server) cancel(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := s.svc.CancelByBuyer(ctx, c.Param("id")); err != nil {
		return err
	}
	return s.status(c)
}

// statusView is what the page polls: the status, wire instructions while waiting, and the
// return URL once the buyer may go back to the shop.
func (s *Server) statusView(ctx context.Context, rt *payment.RuntimeTransaction) (*runtimeapi.TransactionStatus, error) {
	t, ch := rt.Transaction, rt.Checkout
	v := &runtimeapi.TransactionStatus{TransactionID: t.ID, SessionPublicID: ch.SessionPublicID, Status: string(t.Status), CheckoutStatus: string(ch.EffectiveStatus(s.svc.Now())),
		ProviderType: string(t.ProviderType), Amount: t.GrossAmount, Currency: t.Currency, BuyerMarkedPending: t.BuyerMarkedPending != nil,
		FailureMessage: t.FailureMessage}
	if t.ProviderType == domain.ProviderWireTransfer && t.Status.Open() && t.PaymentReference != nil {
		v.Wire = wire.Instructions(rt.Provider, t, *t.PaymentReference)
	}
	if t.Status.Paid() || t.Status == domain.TxnRefunded || t.Status == domain.TxnPendingProvider {
		u, err := s.svc.ReturnURL(ctx, ch, t)
		if err != nil {
			s.log.WarnContext(ctx, "return URL", "error", err)
		}
		v.ReturnURL = u
		v.LeaveOnPending = u != "" && s.svc.ReturnsOnPending(ch, t)
	}
	return v, nil
}

// CheckoutView renders what the hosted page shows. Addressed by the sessionPublicId (not the
// short code) it leaves out the buyer's personal data and the short code that would show it.
func CheckoutView(rc *payment.RuntimeCheckout, res tax.Result, now time.Time) *runtimeapi.Checkout {
	c, site := rc.Checkout, rc.Site
	if !rc.ByShortCode {
		c = payment.WithoutBuyer(c)
	}
	cur, _ := money.Lookup(c.Currency)
	v := &runtimeapi.Checkout{
		ID: c.ID, SessionPublicID: c.SessionPublicID, ShortCode: c.ShortCode, Status: string(c.EffectiveStatus(now)), Mode: string(c.Mode),
		Amount: c.Amount, Currency: c.Currency, CurrencyExponent: cur.Exponent, Email: c.Email, ExternalReference: c.ExternalReference,
		InvoiceNumber: c.InvoiceNumber, Language: c.Language, ExpiresAt: c.ExpiresAt, CancelURL: c.CancelURL, HasReturnURL: c.ReturnURL != "",
		Site: runtimeapi.Site{Name: site.Name, LogoURL: site.LogoURL, PrimaryColor: site.PrimaryColor, TaxDisplay: string(site.TaxDisplay),
			VATIDValidation: string(site.VATIDValidation), DefaultLanguage: site.DefaultLanguage, FrameAncestors: site.FrameAncestors,
			SupportEmail: rc.Organization.SupportEmail},
		VATIDValidation: string(site.VATIDValidation), Tax: *TaxView(res, c.Currency), Items: []runtimeapi.Item{}, Providers: []runtimeapi.Provider{},
	}
	if c.BillingAddress != nil {
		a := *c.BillingAddress
		v.BillingAddress = &a
	}
	if c.ShippingAddress != nil {
		a := *c.ShippingAddress
		v.ShippingAddress = &a
	}
	for _, it := range c.Items {
		iv := runtimeapi.Item{Name: it.Name, Description: it.Description, Quantity: it.Quantity, UnitPrice: it.UnitPrice, Total: it.Total(), ItemType: string(it.ItemType)}
		if it.VATRate != nil {
			r := tax.Rate(*it.VATRate)
			iv.VATRate = &r
		}
		v.Items = append(v.Items, iv)
	}
	for _, p := range rc.Providers {
		v.Providers = append(v.Providers, runtimeapi.Provider{ID: p.ID, Type: string(p.Type), Name: p.Name, Countries: p.Availability.Countries})
	}
	if site.DefaultProviderID != nil {
		for _, p := range rc.Providers {
			if p.ID == *site.DefaultProviderID {
				v.DefaultProviderID = p.ID
			}
		}
	}
	if v.DefaultProviderID == "" && len(v.Providers) > 0 {
		v.DefaultProviderID = v.Providers[0].ID
	}
	if !rc.ByShortCode {
		v.ShortCode = ""
	}
	return v
}

// TaxView renders a tax result as the contract's tax preview.
func TaxView(res tax.Result, currency string) *runtimeapi.TaxPreview {
	v := &runtimeapi.TaxPreview{TaxIncluded: res.TaxIncluded, TotalNet: res.TotalNet, TotalTax: res.TotalTax, TotalGross: res.TotalGross,
		TaxBreakdown: []runtimeapi.TaxLine{}, Treatment: string(res.Treatment), VATIDStatus: string(res.Evidence.VATIDStatus), Lines: []runtimeapi.LineTax{},
		Currency: currency}
	for _, b := range res.Breakdown {
		v.TaxBreakdown = append(v.TaxBreakdown, runtimeapi.TaxLine{TaxRate: b.Rate, TaxRateCode: b.RateCode, TaxableBase: b.TaxableBase, TaxAmount: b.TaxAmount})
	}
	for _, l := range res.Lines {
		v.Lines = append(v.Lines, runtimeapi.LineTax{Net: l.Net, Tax: l.Tax, Gross: l.Gross, TaxRate: l.Rate})
	}
	return v
}
