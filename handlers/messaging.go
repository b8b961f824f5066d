package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/providers/sms"
	"caseverify/store"
	"caseverify/views"
)

// linkOpen is the applicant's tracked link, /l/{code}: it records the first
// open per delivery (so staff see "sent by SMS 10:02, opened 10:04"), then
// forwards to the provider's hosted page. Nothing about the case shows here;
// a link whose verification has ended gets a plain page in the applicant's
// language. Note: some mail scanners open links before the applicant does,
// which can count as an open.
func (h *Handler) linkOpen(c echo.Context) error {
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusOK) // link previews do not count as opens
	}
	lo, err := h.store.OpenLink(c.Request().Context(), c.Param("code"))
	if errors.Is(err, store.ErrNotFound) {
		return render(c, http.StatusNotFound, views.LinkEndedPage("en", "your agency", time.Time{}))
	}
	if err != nil {
		return err
	}
	o := lo.Order
	expired := o.LinkExpired(h.store.Now())
	if o.Status.Final() || expired || o.Link == "" {
		name, err := h.store.AgencyName(c.Request().Context(), o.AgencyID)
		if err != nil {
			return err
		}
		var on time.Time
		if expired && (!o.Status.Final() || o.Status == store.StatusExpired) {
			on = o.LinkExpiresAt // it expired: say so, and when
		}
		return render(c, http.StatusGone, views.LinkEndedPage(lo.Language, name, on))
	}
	return c.Redirect(http.StatusFound, o.Link)
}

// twilioVerified checks X-Twilio-Signature over the public URL Twilio called
// and the posted form (HMAC-SHA1, compared in constant time).
func (h *Handler) twilioVerified(c echo.Context) (url.Values, bool) {
	if h.cfg.TwilioAuthToken == "" {
		h.refused(c, "webhook_auth", slog.String("provider", "twilio"), slog.String("reason", "no auth token configured"))
		return nil, false
	}
	r := c.Request()
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	full := h.cfg.BaseURL + r.URL.RequestURI()
	if !sms.VerifySignature(h.cfg.TwilioAuthToken, full, r.PostForm, r.Header.Get(sms.SignatureHeader)) {
		h.refused(c, "webhook_auth", slog.String("provider", "twilio"), slog.String("reason", "signature"))
		return nil, false
	}
	return r.PostForm, true
}

// twilioStatus records a text message's delivery status (Twilio's status
// callback).
func (h *Handler) twilioStatus(c echo.Context) error {
	form, ok := h.twilioVerified(c)
	if !ok {
		return c.NoContent(http.StatusForbidden)
	}
	u, err := sms.ParseStatusCallback(form)
	if err != nil {
		return c.NoContent(http.StatusBadRequest)
	}
	errText := ""
	if u.ErrorCode != 0 {
		errText = sms.ErrorText(u.ErrorCode)
	}
	// Twilio does not promise the order of its callbacks: the status on
	// record is replaced only by one that supersedes it (sms.MessageStatus.
	// Supersedes), checked inside the store's write so racing callbacks
	// cannot both win.
	replaces := func(prev string) bool { return u.Status.Supersedes(sms.MessageStatus(prev)) }
	applied, err := h.store.SetMessageStatus(c.Request().Context(), u.MessageSID, string(u.Status), errText, replaces)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !u.Status.Known() {
		// Twilio adds statuses without notice: keep the last known one and
		// log the new name (a status word, never the message or number).
		name := string(u.Status)
		if len(name) > 32 {
			name = name[:32]
		}
		h.log.Warn("twilio status unknown; kept the previous one", "status", name)
	} else if err == nil && !applied {
		h.log.Info("twilio status arrived late; kept the later one", "status", string(u.Status))
	}
	// Acknowledged either way: a late or unknown status is not an error, and
	// a non-2xx answer would only make Twilio retry it.
	return c.NoContent(http.StatusNoContent)
}

// twilioInbound handles replies: STOP opts the number out of texts, START
// opts it back in. Twilio blocks texts to opted-out numbers too; the portal
// records it so staff see why a text was not sent.
func (h *Handler) twilioInbound(c echo.Context) error {
	form, ok := h.twilioVerified(c)
	if !ok {
		return c.NoContent(http.StatusForbidden)
	}
	from, body := form.Get("From"), form.Get("Body")
	phone, err := store.NormalizePhone(from)
	if err == nil {
		switch {
		case sms.IsOptOut(body):
			err = h.store.OptOut(c.Request().Context(), phone)
		case sms.IsOptIn(body):
			err = h.store.OptIn(c.Request().Context(), phone)
		}
		if err != nil {
			return err
		}
	}
	return c.Blob(http.StatusOK, "application/xml", []byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
}

// messagingStore is what messaging.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type messagingStore interface {
	AgencyName(ctx context.Context, agencyID int64) (string, error)
	Now() time.Time
	OpenLink(ctx context.Context, code string) (*store.LinkOpen, error)
	OptIn(ctx context.Context, phone string) error
	OptOut(ctx context.Context, phone string) error
	SetMessageStatus(ctx context.Context, messageID, status, errText string, replaces func(prev string) bool) (bool, error)
}
