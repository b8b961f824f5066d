package handlers

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/mask"
	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/views"
)

// contactChoices lists the providers the contact-center form can send with
// (verify.ContactFits).
func (h *Handler) contactChoices() []views.ProviderChoice {
	var out []views.ProviderChoice
	for _, c := range h.providerChoices() {
		if h.verify.ContactFits(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// contactForm is the contact-center screen: one form for an agent on a
// call, and the status of the order just sent, live, beside it.
func (h *Handler) contactForm(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	f, err := h.contactDefaults(c)
	if err != nil {
		return err
	}
	if id, err := strconv.ParseInt(c.QueryParam("order"), 10, 64); err == nil {
		o, err := h.store.Order(ctx, u.AgencyID, id)
		if err != nil {
			return err
		}
		row, err := h.orderRow(c, o)
		if err != nil {
			return err
		}
		f.Live, f.LiveCase = &row, o.CaseID
	}
	return render(c, http.StatusOK, views.ContactPage(f))
}

// contactDefaults is the empty contact-center form with the agency's
// default provider and products.
func (h *Handler) contactDefaults(c echo.Context) (views.ContactForm, error) {
	s, err := h.store.Settings(c.Request().Context(), currentUser(c).AgencyID)
	if err != nil {
		return views.ContactForm{}, err
	}
	f := views.ContactForm{Provider: s.DefaultProvider, Products: s.DefaultProducts, Language: "en", Providers: h.contactChoices()}
	if !slices.ContainsFunc(f.Providers, func(p views.ProviderChoice) bool { return p.Name == f.Provider }) && len(f.Providers) > 0 {
		// The agency's default does not fit this form (e.g. Truework).
		f.Provider = f.Providers[0].Name
	}
	return f, nil
}

// contactSend is the agent's one-step send (verify.ContactSend: find or
// open the case, add the caller, create the order, text the link, undo on
// failure); this handler reads the form and shows the outcome.
func (h *Handler) contactSend(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := views.ContactForm{FirstName: form.Get("first_name"), LastName: form.Get("last_name"), Phone: form.Get("phone"),
		CaseNumber: strings.TrimSpace(form.Get("case_number")), Provider: form.Get("provider"), Products: form["products"],
		Language: form.Get("language"), Providers: h.contactChoices()}
	fail := func(status int, problems map[string]string, msg string) error {
		f.Problems, f.Error = problems, msg
		return render(c, status, views.ContactPage(f))
	}
	o, m, err := h.verify.ContactSend(ctx, verify.ContactRequest{User: u, FirstName: f.FirstName, LastName: f.LastName,
		Phone: f.Phone, Lang: f.Language, CaseNumber: f.CaseNumber, Provider: f.Provider, Products: f.Products})
	if e := h.explain(err, "a contact-center order"); err != nil {
		switch e.Kind {
		case kindInput:
			return fail(e.Status, e.Fields, "")
		case kindProvider:
			return fail(e.Status, nil, e.Message)
		case kindDelivery:
			if ferr := h.setFlash(c, "The order was created, but "+e.Message); ferr != nil {
				return ferr
			}
		default:
			return err
		}
	} else if ferr := h.setFlash(c, "Link texted to "+m.FirstName+" ("+mask.Phone(m.Phone)+")."); ferr != nil {
		return ferr
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/contact?order=%d", o.ID))
}

// contactStore is what contact.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type contactStore interface {
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
}
