package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

// contactForm is the contact-center screen: one form for an agent on a
// call, and the status of the order just sent, live, beside it.
func (h *Handler) contactForm(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	s, err := h.store.Settings(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	f := views.ContactForm{Provider: s.DefaultProvider, Products: s.DefaultProducts, Language: "en", Providers: h.providerChoices()}
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

func (h *Handler) contactSend(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := views.ContactForm{FirstName: form.Get("first_name"), LastName: form.Get("last_name"), Phone: form.Get("phone"),
		CaseNumber: strings.TrimSpace(form.Get("case_number")), Provider: form.Get("provider"), Products: form["products"],
		Language: form.Get("language"), Providers: h.providerChoices()}
	fail := func(status int, problems map[string]string, msg string) error {
		f.Problems, f.Error = problems, msg
		return render(c, status, views.ContactPage(f))
	}
	// Check the caller's details first, so that nothing is created for a typo.
	problems := store.ValidationError{}
	if strings.TrimSpace(f.Phone) == "" {
		problems["phone"] = "Enter the mobile number the link goes to."
	}
	if p := h.verify.Provider(f.Provider); p == nil {
		problems["provider"] = "Choose a provider."
	}
	if len(f.Products) == 0 {
		problems["products"] = "Choose what to verify."
	}
	in := store.MemberInput{FirstName: f.FirstName, LastName: f.LastName, Relationship: "self", Phone: f.Phone, Language: f.Language}
	for k, v := range h.store.CheckMember(in) {
		problems[k] = v
	}
	if len(problems) > 0 {
		return fail(http.StatusUnprocessableEntity, problems, "")
	}
	settings, err := h.store.Settings(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	cs, err := h.contactCase(c, f.CaseNumber, settings.DefaultProgram)
	var vp store.ValidationError
	if errors.As(err, &vp) {
		return fail(http.StatusUnprocessableEntity, vp, "")
	}
	if err != nil {
		return err
	}
	m, err := h.store.AddMember(ctx, u.AgencyID, cs.ID, in)
	if err != nil {
		return err
	}
	o, err := h.verify.Send(ctx, verify.SendRequest{User: u, CaseID: cs.ID, MemberID: m.ID, Provider: f.Provider,
		Products: f.Products, Channel: verify.ChannelSMS})
	var perr *providers.ProviderError
	var derr *verify.DeliveryError
	switch {
	case errors.As(err, &vp):
		return fail(http.StatusUnprocessableEntity, vp, "")
	case errors.As(err, &perr):
		return fail(http.StatusBadGateway, nil, perr.Message)
	case errors.As(err, &derr):
		if ferr := h.setFlash(c, "The order was created, but the text was not sent: "+derr.Reason); ferr != nil {
			return ferr
		}
	case err != nil:
		return err
	default:
		if ferr := h.setFlash(c, "Link texted to "+m.FirstName+" ("+views.MaskPhone(m.Phone)+")."); ferr != nil {
			return ferr
		}
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/contact?order=%d", o.ID))
}

// contactCase finds the case by number, or opens one (with a generated
// number when none was given).
func (h *Handler) contactCase(c echo.Context, number, program string) (*store.Case, error) {
	u := currentUser(c)
	ctx := c.Request().Context()
	if number != "" {
		cs, _, err := h.store.Cases(ctx, u.AgencyID, store.CaseFilter{Query: number, PerPage: 5})
		if err != nil {
			return nil, err
		}
		for _, x := range cs {
			if strings.EqualFold(x.Number, number) {
				return x, nil
			}
		}
	} else {
		number = "CC-" + time.Now().Format("20060102") + "-" + strings.TrimPrefix(store.NewOrderReference(), "CV-")[:6]
	}
	return h.store.CreateCase(ctx, u.AgencyID, u.ID, store.CaseInput{Number: number, Program: program, AssignedUserID: u.ID})
}
