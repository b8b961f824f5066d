package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// importProgress is an import's progress in this process.
type importProgress struct {
	done, total atomic.Int64
}

func (h *Handler) intakeForm(c echo.Context) error {
	return render(c, http.StatusOK, views.IntakeUploadPage(views.IntakeUpload{}))
}

// intakeUpload holds an uploaded CSV file (sealed, on the server) and
// shows its preview. A file refused as a whole (too big, not UTF-8, wrong
// columns) keeps nothing and says why.
func (h *Handler) intakeUpload(c echo.Context) error {
	u := currentUser(c)
	refuse := func(msg string) error {
		return render(c, http.StatusUnprocessableEntity, views.IntakeUploadPage(views.IntakeUpload{Error: msg}))
	}
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refuse(fmt.Sprintf("The file is larger than %d MB. Split it into smaller files.", store.IntakeMaxBytes>>20))
		}
		return refuse("Choose a CSV file to upload.")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, store.IntakeMaxBytes+1))
	if err != nil {
		return err
	}
	in, err := h.store.HoldIntake(c.Request().Context(), u.AgencyID, u.ID, data)
	var ferr store.IntakeFileError
	if errors.As(err, &ferr) {
		return refuse(ferr.Error())
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditCSVUpload, 0, 0, fmt.Sprintf("csv %s, %d rows", in.ID[:8], in.Rows)); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, views.IntakeURL(in.ID))
}

// intakeView builds a held file's page: the import's progress while it
// runs, its result after, and the preview (which writes nothing) while the
// file is held.
func (h *Handler) intakeView(c echo.Context) (views.IntakeView, error) {
	u := currentUser(c)
	in, err := h.store.Intake(c.Request().Context(), u.AgencyID, u.ID, c.Param("iid"))
	if err != nil {
		return views.IntakeView{}, err
	}
	v := views.IntakeView{Intake: in, Mode: in.Mode}
	if p, ok := h.imports.Load(in.ID); ok {
		pr := p.(*importProgress)
		v.Importing, v.Done, v.Total = true, int(pr.done.Load()), int(pr.total.Load())
		return v, nil
	}
	if in.Status == "importing" {
		v.Importing = true // another process runs it
		return v, nil
	}
	if (in.Status == "held" || in.Status == "failed") && !in.Expired() {
		if v.Preview, err = h.store.PreviewIntake(c.Request().Context(), in); err != nil {
			return v, err
		}
		v.Problems = v.Preview.Problems[:min(len(v.Preview.Problems), views.MaxProblems)]
	}
	return v, nil
}

func (h *Handler) intakeShow(c echo.Context) error {
	v, err := h.intakeView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.IntakePage(v))
}

// intakeImport starts the import of a held file in the background (all or
// nothing, or the valid rows only) and shows its progress. "All or nothing"
// with rows that have problems is refused before anything is written.
func (h *Handler) intakeImport(c echo.Context) error {
	u := currentUser(c)
	v, err := h.intakeView(c)
	if err != nil {
		return err
	}
	mode := c.FormValue("mode")
	if v.Importing {
		return c.Redirect(http.StatusSeeOther, views.IntakeURL(v.Intake.ID))
	}
	if v.Preview == nil {
		return echo.NewHTTPError(http.StatusConflict, "This file was imported already or is no longer kept; upload it again.")
	}
	v.Mode = mode
	switch {
	case mode != "all" && mode != "valid":
		v.Error = "Choose how to import."
	case mode == "all" && v.Preview.ProblemRows > 0:
		v.Error = "Rows have problems, so the file cannot be imported in one piece. Correct the file and upload it again, or import the valid rows only."
	case v.Preview.Valid() == 0:
		v.Error = "No row is valid: correct the file and upload it again."
	}
	if v.Error != "" {
		return render(c, http.StatusUnprocessableEntity, views.IntakePage(v))
	}
	id := v.Intake.ID
	pr := &importProgress{}
	pr.total.Store(int64(v.Intake.Rows))
	if _, running := h.imports.LoadOrStore(id, pr); running {
		return c.Redirect(http.StatusSeeOther, views.IntakeURL(id))
	}
	if err := h.audit(c, store.AuditCSVImport, 0, 0, fmt.Sprintf("csv %s, %d rows, mode %s", id[:8], v.Intake.Rows, mode)); err != nil {
		h.imports.Delete(id)
		return err
	}
	// The import outlives the request: the page polls its progress.
	ctx := context.WithoutCancel(c.Request().Context())
	go func() {
		defer h.imports.Delete(id)
		_, err := h.store.ImportIntake(ctx, u.AgencyID, u.ID, id, mode, func(done, total int) {
			pr.done.Store(int64(done))
			pr.total.Store(int64(total))
		})
		if err != nil {
			h.log.Error("csv import", "import", id[:8], "error", err)
		}
	}()
	return c.Redirect(http.StatusSeeOther, views.IntakeURL(id))
}

// intakeStore is what intake.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type intakeStore interface {
	HoldIntake(ctx context.Context, agencyID, userID int64, data []byte) (*store.Intake, error)
	ImportIntake(ctx context.Context, agencyID, userID int64, id, mode string, progress func(done, total int)) (*store.IntakeCounts, error)
	Intake(ctx context.Context, agencyID, userID int64, id string) (*store.Intake, error)
	PreviewIntake(ctx context.Context, in *store.Intake) (*store.IntakePreview, error)
}
