package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/mask"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

// contactChoices lists the providers the contact-center form can send with.
// The form asks for a name and a mobile number only, so a provider that
// needs more is left out: AccountChek needs the email and the last 4 of the
// SSN (verify.Provider.Needs), Truework the full SSN, and its applicant flow
// is a widget the portal hosts rather than a provider's hosted link.
func (h *Handler) contactChoices() []views.ProviderChoice {
	var out []views.ProviderChoice
	for _, c := range h.providerChoices() {
		if h.contactFits(h.verify.Provider(c.Name)) {
			out = append(out, c)
		}
	}
	return out
}

// contactCollects are the member details the contact-center form asks for.
var contactCollects = []string{"first_name", "last_name", "phone"}

// contactFits reports whether a provider works from the contact-center form
// (see contactChoices): not a widget provider, nor one that needs a detail
// the form does not ask for.
func (h *Handler) contactFits(p *verify.Provider) bool {
	return p != nil && !h.verify.IsWidget(p.Name) && verify.CollectsAll(p, contactCollects...)
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

// contactSend opens or finds the case, adds the member, creates the order
// and texts the link, in one step, and leaves nothing behind when the send
// fails.
//
// Why undo rather than one transaction or validation alone: the provider's
// refusal is only known after calling it, and the call needs the case and
// member rows (the order row points at them, the provider gets the member's
// reference). Holding SQLite's single write transaction open across a
// provider call of several seconds would stall every other writer, and
// checking first cannot foresee a refusal. So everything that can be
// checked is checked before anything is created (a typo creates nothing),
// and when the send then fails, what this request created is removed
// again. The removals are guarded in the store (a member with an order, a
// case with members, orders or notes is kept), so an order the provider did
// accept is never orphaned by the undo.
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
	// Check the caller's details first, so that nothing is created for a typo.
	problems := store.ValidationError{}
	if strings.TrimSpace(f.Phone) == "" {
		problems["phone"] = "Enter the mobile number the link goes to."
	}
	p := h.verify.Provider(f.Provider)
	if !h.contactFits(p) {
		problems["provider"] = "Choose a provider."
	}
	if len(f.Products) == 0 {
		problems["products"] = "Choose what to verify."
	} else if p != nil {
		for _, prod := range f.Products {
			if !slices.Contains(p.Verifier.Products(), providers.Product(prod)) {
				problems["products"] = fmt.Sprintf("%s cannot verify %s.", p.Label, prod)
			}
		}
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
	cs, caseCreated, err := h.contactCase(c, f.CaseNumber, settings.DefaultProgram)
	var vp store.ValidationError
	if errors.As(err, &vp) {
		return fail(http.StatusUnprocessableEntity, vp, "")
	}
	if err != nil {
		return err
	}
	m, memberAdded, err := h.contactMember(c, cs.ID, in)
	if err != nil {
		h.undoContact(ctx, u.AgencyID, cs.ID, 0, caseCreated)
		if errors.As(err, &vp) {
			return fail(http.StatusUnprocessableEntity, vp, "")
		}
		return err
	}
	o, err := h.verify.Send(ctx, verify.SendRequest{User: u, CaseID: cs.ID, MemberID: m.ID, Provider: f.Provider,
		Products: f.Products, Channel: verify.ChannelSMS})
	if err != nil && o == nil {
		// No order exists: the send failed as a whole, so undo the rest.
		var added int64
		if memberAdded {
			added = m.ID
		}
		h.undoContact(ctx, u.AgencyID, cs.ID, added, caseCreated)
	}
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
		case kindUnconfirmed:
			if ferr := h.setFlash(c, e.Message); ferr != nil {
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

// contactCase finds the case by its exact number, or opens one (with a
// generated number when none was given). created says it was opened here,
// so a failed send may remove it again.
func (h *Handler) contactCase(c echo.Context, number, program string) (cs *store.Case, created bool, err error) {
	u := currentUser(c)
	ctx := c.Request().Context()
	if number != "" {
		cs, err := h.store.CaseByNumber(ctx, u.AgencyID, number)
		if err == nil {
			return cs, false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, false, err
		}
	} else {
		number = "CC-" + time.Now().Format("20060102") + "-" + strings.TrimPrefix(store.NewOrderReference(), "CV-")[:6]
	}
	cs, err = h.store.CreateCase(ctx, u.AgencyID, u.ID, store.CaseInput{Number: number, Program: program, AssignedUserID: u.ID})
	var vp store.ValidationError
	if errors.As(err, &vp) && vp["case_number"] != "" {
		// Another agent opened the same number since the lookup: use it.
		if found, lerr := h.store.CaseByNumber(ctx, u.AgencyID, number); lerr == nil {
			return found, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return cs, true, nil
}

// contactMember returns the case's member who is this caller (same name,
// mobile number and language), so a second call about the same person does
// not add them twice, or adds them. added says the member is new.
func (h *Handler) contactMember(c echo.Context, caseID int64, in store.MemberInput) (*store.Member, bool, error) {
	u := currentUser(c)
	ctx := c.Request().Context()
	ms, err := h.store.Members(ctx, u.AgencyID, caseID)
	if err != nil {
		return nil, false, err
	}
	phone, _ := store.NormalizePhone(in.Phone) // checked before
	lang := cmp.Or(in.Language, "en")          // as the store defaults it
	same := func(a, b string) bool {
		return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
	}
	for _, m := range ms {
		if phone != "" && m.Phone == phone && same(m.FirstName, in.FirstName) && same(m.LastName, in.LastName) && m.Language == lang {
			return m, false, nil
		}
	}
	m, err := h.store.AddMember(ctx, u.AgencyID, caseID, in)
	if err != nil {
		return nil, false, err
	}
	return m, true, nil
}

// undoContact removes the member (memberID, 0 for none) and the case (when
// caseCreated) that contactSend made for a send that then failed. It runs
// even when the agent's request was cancelled. The store refuses to remove
// anything that has gained history; that is logged and kept.
func (h *Handler) undoContact(ctx context.Context, agencyID, caseID, memberID int64, caseCreated bool) {
	ctx = context.WithoutCancel(ctx)
	if memberID != 0 {
		if err := h.store.RemoveMember(ctx, agencyID, caseID, memberID); err != nil {
			h.log.Error("contact center: undo member", "case_id", caseID, "member_id", memberID, "error", err)
			return // the case still holds the member
		}
	}
	if caseCreated {
		if err := h.store.DeleteEmptyCase(ctx, agencyID, caseID); err != nil {
			h.log.Error("contact center: undo case", "case_id", caseID, "error", err)
		}
	}
}
