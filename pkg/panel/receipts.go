package panel

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/domain"
)

// Receipts are the buyers' e-mail receipts (package receipt): a transaction's receipts, an
// explicit resend (transaction:update, audited), and a site's switch (site:update).
type Receipts interface {
	List(ctx context.Context, actor domain.Actor, orgID, transactionID string) ([]domain.Receipt, error)
	Resend(ctx context.Context, actor domain.Actor, orgID, transactionID string) (*domain.Receipt, error)
	SetEnabled(ctx context.Context, actor domain.Actor, orgID, siteID string, enabled bool) error
}

// resendReceipt sends the buyer the transaction's receipt once more (editor and up).
func (p *Panel) resendReceipt(c echo.Context, r *request) error {
	id := c.Param("id")
	if p.d.Receipts == nil {
		return p.errorPage(c, http.StatusNotFound, "No receipts", "Receipts are not available on this server.")
	}
	if _, err := p.d.Receipts.Resend(c.Request().Context(), r.Actor, r.OrgID(), id); err != nil {
		if domain.IsConflict(err) {
			return p.errorPage(c, http.StatusConflict, "Receipt not sent", capitalize(errMessage(err)))
		}
		return err
	}
	return seeOther(c, "/transactions/"+id, "receipt-resent")
}
