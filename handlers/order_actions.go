package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/views"
)

// orderAction runs a caseworker's action on an order and answers like a
// form: back to the order page with a flash, or the page with the problem.
func (h *Handler) orderAction(c echo.Context, act func(u *store.User, o *store.Order) (string, string, error)) error {
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	msg, next, err := act(currentUser(c), o)
	if e := h.explain(err, "an action"); err != nil {
		if e.handled() {
			return h.renderOrder(c, o, e.Status, upperFirst(e.Message))
		}
		return err
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	if next == "" {
		next = fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.ID)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handler) orderResend(c echo.Context) error {
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		ch := c.FormValue("channel")
		err := h.verify.Resend(c.Request().Context(), u, o, ch)
		switch ch {
		case verify.ChannelQR:
			return "QR code ready.", fmt.Sprintf("/cases/%d/orders/%d/qr", o.CaseID, o.ID), err
		case verify.ChannelCopy:
			return "Here is the link.", fmt.Sprintf("/cases/%d/orders/%d?link=1", o.CaseID, o.ID), err
		}
		return "Link sent again by " + verify.ChannelWords(ch) + ".", "", err
	})
}

// orderCancel cancels an order, at the provider too, once the caseworker
// confirmed it (the order page's "Cancel this verification" opens the
// confirmation; a POST without confirm=yes shows it again and changes
// nothing). The order page then offers "Send a new verification".
func (h *Handler) orderCancel(c echo.Context) error {
	if c.FormValue("confirm") != "yes" {
		o, err := h.caseOrder(c)
		if err != nil {
			return err
		}
		return h.renderOrderWith(c, o, http.StatusOK, "", true)
	}
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		return "Verification canceled. You can send a new one below.", "", h.verify.Cancel(c.Request().Context(), u, o)
	})
}

func (h *Handler) orderNewLink(c echo.Context) error {
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		n, err := h.verify.NewLink(c.Request().Context(), u, o, c.FormValue("channel"))
		if err != nil || n == nil {
			return "", "", err
		}
		return "A new link was sent.", fmt.Sprintf("/cases/%d/orders/%d", n.CaseID, n.ID), nil
	})
}

// orderQRCreate records the order's QR delivery if it has none (the link
// went out another way) and opens the QR page, or the handout with
// then=handout. An existing QR delivery is reused.
func (h *Handler) orderQRCreate(c echo.Context) error {
	return h.orderAction(c, func(u *store.User, o *store.Order) (string, string, error) {
		if o.Link == "" || o.Status.Final() {
			return "", "", store.ValidationError{"channel": "This verification has no link to show any more."}
		}
		_, err := h.verify.QRLink(c.Request().Context(), u, o)
		next := fmt.Sprintf("/cases/%d/orders/%d/qr", o.CaseID, o.ID)
		if c.FormValue("then") == "handout" {
			next = fmt.Sprintf("/cases/%d/orders/%d/handout", o.CaseID, o.ID)
		}
		return "", next, err
	})
}

// noQRYet answers a GET of the QR page or handout of an order without a QR
// delivery: back to the order page, where the button records one.
func (h *Handler) noQRYet(c echo.Context, o *store.Order, err error) error {
	if err != nil {
		return err
	}
	if err := h.setFlash(c, "Press Show QR code or Printable handout to make the applicant's QR code."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.ID))
}

// renderOrder renders the order page, with a problem to show if any.
func (h *Handler) renderOrder(c echo.Context, o *store.Order, status int, problem string) error {
	return h.renderOrderWith(c, o, status, problem, false)
}

// newVerificationURL opens the form for a new verification like an ended
// one: the send form with its provider and products chosen, or, for a
// household order, the household form.
func (h *Handler) newVerificationURL(ctx context.Context, o *store.Order) (string, error) {
	if p := h.verify.Provider(o.Provider); p != nil && p.Caps.Household {
		ms, err := h.store.OrderMembers(ctx, o.AgencyID, o.ID)
		if err != nil {
			return "", err
		}
		if len(ms) > 1 {
			return fmt.Sprintf("/cases/%d/household-verify", o.CaseID), nil
		}
	}
	q := url.Values{"provider": {o.Provider}, "products": o.Products}
	return fmt.Sprintf("/cases/%d/members/%d/verify?%s", o.CaseID, o.MemberID, q.Encode()), nil
}

