package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/views"
)

// applicantPage is the applicant's page for a widget provider, /v/{token}
// (Truework Direct): public, the token is the secret. It shows the member's
// first name and the agency's name, and opens the provider's widget with a
// session token. An unknown, expired or replaced token, or a verification
// that has ended, gets the plain "link ended" page.
func (h *Handler) applicantPage(c echo.Context) error {
	v, err := h.verify.OpenWidgetPage(c.Request().Context(), c.Param("token"))
	if errors.Is(err, store.ErrNotFound) {
		return render(c, http.StatusNotFound, views.LinkEndedPage("en", "your agency", time.Time{}))
	}
	if err != nil {
		return err
	}
	if v.Ended {
		return render(c, http.StatusGone, views.LinkEndedPage(v.Lang, v.AgencyName, v.ExpiredOn))
	}
	c.Response().Header().Set("Content-Security-Policy", widgetCSP(h.cfg.BaseURL, v.ScriptURL, v.FrameSources))
	return render(c, http.StatusOK, views.WidgetPage(views.WidgetView{Lang: v.Lang, FirstName: v.FirstName,
		AgencyName: v.AgencyName, ScriptURL: v.ScriptURL, PublishableKey: v.PublishableKey, Env: v.Env,
		SessionToken: v.SessionToken}))
}

// widgetCSP is the Content-Security-Policy of the applicant page: the
// portal's own policy, plus the widget script's origin for scripts, styles,
// connections and frames, and the origins the provider says its widget
// frames (providers.WidgetSettings.FrameSources). In sandbox mode the stand-in and
// its widget are the portal's own origin: 'self' is enough, and the
// emulator's pages allow being framed by 'self'.
func widgetCSP(baseURL, scriptURL string, frames []string) string {
	var extra []string
	if u, err := url.Parse(scriptURL); err == nil && u.Host != "" && u.Scheme == "https" {
		origin := u.Scheme + "://" + u.Host
		if b, err := url.Parse(baseURL); err != nil || b.Scheme+"://"+b.Host != origin {
			extra = append(extra, origin)
			extra = append(extra, frames...)
		}
	}
	add := " " + strings.Join(extra, " ")
	if len(extra) == 0 {
		add = ""
	}
	csp := contentSecurityPolicy
	for _, d := range []string{"script-src 'self'", "style-src 'self'", "connect-src 'self'"} {
		csp = strings.Replace(csp, d, d+add, 1)
	}
	return csp + "; frame-src 'self'" + add
}

// orderFreshSession sends the applicant a new page with a fresh widget
// session (after Truework's applicant-action-required, or when the page
// expired).
func (h *Handler) orderFreshSession(c echo.Context) error {
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		ch := c.FormValue("channel")
		n, err := h.verify.SendFreshSession(c.Request().Context(), u, o, ch)
		if err != nil || n == nil {
			return "", "", err
		}
		switch ch {
		case verify.ChannelQR:
			return "QR code ready.", fmt.Sprintf("/cases/%d/orders/%d/qr", o.CaseID, o.ID), nil
		case verify.ChannelCopy:
			return "Here is the new page.", fmt.Sprintf("/cases/%d/orders/%d?link=1", o.CaseID, o.ID), nil
		}
		return "A new page was sent by " + verify.ChannelWords(ch) + ".", "", nil
	})
}

// orderReverify starts a reverification of a completed order (Truework,
// within 90 days) and shows the new order.
func (h *Handler) orderReverify(c echo.Context) error {
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		n, err := h.verify.Reverify(c.Request().Context(), u, o)
		if err != nil || n == nil {
			return "", "", err
		}
		return "Reverification started.", fmt.Sprintf("/cases/%d/orders/%d", n.CaseID, n.ID), nil
	})
}

// widgetActions is what the order page offers for a widget order; nil for
// other providers.
func (h *Handler) widgetActions(ctx context.Context, o *store.Order) (*views.WidgetActions, error) {
	a, err := h.verify.WidgetActionsFor(ctx, o)
	if err != nil || a == nil {
		return nil, err
	}
	v := &views.WidgetActions{FreshSession: a.FreshSession, Reverify: a.Reverify, Until: a.Until, NoReverify: a.NoReverify}
	if a.NewVerification {
		if v.NewVerificationURL, err = h.newVerificationURL(ctx, o); err != nil {
			return nil, err
		}
	}
	if o.RefreshOf != 0 {
		v.RefreshOfURL = fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.RefreshOf)
	}
	return v, nil
}
