package tenancy

import (
	"context"
	"fmt"
	"strings"

	"paygate.dev/pkg/domain"
)

// Demo is what SeedDemo created, with the secrets shown this once.
type Demo struct {
	AdminEmail    string
	AdminPassword string
	Organization  domain.Organization
	Site          domain.Site
	Provider      domain.Provider
	APIKey        string
	WebhookSecret string
}

// SeedDemo creates, on an empty database only, a platform administrator, a demo organisation,
// a site with a wire-transfer provider and a test API key. It returns nil when the database
// already holds an organisation (nothing is created and no secret is printed again).
//
// Several processes may start on the same empty database at once (two replicas): the check and
// the creation run in one transaction under a setup lock, so one of them creates the demo and
// the others, once it has committed, find it and return nil.
func (s *Service) SeedDemo(ctx context.Context) (*Demo, error) {
	var d *Demo
	err := s.InTx(ctx, func(tx *Service) error {
		if err := tx.store.LockForSetup(ctx, "demo"); err != nil {
			return err
		}
		n, err := tx.store.CountOrganizations(ctx)
		if err != nil || n > 0 {
			return err
		}
		d, err = tx.seedDemo(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (s *Service) seedDemo(ctx context.Context) (*Demo, error) {
	sys := domain.SystemActor("")
	d := &Demo{AdminEmail: "admin@example.com", AdminPassword: domain.RandomString(16)}
	admin, err := s.CreateUser(ctx, sys, CreateUserInput{Email: d.AdminEmail, Name: "Demo Admin", Password: d.AdminPassword, PlatformAdmin: true})
	if err != nil {
		return nil, fmt.Errorf("create demo admin: %w", err)
	}
	name, country, incl, oss := "Demo Organisation", "DE", true, true
	email := "support@example.com"
	org, err := s.CreateOrganization(ctx, sys, OrganizationInput{Name: &name, SupportEmail: &email, SellerCountry: &country, PricesIncludeTax: &incl, OSSRegistered: &oss})
	if err != nil {
		return nil, fmt.Errorf("create demo organisation: %w", err)
	}
	if err := s.store.AddMembership(ctx, &domain.Membership{OrganizationID: org.ID, UserID: admin.ID, Role: domain.RoleAdmin}); err != nil {
		return nil, err
	}
	actor := domain.SystemActor(org.ID)
	pname := "Bank transfer"
	prov, err := s.CreateProvider(ctx, actor, org.ID, ProviderInput{Type: string(domain.ProviderWireTransfer), Mode: string(domain.ModeTest), Name: &pname,
		Settings: map[string]string{"bankName": "Demo Bank AG", "accountHolder": "Demo Shop GmbH", "iban": "DE89370400440532013000", "bic": "COBADEFFXXX",
			"instructions": "Please use the payment reference exactly as shown so we can match your transfer."}})
	if err != nil {
		return nil, fmt.Errorf("create demo provider: %w", err)
	}
	sname, color := "Demo Shop", "#4f46e5"
	hosts := []string{"localhost", "127.0.0.1", "example.com", "*.example.com"}
	ids := []string{prov.ID}
	site, secret, err := s.CreateSite(ctx, actor, org.ID, SiteInput{Name: &sname, PrimaryColor: &color, AllowedHosts: &hosts, ProviderIDs: &ids, DefaultProviderID: &prov.ID})
	if err != nil {
		return nil, fmt.Errorf("create demo site: %w", err)
	}
	_, token, err := s.CreateAPIKey(ctx, actor, org.ID, APIKeyInput{Name: "Demo key", Mode: string(domain.ModeTest), Scopes: []string{"*:*"}})
	if err != nil {
		return nil, fmt.Errorf("create demo key: %w", err)
	}
	d.Organization, d.Site, d.Provider, d.APIKey, d.WebhookSecret = *org, *site, *prov, token, secret
	return d, nil
}

// Banner renders the demo's credentials for the terminal, with a curl that creates a checkout.
func (d *Demo) Banner(adminURL string) string {
	var b strings.Builder
	line := strings.Repeat("=", 78)
	fmt.Fprintf(&b, "\n%s\n  Demo created. These secrets are shown ONCE; copy them now.\n%s\n", line, line)
	fmt.Fprintf(&b, "  Admin Panel:        %s/login\n", adminURL)
	fmt.Fprintf(&b, "  Platform admin:     %s\n", d.AdminEmail)
	fmt.Fprintf(&b, "  Password:           %s\n", d.AdminPassword)
	fmt.Fprintf(&b, "  Organisation:       %s (%s)\n", d.Organization.Name, d.Organization.ID)
	fmt.Fprintf(&b, "  Site:               %s (%s)\n", d.Site.Name, d.Site.ID)
	fmt.Fprintf(&b, "  IPN signing secret: %s\n", d.WebhookSecret)
	fmt.Fprintf(&b, "  API key (test):     %s\n\n", d.APIKey)
	fmt.Fprintf(&b, "  Create a checkout:\n\n")
	fmt.Fprintf(&b, "  curl -sS -X POST %s/v1/checkouts/%s/create \\\n", adminURL, d.Site.ID)
	fmt.Fprintf(&b, "    -H 'Authorization: Bearer %s' \\\n", d.APIKey)
	fmt.Fprintf(&b, "    -H 'Content-Type: application/json' \\\n")
	fmt.Fprintf(&b, "    -d '{\"amount\": 2499, \"currency\": \"EUR\", \"email\": \"buyer@example.com\", \"externalReference\": \"order-1001\",\n")
	fmt.Fprintf(&b, "         \"returnUrl\": \"https://example.com/thanks?tx={transactionId}\", \"cancelUrl\": \"https://example.com/cart\",\n")
	fmt.Fprintf(&b, "         \"items\": [{\"name\": \"T-shirt\", \"quantity\": 1, \"unitPrice\": 2499, \"itemType\": \"goods\"}]}'\n")
	fmt.Fprintf(&b, "%s\n", line)
	return b.String()
}