// renderOrderWith renders the order page; confirmCancel opens the cancel
// confirmation.
func (h *Handler) renderOrderWith(c echo.Context, o *store.Order, status int, problem string, confirmCancel bool) error {
	ctx := c.Request().Context()
	cs, err := h.store.Case(ctx, o.AgencyID, o.CaseID)
	if err != nil {
		return err
	}
	m, err := h.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return err
	}
	row, err := h.orderRow(c, o)
	if err != nil {
		return err
	}
	deliveries, err := h.store.Deliveries(ctx, o.AgencyID, o.ID)
	if err != nil {
		return err
	}
	events, err := h.store.Events(ctx, o.AgencyID, o.ID)
	if err != nil {
		return err
	}
	showLink := c.QueryParam("link") == "1"
	for _, d := range deliveries {
		if d.Channel == verify.ChannelCopy {
			showLink = true
		}
	}
	expired := !o.LinkExpiresAt.IsZero() && !h.store.Now().Before(o.LinkExpiresAt)
	canNew := (expired && !o.Status.Final()) || o.Status == store.StatusExpired || o.Status == store.StatusFailed ||
		(o.Status == store.StatusActionRequired && h.verify.RenewsLinks(o.Provider))
	widget, err := h.widgetActions(ctx, o) // Truework: fresh page, reverify (applicant.go)
	if err != nil {
		return err
	}
	qr, err := h.verify.ExistingQRLink(ctx, o)
	if err != nil {
		return err
	}
	// Staff read out or paste the portal's short tracked link, not the
	// provider's (a link shown before copy links were tracked stays the
	// provider's).
	var copyLink string
	if showLink {
		if copyLink, err = h.verify.ExistingTrackedLink(ctx, o, verify.ChannelCopy); err != nil {
			return err
		}
	}
	// A canceled order's next step is a new verification (a widget
	// provider's actions offer their own, which explains the SSN).
	var newVerification string
	if o.Status == store.StatusCanceled && (widget == nil || widget.NewVerificationURL == "") {
		if newVerification, err = h.newVerificationURL(ctx, o); err != nil {
			return err
		}
	}
	return render(c, status, views.OrderPage(views.OrderView{Order: o, CaseNumber: cs.Number, Row: row,
		Provider: h.providerLabel(o.Provider), Deliveries: deliveries, Events: events, ShowLink: showLink,
		// A widget provider's new verification needs the full SSN again, which
		// only the send form asks for: no one-click new link for it.
		HasEmail: m.Email != "", HasPhone: m.Phone != "", CanNewLink: canNew && o.Link != "" && o.WidgetToken == "", Problem: problem, Widget: widget, HasQR: qr != "",
		ConfirmCancel: confirmCancel, NewVerificationURL: newVerification, CopyLink: copyLink}))
}

func (h *Handler) orderHandout(c echo.Context) error {
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	if o.Link == "" || o.Status.Final() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	m, err := h.store.Member(c.Request().Context(), o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return err
	}
	// The printed QR code opens the tracked link of the order's QR delivery
	// (recorded by orderQRCreate, never by this GET). The address written
	// under it is that same link: a provider's link can run to three printed
	// lines, this one is short enough to type, and a typed visit counts as
	// an open like a scan.
	link, err := h.verify.ExistingQRLink(c.Request().Context(), o)
	if err != nil || link == "" {
		return h.noQRYet(c, o, err)
	}
	base := fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.ID)
	return render(c, http.StatusOK, views.HandoutPage(views.HandoutView{Lang: m.Language, FirstName: m.FirstName,
		AgencyName: currentUser(c).AgencyName, Products: o.Products, QRURL: base + "/qr.png", Link: link,
		Expires: o.LinkExpiresAt, BackURL: base}))
}

// orderActionsStore is what order_actions.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type orderActionsStore interface {
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	Deliveries(ctx context.Context, agencyID, orderID int64) ([]*store.Delivery, error)
	Events(ctx context.Context, agencyID, orderID int64) ([]*store.Event, error)
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Now() time.Time
	OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*store.OrderMember, error)
}
