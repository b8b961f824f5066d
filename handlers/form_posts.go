package handlers

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"caseverify/views"
)

// formTokenField is the form's one-time token (views.CSRF renders it).
const formTokenField = "_form"

// oncePerForm makes a form post act once per form token (issue 13 item 7):
// a second post of the same form (a double click, a browser resending after
// a timeout or a 503) is sent where the first led, with a message, instead
// of creating or sending again. A post that did not act (a form problem, a
// refusal, an error) releases its token, so correcting the form and sending
// it again works. A post without a token (an older page) acts as before.
func (h *Handler) oncePerForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, u := c.FormValue(formTokenField), currentUser(c)
		if token == "" || len(token) > 64 || u == nil {
			return next(c)
		}
		ctx := c.Request().Context()
		first, result, err := h.store.ClaimFormPost(ctx, u.ID, token)
		if err != nil {
			return err
		}
		if !first {
			if result == "" {
				return render(c, http.StatusConflict, views.ErrorPage(http.StatusConflict, "Already being done",
					"This form was already sent and the portal is still working on it. Wait a moment, then reload the page."))
			}
			if err := h.setFlash(c, "This form was already sent, so nothing was done again. Here is its result."); err != nil {
				return err
			}
			return c.Redirect(http.StatusSeeOther, result)
		}
		// The token is finished or released before the response's first
		// byte goes out (Echo calls Before hooks in WriteHeader): the user
		// may send the corrected form the moment the refusal arrives, and a
		// release that ran after the response raced that post, which then
		// found the token still held ("Already being done").
		settled := false
		settle := func() {
			if settled {
				return
			}
			settled = true
			// Recorded even when the caller has gone: the work is done.
			bg := context.WithoutCancel(ctx)
			res := c.Response()
			var err error
			what := "form token not released"
			if loc := res.Header().Get(echo.HeaderLocation); res.Status >= 300 && res.Status < 400 && loc != "" {
				err, what = h.store.FinishFormPost(bg, u.ID, token, loc), "form token result not recorded"
			} else {
				err = h.store.ReleaseFormPost(bg, u.ID, token)
			}
			if err != nil {
				h.log.LogAttrs(ctx, slog.LevelError, what, slog.String("error", err.Error()),
					slog.String("request_id", requestID(c)))
			}
		}
		c.Response().Before(settle)
		err = next(c)
		if !c.Response().Committed {
			// No response yet: an error (the error handler writes its page
			// later) or none at all. That post did not act.
			settle()
		}
		return err
	}
}

// formPostsStore is what form_posts.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type formPostsStore interface {
	ClaimFormPost(ctx context.Context, userID int64, token string) (first bool, result string, err error)
	FinishFormPost(ctx context.Context, userID int64, token, result string) error
	ReleaseFormPost(ctx context.Context, userID int64, token string) error
}
