package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// pathCase loads the case named by the :id path parameter, scoped to the
// user's agency: another agency's case is "not found".
func (h *Handler) pathCase(c echo.Context) (*store.Case, error) {
	id, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.store.Case(c.Request().Context(), currentUser(c).AgencyID, id)
}

func (h *Handler) memberNew(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	members, err := h.store.Members(ctx, u.AgencyID, cs.ID)
	if err != nil {
		return err
	}
	f := views.MemberForm{CaseID: cs.ID, CaseNumber: cs.Number, Language: "en", First: len(members) == 0}
	if f.First {
		f.Relationship = "self"
	}
	return render(c, http.StatusOK, views.MemberFormPage(f))
}

func memberFormFrom(c echo.Context) (views.MemberForm, store.MemberInput) {
	f := views.MemberForm{FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"),
		Relationship: c.FormValue("relationship"), Email: c.FormValue("email"), Phone: c.FormValue("phone"),
		DateOfBirth: c.FormValue("date_of_birth"), SSNLast4: c.FormValue("ssn_last4"), Language: c.FormValue("language")}
	return f, store.MemberInput{FirstName: f.FirstName, LastName: f.LastName, Relationship: f.Relationship,
		Email: f.Email, Phone: f.Phone, DateOfBirth: f.DateOfBirth, SSNLast4: f.SSNLast4, Language: f.Language}
}

func (h *Handler) memberCreate(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	id := cs.ID
	f, in := memberFormFrom(c)
	f.CaseID, f.CaseNumber = cs.ID, cs.Number
	m, err := h.store.AddMember(ctx, u.AgencyID, id, in)
	var problems store.ValidationError
	if errors.As(err, &problems) {
		f.Problems = problems
		return render(c, http.StatusUnprocessableEntity, views.MemberFormPage(f))
	}
	if err != nil {
		return err
	}
	if err := h.setFlash(c, m.FullName()+" added to the household."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d#member-%d", id, m.ID))
}

// memberEdit is the way into the member form. The form shows the stored
// details unmasked, so opening it is a reveal and is audited; a GET changes
// nothing (a prefetch or a link preview must not write "revealed" to the
// audit log), so this page only offers the button that POSTs to
// memberEditReveal.
func (h *Handler) memberEdit(c echo.Context) error {
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.MemberEditGatePage(views.MemberForm{CaseID: cs.ID, CaseNumber: cs.Number, ID: m.ID,
		FirstName: m.FirstName, LastName: m.LastName}))
}

// memberEditReveal records the reveal and shows the member form with the
// stored values.
func (h *Handler) memberEditReveal(c echo.Context) error {
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditRevealPII, cs.ID, m.ID, "edit form"); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.MemberFormPage(views.MemberForm{CaseID: cs.ID, CaseNumber: cs.Number, ID: m.ID,
		FirstName: m.FirstName, LastName: m.LastName, Relationship: m.Relationship, Email: m.Email,
		Phone: views.Phone(m.Phone), DateOfBirth: m.DateOfBirth, SSNLast4: m.SSNLast4, Language: m.Language}))
}

func (h *Handler) memberUpdate(c echo.Context) error {
	u := currentUser(c)
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	caseID, memberID := cs.ID, m.ID
	f, in := memberFormFrom(c)
	f.CaseID, f.CaseNumber, f.ID = cs.ID, cs.Number, memberID
	err = h.store.UpdateMember(c.Request().Context(), u.AgencyID, caseID, memberID, in)
	var problems store.ValidationError
	if errors.As(err, &problems) {
		f.Problems = problems
		return render(c, http.StatusUnprocessableEntity, views.MemberFormPage(f))
	}
	if err != nil {
		return err
	}
	if err := h.setFlash(c, "Member saved."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d#member-%d", caseID, memberID))
}

func (h *Handler) memberRemove(c echo.Context) error {
	u := currentUser(c)
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	caseID := cs.ID
	err = h.store.RemoveMember(c.Request().Context(), u.AgencyID, caseID, m.ID)
	msg := m.FullName() + " removed from the household."
	if errors.Is(err, store.ErrConflict) {
		msg = m.FullName() + " has verifications on record and stays in the household for the history."
	} else if err != nil {
		return err
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d", caseID))
}

// memberReveal shows one member's contact and identity details unmasked,
// after writing an audit row (who, which member, when; no values).
func (h *Handler) memberReveal(c echo.Context) error {
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditRevealPII, cs.ID, m.ID, "case page"); err != nil {
		return err
	}
	return h.renderCase(c, cs, http.StatusOK, m.ID, views.NoteForm{})
}

// membersStore is what members.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type membersStore interface {
	AddMember(ctx context.Context, agencyID, caseID int64, in store.MemberInput) (*store.Member, error)
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	Members(ctx context.Context, agencyID, caseID int64) ([]*store.Member, error)
	RemoveMember(ctx context.Context, agencyID, caseID, memberID int64) error
	UpdateMember(ctx context.Context, agencyID, caseID, memberID int64, in store.MemberInput) error
}
