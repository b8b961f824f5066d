package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/store/engagement"
	"caseverify/views"
)

func (h *Handler) caseList(c echo.Context) error {
	f := store.CaseFilter{Status: store.CaseStatus(c.QueryParam("status"))}
	f.AssignedUserID, _ = strconv.ParseInt(c.QueryParam("worker"), 10, 64)
	f.Page, _ = strconv.Atoi(c.QueryParam("page"))
	// Keyset paging (issue 17): the pager's links say where their page
	// starts; a page number alone (the go-to-page box) is found by skipping.
	if after := c.QueryParam("after"); store.IsCaseCursor(after) && f.Page > 1 {
		f.After = after
	}
	return h.renderCaseList(c, f, c.QueryParam("engagement"), false)
}

// caseSearch answers the search form. It is a POST so that what was typed
// (which can be an email or phone number) never lands in a URL, a proxy log
// or the browser history (reliability.md X9).
func (h *Handler) caseSearch(c echo.Context) error {
	f := store.CaseFilter{Query: strings.TrimSpace(c.FormValue("q")), Status: store.CaseStatus(c.FormValue("status"))}
	f.AssignedUserID, _ = strconv.ParseInt(c.FormValue("worker"), 10, 64)
	f.Page, _ = strconv.Atoi(c.FormValue("page"))
	if f.Query == "" {
		// Nothing private to hide: use the bookmarkable list.
		return c.Redirect(http.StatusSeeOther, views.CaseList{Filter: f, Engagement: engagementFilter(c.FormValue("engagement"))}.PageURL(1))
	}
	return h.renderCaseList(c, f, c.FormValue("engagement"), true)
}

