package panel

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// clientForm is the form that creates or edits a client, as typed: e-mail, name, company,
// phone, billing address and VAT id (and, for a new client, its mode). It goes through the same
// use cases as the Admin API (pkg/client: validated, written with its audit entry).
type clientForm struct {
	formState
	ID, Mode                                    string
	Email, Name, Company, Phone, VATID          string
	Address1, Address2, Postcode, City, Country string
	// Client is the client edited (nil for a new one).
	Client *domain.Client
}

func (f *clientForm) title() string {
	if f.Client == nil {
		return "New client"
	}
	return "Edit client " + f.Client.Email
}

// clientFormOf is the edit form filled with a client's values.
func clientFormOf(c *domain.Client) *clientForm {
	f := &clientForm{ID: c.ID, Mode: string(c.Mode), Email: c.Email, Name: c.Name, Company: c.Company, VATID: c.VATID, Client: c}
	if a := c.BillingAddress; a != nil {
		f.Address1, f.Address2, f.Postcode, f.City, f.Country, f.Phone = a.Address1, a.Address2, a.Postcode, a.City, a.Country, a.Phone
	}
	return f
}

// bind reads the posted form (the field names are the Admin API's, so that its errors land
// beside their fields).
func (f *clientForm) bind(c echo.Context) {
	v := form(c)
	f.Email, f.Name, f.Company, f.VATID = trimmed(v, "email"), trimmed(v, "name"), trimmed(v, "company"), trimmed(v, "vatId")
	f.Address1, f.Address2 = trimmed(v, "billingAddress.address1"), trimmed(v, "billingAddress.address2")
	f.Postcode, f.City = trimmed(v, "billingAddress.postcode"), trimmed(v, "billingAddress.city")
	f.Country, f.Phone = strings.ToUpper(trimmed(v, "billingAddress.country")), trimmed(v, "billingAddress.phone")
	if f.Client == nil {
		f.Mode = v.Get("mode")
	}
}

// input is the use case's input: every field for a new client, only the changed ones for an
// edit (the audit entry then names what changed). The address keeps the parts the form does
// not show (a checkout's first and last name, region ...).
func (f *clientForm) input() domain.ClientInput {
	var cur domain.Client
	if f.Client != nil {
		cur = *f.Client
	}
	var addr domain.Address
	if cur.BillingAddress != nil {
		addr = *cur.BillingAddress
	}
	old := addr
	addr.Address1, addr.Address2, addr.Postcode, addr.City, addr.Country, addr.Phone = f.Address1, f.Address2, f.Postcode, f.City, f.Country, f.Phone
	var in domain.ClientInput
	changed := func(now, was string) *string {
		if f.Client != nil && now == was {
			return nil
		}
		return &now
	}
	in.Email, in.Name, in.Company = changed(f.Email, cur.Email), changed(f.Name, cur.Name), changed(f.Company, cur.Company)
	in.VATID = changed(domain.NormalizeVATID(f.VATID), cur.VATID)
	if f.Client == nil || addr != old {
		in.BillingAddress = &addr
	}
	return in
}

// clientNames are the platform's field names in the form's words.
var clientNames = strings.NewReplacer(
	"billingAddress.country must be an ISO 3166 alpha-2 code", "the country must be a two-letter country code like DE",
	"billingAddress.address1", "the address", "billingAddress.address2", "the second address line",
	"billingAddress.postcode", "the postcode", "billingAddress.city", "the city", "billingAddress.phone", "the phone number",
	"vatId", "the VAT id", "email must", "the e-mail address must", "email is required", "the e-mail address is required",
	"company must", "the company must", "name must", "the name must", "mode must", "the mode must")

// clientFailed shows the form again with every complaint beside its field; an e-mail another
// client of the mode has is the e-mail field's. Other errors (403, 404 ...) become an error page.
func (p *Panel) clientFailed(c echo.Context, r *request, f *clientForm, err error) error {
	shown := reworded(err, clientNames)
	if domain.ErrorCode(err) == domain.CodeClientEmailTaken {
		taken := domain.Invalid("email", "Another client of %s mode has this e-mail address", f.Mode)
		taken.Kind, taken.Code = domain.KindConflict, domain.CodeClientEmailTaken
		shown = taken
	}
	st, status, ok := formFailure(shown, nil)
	if !ok {
		return err
	}
	f.formState = *st
	return p.render(c, r, status, "client_form", f.title(), "clients", f)
}

// clientNew shows the form for a new client (editor and up).
func (p *Panel) clientNew(c echo.Context, r *request) error {
	if err := authorize(r, "client:create"); err != nil {
		return err
	}
	f := &clientForm{Mode: string(domain.ModeTest)}
	return p.render(c, r, http.StatusOK, "client_form", f.title(), "clients", f)
}

// clientCreate creates a client through the Admin API's use case (editor and up).
func (p *Panel) clientCreate(c echo.Context, r *request) error {
	if err := authorize(r, "client:create"); err != nil {
		return err
	}
	f := &clientForm{}
	f.bind(c)
	cl, err := p.d.Client.CreateClient(c.Request().Context(), r.Actor, r.OrgID(), domain.Mode(f.Mode), f.input())
	if err != nil {
		return p.clientFailed(c, r, f, err)
	}
	return seeOther(c, "/clients/"+cl.ID, "client-created")
}

// clientEdit shows the form that edits a client (editor and up).
func (p *Panel) clientEdit(c echo.Context, r *request) error {
	if err := authorize(r, "client:update"); err != nil {
		return err
	}
	cl, err := p.d.Client.GetClient(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f := clientFormOf(cl)
	return p.render(c, r, http.StatusOK, "client_form", f.title(), "clients", f)
}

// clientUpdate saves the changed fields of a client (editor and up).
func (p *Panel) clientUpdate(c echo.Context, r *request) error {
	if err := authorize(r, "client:update"); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cl, err := p.d.Client.GetClient(ctx, r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		return err
	}
	f := clientFormOf(cl)
	f.bind(c)
	if _, err := p.d.Client.UpdateClient(ctx, r.Actor, r.OrgID(), cl.ID, f.input()); err != nil {
		return p.clientFailed(c, r, f, err)
	}
	return seeOther(c, "/clients/"+cl.ID, "client-saved")
}
