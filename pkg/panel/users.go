package panel

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

type inviteForm struct {
	formState
	Email, Role string
}

type usersData struct {
	Members []domain.Member
	Roles   []domain.Role
	Form    inviteForm
	// Invited is the address just invited; Link its one-time link, shown in development (where
	// the development mailer sends nothing) and when no e-mail went out (MAIL_DISABLED, or the
	// mail server refused it), so that the administrator can pass it on. Mailed says it went out.
	Invited string
	Link    string
	Mailed  bool
	// Existing says the address already had an account: no link is needed.
	Existing bool
	// RowError is an error about one member's row (changing the last administrator's role).
	RowError string
}

func (d *usersData) alert() string {
	if d.RowError != "" {
		return d.RowError
	}
	return d.Form.alert()
}

func (p *Panel) usersPage(c echo.Context, r *request, d *usersData, status int) error {
	members, err := p.d.Tenancy.ListMembers(c.Request().Context(), r.Actor, r.OrgID())
	if err != nil {
		return err
	}
	d.Members, d.Roles = members, []domain.Role{domain.RoleViewer, domain.RoleEditor, domain.RoleAdmin}
	if d.Form.Role == "" {
		d.Form.Role = string(domain.RoleViewer)
	}
	return p.render(c, r, status, "users", "Users", "users", d)
}

// users lists the organisation's members and, for admins, the invite form.
func (p *Panel) users(c echo.Context, r *request) error {
	return p.usersPage(c, r, &usersData{}, http.StatusOK)
}

// userInvite adds a person with a role; a new address gets a one-time link to choose a
// password (admin).
func (p *Panel) userInvite(c echo.Context, r *request) error {
	d := &usersData{Form: inviteForm{Email: strings.TrimSpace(c.FormValue("email")), Role: c.FormValue("role")}}
	inv, err := p.d.Tenancy.InviteMember(c.Request().Context(), r.Actor, r.OrgID(), d.Form.Email, domain.Role(d.Form.Role))
	if err != nil {
		st, status, ok := formFailure(err, nil)
		if !ok {
			return err
		}
		d.Form.formState = *st
		return p.usersPage(c, r, d, status)
	}
	d.Invited, d.Mailed, d.Existing = inv.User.Email, inv.Mailed, inv.Link == ""
	if p.d.Dev || !inv.Mailed {
		d.Link = inv.Link
	}
	d.Form = inviteForm{}
	return p.usersPage(c, r, d, http.StatusOK)
}

// userRole changes a member's role (admin); the last administrator keeps theirs.
func (p *Panel) userRole(c echo.Context, r *request) error {
	err := p.d.Tenancy.ChangeMemberRole(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"), domain.Role(c.FormValue("role")))
	if err != nil {
		if k := domain.ErrorKind(err); k == domain.KindConflict || k == domain.KindInvalid {
			return p.usersPage(c, r, &usersData{RowError: capitalize(errMessage(err)) + "."}, httpStatus(err))
		}
		return err
	}
	return seeOther(c, "/users", "role-changed")
}

// userRemove takes a member out of the organisation (admin); the last administrator stays.
func (p *Panel) userRemove(c echo.Context, r *request) error {
	if asksConfirmation(c) {
		return p.confirmRemoveMember(c, r)
	}
	err := p.d.Tenancy.RemoveMember(c.Request().Context(), r.Actor, r.OrgID(), c.Param("id"))
	if err != nil {
		if domain.ErrorKind(err) == domain.KindConflict {
			return p.usersPage(c, r, &usersData{RowError: capitalize(errMessage(err)) + "."}, httpStatus(err))
		}
		return err
	}
	return seeOther(c, "/users", "member-removed")
}

type auditFilters struct {
	Action, Target, From, To string
}

type auditData struct {
	Filters auditFilters
	Rows    []domain.AuditEntry
	Pager   pageNav
	Error   string
}

func (d *auditData) alert() string { return d.Error }

// audit lists who changed what in the organisation, newest first (admin).
func (p *Panel) audit(c echo.Context, r *request) error {
	if err := authorize(r, "audit:read"); err != nil {
		return err
	}
	d := &auditData{Filters: auditFilters{Action: strings.TrimSpace(c.QueryParam("action")), Target: strings.TrimSpace(c.QueryParam("target"))}}
	f := domain.AuditFilter{OrganizationID: r.OrgID(), Action: d.Filters.Action, TargetID: d.Filters.Target, After: cursor(c, domain.PrefixAudit), Limit: 50}
	var ferr, terr error
	f.From, d.Filters.From, ferr = dateParam(c, "from", false)
	f.To, d.Filters.To, terr = dateParam(c, "to", true)
	for _, e := range []error{ferr, terr} {
		if e != nil {
			d.Error = capitalize(errMessage(e))
			return p.render(c, r, http.StatusBadRequest, "audit", "Audit log", "audit", d)
		}
	}
	rows, more, err := p.d.Tenancy.ListAudit(c.Request().Context(), r.Actor, f)
	if err != nil {
		return err
	}
	d.Rows = rows
	d.Pager = pagination(c, lastRow(rows, func(i int) string { return rows[i].ID }), more)
	return p.render(c, r, http.StatusOK, "audit", "Audit log", "audit", d)
}
