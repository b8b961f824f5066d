package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// bulkItemsShown is how many members a bulk send's page lists.
const bulkItemsShown = 500

// bulkMembers are the members a bulk send form offers: those of the cases
// checked on the case list (?case=), or of an imported file (?import=).
func (h *Handler) bulkMembers(c echo.Context, caseIDs []string, importID string) ([]int64, error) {
	u := currentUser(c)
	ctx := c.Request().Context()
	if importID != "" {
		return h.store.IntakeMemberIDs(ctx, u.AgencyID, u.ID, importID)
	}
	var ids []int64
	for _, s := range caseIDs {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return h.store.MemberIDsOfCases(ctx, u.AgencyID, ids)
}

func (h *Handler) bulkFormPage(c echo.Context, status int, f views.BulkForm, offered []int64) error {
	ms, numbers, err := h.store.MembersByID(c.Request().Context(), currentUser(c).AgencyID, offered)
	if err != nil {
		return err
	}
	f.Members, f.CaseNumbers, f.Providers = memberViews(ms, 0), numbers, h.providerChoices()
	return render(c, status, views.BulkFormPage(f))
}

// bulkForm offers the chosen cases' (or the imported file's) members, all
// checked, with one provider, products and channel for all.
func (h *Handler) bulkForm(c echo.Context) error {
	ctx := c.Request().Context()
	u := currentUser(c)
	ids, err := h.bulkMembers(c, c.QueryParams()["case"], c.QueryParam("import"))
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		if err := h.setFlash(c, "Choose cases with members first: tick them in the case list."); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/cases")
	}
	set, err := h.store.Settings(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	f := views.BulkForm{Selected: map[int64]bool{}, Provider: set.DefaultProvider, Products: set.DefaultProducts, Channel: "email",
		ImportID: c.QueryParam("import")}
	for _, id := range ids {
		f.Selected[id] = true
	}
	return h.bulkFormPage(c, http.StatusOK, f, ids)
}

// bulkStart checks the form by the send form's rules and starts the run;
// the renewal worker (one engine for runs) sends.
func (h *Handler) bulkStart(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	f := views.BulkForm{Selected: map[int64]bool{}, Provider: c.FormValue("provider"), Products: form["products"],
		Channel: c.FormValue("channel"), ImportID: c.FormValue("import")}
	var chosen []int64
	for _, s := range form["members"] {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			chosen = append(chosen, id)
			f.Selected[id] = true
		}
	}
	f.Problems = h.verify.CheckBulkSend(f.Provider, f.Products, f.Channel)
	if len(chosen) == 0 {
		f.Problems["members"] = "Choose at least one member."
	}
	offered := chosen
	if f.ImportID != "" {
		if offered, err = h.bulkMembers(c, nil, f.ImportID); err != nil {
			return err
		}
	}
	if len(f.Problems) > 0 {
		return h.bulkFormPage(c, http.StatusUnprocessableEntity, f, offered)
	}
	run, err := h.store.StartBulkSend(ctx, u.AgencyID, u.ID, store.BulkSend{Provider: f.Provider, Products: f.Products,
		Channel: f.Channel, MemberIDs: chosen})
	var verr store.ValidationError
	if errors.As(err, &verr) {
		f.Problems = verr
		return h.bulkFormPage(c, http.StatusUnprocessableEntity, f, offered)
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditBulkSend, 0, 0, fmt.Sprintf("run %d, %d members", run.ID, run.Counts.Total)); err != nil {
		return err
	}
	h.verify.NotifyRenewals()
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/bulk-send/runs/%d", run.ID))
}

// bulkRunOf returns the agency's bulk send named in the path (a renewal
// run's id is not found here).
func (h *Handler) bulkRunOf(c echo.Context) (*store.RenewalRun, error) {
	id, err := paramID(c, "rid")
	if err != nil {
		return nil, err
	}
	run, err := h.store.RenewalRun(c.Request().Context(), currentUser(c).AgencyID, id)
	if err != nil {
		return nil, err
	}
	if run.Kind != store.RunBulkSend {
		return nil, store.ErrNotFound
	}
	return run, nil
}

func (h *Handler) bulkRun(c echo.Context) error {
	run, err := h.bulkRunOf(c)
	if err != nil {
		return err
	}
	items, err := h.store.RunItemRows(c.Request().Context(), run.AgencyID, run.ID, bulkItemsShown)
	if err != nil {
		return err
	}
	v := views.BulkRunView{Run: run, Provider: run.Provider, Items: items, Now: h.store.Now()}
	if p := h.verify.Provider(run.Provider); p != nil {
		v.Provider = p.Label
	}
	return render(c, http.StatusOK, views.BulkRunPage(v))
}

func (h *Handler) bulkCancel(c echo.Context) error {
	run, err := h.bulkRunOf(c)
	if err != nil {
		return err
	}
	if err := h.store.CancelRenewal(c.Request().Context(), run.AgencyID, run.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := h.setFlash(c, "Bulk send canceled; members already handled keep their result."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/bulk-send/runs/%d", run.ID))
}

// bulkStore is what bulk.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type bulkStore interface {
	CancelRenewal(ctx context.Context, agencyID, runID int64) error
	IntakeMemberIDs(ctx context.Context, agencyID, userID int64, id string) ([]int64, error)
	MemberIDsOfCases(ctx context.Context, agencyID int64, caseIDs []int64) ([]int64, error)
	MembersByID(ctx context.Context, agencyID int64, ids []int64) ([]*store.Member, map[int64]string, error)
	Now() time.Time
	RenewalRun(ctx context.Context, agencyID, runID int64) (*store.RenewalRun, error)
	RunItemRows(ctx context.Context, agencyID, runID int64, limit int) ([]store.RunItemRow, error)
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
	StartBulkSend(ctx context.Context, agencyID, userID int64, b store.BulkSend) (*store.RenewalRun, error)
}
