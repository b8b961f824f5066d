package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/views"
)

// householdChoices lists the providers that verify a household together.
func (h *Handler) householdChoices() []views.ProviderChoice {
	var out []views.ProviderChoice
	for _, c := range h.providerChoices() {
		if p := h.verify.Provider(c.Name); p != nil && p.Caps.Household {
			out = append(out, c)
		}
	}
	return out
}

func (h *Handler) householdForm(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	ms, err := h.store.Members(ctx, u.AgencyID, cs.ID)
	if err != nil {
		return err
	}
	f := views.HouseholdForm{Case: cs, Members: memberViews(ms, 0), Providers: h.householdChoices(), Products: []string{"income"}, Channel: "email"}
	for _, m := range ms {
		f.Selected = append(f.Selected, m.ID)
	}
	if len(f.Providers) > 0 {
		f.Provider = f.Providers[0].Name
		if p := h.verify.Provider(f.Provider); p != nil && p.Caps.InvitesOnly {
			f.Channel = verify.ChannelProvider // the only way its invitations go
		}
	}
	return render(c, http.StatusOK, views.HouseholdFormPage(f))
}

func (h *Handler) householdCreate(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	ms, err := h.store.Members(ctx, u.AgencyID, cs.ID)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := views.HouseholdForm{Case: cs, Members: memberViews(ms, 0), Providers: h.householdChoices(), Provider: form.Get("provider"),
		Products: form["products"], Channel: form.Get("channel"), Rent: form.Get("rent")}
	for _, v := range form["members"] {
		if mid, err := strconv.ParseInt(v, 10, 64); err == nil {
			f.Selected = append(f.Selected, mid)
		}
	}
	req := verify.HouseholdRequest{User: u, CaseID: cs.ID, MemberIDs: f.Selected, Provider: f.Provider, Products: f.Products,
		Channel: f.Channel}
	if strings.TrimSpace(f.Rent) != "" {
		cents, ok := parseDollars(f.Rent)
		if !ok || cents > 100000_00 {
			f.Problems = map[string]string{"rent": "Enter the monthly rent in dollars, e.g. 1250."}
			return render(c, http.StatusUnprocessableEntity, views.HouseholdFormPage(f))
		}
		req.MonthlyRentCents = cents
	}
	o, err := h.verify.SendHousehold(ctx, req)
	if e := h.explain(err, "a household order"); err != nil {
		switch e.Kind {
		case kindInput:
			f.Problems = e.Fields
			return render(c, e.Status, views.HouseholdFormPage(f))
		case kindProvider:
			f.Error = e.Message
			return render(c, e.Status, views.HouseholdFormPage(f))
		case kindDelivery:
			if ferr := h.setFlash(c, "The request was created, but "+e.Message); ferr != nil {
				return ferr
			}
			return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.ID))
		}
		return err
	}
	if err := h.setFlash(c, "Household verification sent to "+views.Plural(len(f.Selected), "member", "members")+"."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d", cs.ID))
}

// householdStore is what household.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type householdStore interface {
	Members(ctx context.Context, agencyID, caseID int64) ([]*store.Member, error)
}
