package domain

import (
	"net/mail"
	"strings"
	"time"
)

// Organization is a tenant. Every tenant-owned row carries its id.
type Organization struct {
	ID           string `gorm:"primaryKey"`
	Name         string
	SupportEmail string
	// Tax settings used by the tax engine.
	SellerCountry    string
	PricesIncludeTax bool
	OSSRegistered    bool
	// BlockCheckoutsOnDispute refuses new checkouts for a client with an unresolved dispute
	// (409 CHECKOUT_BLOCKED_BY_DISPUTE).
	BlockCheckoutsOnDispute bool
	// DataKey is the organisation's data-encryption key, wrapped by the master key.
	DataKey   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName tells the store which table holds organisations.
func (Organization) TableName() string { return "organizations" }

// Validate checks an organisation's editable fields. Every invalid field is reported: the
// first as the error, the others in its Also.
func (o *Organization) Validate() error {
	var v Invalids
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" || len(o.Name) > 200 {
		v.Add("name", "name is required (at most 200 characters)")
	}
	if o.SupportEmail != "" {
		_ = v.Collect(ValidateEmail("supportEmail", o.SupportEmail)) // only ever a field's error
	}
	if o.SellerCountry != "" && !IsCountryCode(o.SellerCountry) {
		v.Add("sellerCountry", "sellerCountry must be an ISO 3166 alpha-2 code")
	}
	return v.Err()
}

// Role is a member's role in an organisation.
type Role string

// Roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"  // manages sites, providers, keys and users
	RoleEditor Role = "editor" // creates checkouts and refunds
	RoleViewer Role = "viewer" // reads
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleEditor || r == RoleViewer }

// rank orders roles so that a higher role includes the lower ones.
func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleEditor:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r includes the permissions of min.
func (r Role) AtLeast(min Role) bool { return r.rank() >= min.rank() && r.rank() > 0 }

// User is a person who signs in to the dashboard.
type User struct {
	ID                string `gorm:"primaryKey"`
	Email             string
	Name              string
	PasswordHash      string
	PlatformAdmin     bool
	FailedLogins      int
	LockedUntil       *time.Time
	LastLoginAt       *time.Time
	PasswordChangedAt *time.Time
	// SessionVersion goes up when the user signs out: sessions issued at an older one end.
	SessionVersion int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName tells the store which table holds users.
func (User) TableName() string { return "users" }

// Membership puts a user in an organisation with a role.
type Membership struct {
	OrganizationID string `gorm:"primaryKey"`
	UserID         string `gorm:"primaryKey"`
	Role           Role
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// TableName tells the store which table holds memberships.
func (Membership) TableName() string { return "memberships" }

// ValidateEmail checks an e-mail address's syntax (a bare address, no display name).
func ValidateEmail(field, s string) error {
	if len(s) > 254 {
		return Invalid(field, "%s must be at most 254 characters", field)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return Invalid(field, "%s must be a valid e-mail address", field)
	}
	return nil
}

// NormalizeEmail lower-cases and trims an address for lookups.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