func (h *Handler) renderCaseList(c echo.Context, f store.CaseFilter, result string, searched bool) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	if !isCaseStatus(f.Status) {
		f.Status = ""
	}
	f.PerPage = 25
	set, err := h.store.EngagementSettings(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	if result = engagementFilter(result); result != "" && set.Shown {
		if f.IDs, err = h.engagementCaseIDs(ctx, u.AgencyID, engagement.Result(result)); err != nil {
			return err
		}
		f.ByIDs = true
	} else {
		result = ""
	}
	cases, total, err := h.store.Cases(ctx, u.AgencyID, f)
	if err != nil {
		return err
	}
	workers, err := h.store.Users(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	l := views.CaseList{Filter: f, Cases: cases, Total: total,
		Workers: workers, Searched: searched, Engagement: result, EngagementShown: set.Shown}
	if !searched {
		starts, err := h.store.CasePageStarts(ctx, u.AgencyID, f, cases, total, views.PagerWindow+1)
		if err != nil {
			return err
		}
		l.UseStarts(starts)
	}
	return render(c, http.StatusOK, views.CaseListPage(l))
}

func isCaseStatus(s store.CaseStatus) bool {
	for _, o := range store.CaseStatuses {
		if o.Value == string(s) {
			return true
		}
	}
	return false
}

func (h *Handler) caseNew(c echo.Context) error {
	u := currentUser(c)
	workers, err := h.store.Users(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.CaseFormPage(views.CaseForm{AssignedUserID: fmt.Sprint(u.ID), Workers: workers}))
}

func caseFormFrom(c echo.Context) (views.CaseForm, store.CaseInput) {
	f := views.CaseForm{Number: c.FormValue("case_number"), Program: c.FormValue("program"),
		AssignedUserID: c.FormValue("assigned_user_id"), RecertDue: c.FormValue("recert_due")}
	in := store.CaseInput{Number: f.Number, Program: f.Program, RecertDue: f.RecertDue}
	in.AssignedUserID, _ = strconv.ParseInt(f.AssignedUserID, 10, 64)
	return f, in
}

func (h *Handler) caseCreate(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	f, in := caseFormFrom(c)
	cs, err := h.store.CreateCase(ctx, u.AgencyID, u.ID, in)
	var problems store.ValidationError
	if errors.As(err, &problems) {
		return h.renderCaseForm(c, f, problems)
	}
	if err != nil {
		return err
	}
	if err := h.setFlash(c, "Case "+cs.Number+" created. Add the household members next."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d", cs.ID))
}

// renderCaseForm re-renders the form with what was typed and the problems
// next to the fields (422).
func (h *Handler) renderCaseForm(c echo.Context, f views.CaseForm, problems store.ValidationError) error {
	workers, err := h.store.Users(c.Request().Context(), currentUser(c).AgencyID)
	if err != nil {
		return err
	}
	f.Workers, f.Problems = workers, problems
	return render(c, http.StatusUnprocessableEntity, views.CaseFormPage(f))
}

func (h *Handler) caseEdit(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	workers, err := h.store.Users(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	f := views.CaseForm{ID: cs.ID, Number: cs.Number, Program: cs.Program, RecertDue: cs.RecertDue, Workers: workers}
	if cs.AssignedUserID != 0 {
		f.AssignedUserID = fmt.Sprint(cs.AssignedUserID)
	}
	return render(c, http.StatusOK, views.CaseFormPage(f))
}

// caseUpdate saves the case form. Giving the case to another worker is
// reassigning, which only a role with PermReassign may do (and is audited);
// the form offers the worker only to them.
func (h *Handler) caseUpdate(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	id := cs.ID
	f, in := caseFormFrom(c)
	f.ID = id
	reassigned := in.AssignedUserID != cs.AssignedUserID
	if reassigned && !u.Can(store.PermReassign) {
		return h.refuseRole(c, store.PermReassign, id, "Only a supervisor can give a case to another worker.")
	}
	err = h.store.UpdateCase(ctx, u.AgencyID, id, in)
	var problems store.ValidationError
	if errors.As(err, &problems) {
		return h.renderCaseForm(c, f, problems)
	}
	if err != nil {
		return err
	}
	if reassigned {
		if err := h.audit(c, store.AuditCaseReassign, id, 0, fmt.Sprintf("from user %d to user %d", cs.AssignedUserID, in.AssignedUserID)); err != nil {
			return err
		}
	}
	if err := h.setFlash(c, "Case saved."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d", id))
}

// caseShow is the case page. Opening it is recorded (who read which case,
// when), which is what "Who looked at this case" lists.
func (h *Handler) caseShow(c echo.Context) error {
	cs, err := h.pathCase(c)
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditViewCase, cs.ID, 0, ""); err != nil {
		return err
	}
	return h.renderCase(c, cs, http.StatusOK, 0, views.NoteForm{})
}

// renderCase renders the case page of cs (read by the caller, scoped to the
// user's agency: the page does not read it again, one round trip less on
// PostgreSQL); revealed is the member shown unmasked.
func (h *Handler) renderCase(c echo.Context, cs *store.Case, status int, revealed int64, note views.NoteForm) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	caseID := cs.ID
	members, err := h.store.Members(ctx, u.AgencyID, caseID)
	if err != nil {
		return err
	}
	var notes []*store.Note
	if u.Can(store.PermCaseEdit) { // notes can hold anything a caller said: not for every role
		if notes, err = h.store.Notes(ctx, u.AgencyID, caseID); err != nil {
			return err
		}
	}
	orders, all, err := h.caseOrderRows(ctx, u.AgencyID, caseID)
	if err != nil {
		return err
	}
	v := views.CaseView{Case: cs, Members: memberViews(members, revealed), Notes: notes, NoteForm: note, Orders: orders,
		RollUp: views.NewRollUp(all), Household: len(h.householdChoices()) > 0}
	if u.Can(store.PermAuditLog) {
		if v.Viewers, err = h.store.CaseViewers(ctx, u.AgencyID, caseID); err != nil {
			return err
		}
	}
	// The result comes from the reports: only for those who may read them.
	if u.Can(store.PermReports) {
		if _, checks, ok, err := h.caseEngagement(ctx, u.AgencyID, cs); err != nil {
			return err
		} else if ok && len(members) > 0 {
			v.Engagement = caseEngagementView(members, checks)
		}
	}
	return render(c, status, views.CaseShowPage(v))
}

func (h *Handler) noteCreate(c echo.Context) error {
	u := currentUser(c)
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	body := c.FormValue("body")
	_, err = h.store.AddNote(c.Request().Context(), u.AgencyID, id, u.ID, body)
	var problems store.ValidationError
	if errors.As(err, &problems) {
		cs, err := h.store.Case(c.Request().Context(), u.AgencyID, id)
		if err != nil {
			return err
		}
		return h.renderCase(c, cs, http.StatusUnprocessableEntity, 0, views.NoteForm{Body: body, Error: problems["body"]})
	}
	if err != nil {
		return err
	}
	if err := h.setFlash(c, "Note added."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d#notes-heading", id))
}

// casesStore is what cases.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type casesStore interface {
	AddNote(ctx context.Context, agencyID, caseID, authorID int64, body string) (*store.Note, error)
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	CaseViewers(ctx context.Context, agencyID, caseID int64) ([]*store.CaseViewer, error)
	Cases(ctx context.Context, agencyID int64, f store.CaseFilter) ([]*store.Case, int, error)
	CasePageStarts(ctx context.Context, agencyID int64, f store.CaseFilter, cases []*store.Case, total, window int) (store.CasePageStarts, error)
	CreateCase(ctx context.Context, agencyID, createdBy int64, in store.CaseInput) (*store.Case, error)
	EngagementSettings(ctx context.Context, agencyID int64) (engagement.Settings, error)
	Members(ctx context.Context, agencyID, caseID int64) ([]*store.Member, error)
	Notes(ctx context.Context, agencyID, caseID int64) ([]*store.Note, error)
	UpdateCase(ctx context.Context, agencyID, caseID int64, in store.CaseInput) error
	Users(ctx context.Context, agencyID int64) ([]*store.User, error)
}
