package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/store/engagement"
	"caseverify/views"
)

func (h *Handler) settingsForm(c echo.Context) error {
	u := currentUser(c)
	s, err := h.store.Settings(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	fb, err := h.store.RenewalFallback(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	f := views.SettingsForm{FirstHours: fmt.Sprint(s.ReminderFirstHours), EveryHours: fmt.Sprint(s.ReminderEveryHours),
		Count: fmt.Sprint(s.ReminderCount), Channel: s.ReminderChannel, Provider: s.DefaultProvider, Program: s.DefaultProgram,
		Products: s.DefaultProducts, RenewalFallback: fb, LinkDays: fmt.Sprint(s.LinkLifetimeHours / 24)}
	es, err := h.store.EngagementSettings(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	f.Engagement = engagementForm(es)
	return h.renderSettings(c, http.StatusOK, f)
}

func (h *Handler) renderSettings(c echo.Context, status int, f views.SettingsForm) error {
	stats, err := h.store.ChannelStats(c.Request().Context(), currentUser(c).AgencyID)
	if err != nil {
		return err
	}
	f.Stats, f.Providers, f.MFARequired = stats, h.providerChoices(), currentUser(c).MFARequired
	return render(c, status, views.SettingsPage(f))
}

// settingsMFA turns the agency's "MFA required for everyone" on or off
// (audited). Staff without an authenticator set one up at their next
// sign-in; sessions already open go on.
func (h *Handler) settingsMFA(c echo.Context) error {
	u := currentUser(c)
	on := c.FormValue("mfa_required") == "on"
	if err := h.store.SetMFARequired(c.Request().Context(), u.AgencyID, on); err != nil {
		return err
	}
	subject, msg := "off", "Two-step sign-in is now optional."
	if on {
		subject, msg = "on", "Everyone must now use two-step sign-in. Staff without it set it up at their next sign-in."
	}
	if err := h.audit(c, store.AuditMFARequired, 0, 0, subject); err != nil {
		return err
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/settings")
}

func (h *Handler) settingsSave(c echo.Context) error {
	u := currentUser(c)
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := views.SettingsForm{FirstHours: form.Get("reminder_first_hours"), EveryHours: form.Get("reminder_every_hours"),
		Count: form.Get("reminder_count"), Channel: form.Get("reminder_channel"), Provider: form.Get("default_provider"),
		Program: form.Get("default_program"), Products: form["default_products"], RenewalFallback: form.Get("renewal_fallback"),
		LinkDays: form.Get("link_lifetime_days")}
	f.Engagement = views.EngagementForm{Shown: form.Get("engagement_shown") == "1", Seasonal: form.Get("engagement_seasonal") == "1",
		Hours: form.Get("engagement_hours"), Rate: form.Get("engagement_rate"),
		LookbackApplication: form.Get("engagement_lookback_application"), LookbackRenewal: form.Get("engagement_lookback_renewal")}
	// Checked before anything is saved, so a bad value saves nothing.
	es := engagementSettings(f.Engagement)
	if p := es.Validate(); len(p) > 0 {
		f.Problems = p
		return h.renderSettings(c, http.StatusUnprocessableEntity, f)
	}
	s := store.AgencySettings{ReminderChannel: f.Channel, DefaultProvider: f.Provider, DefaultProgram: f.Program,
		DefaultProducts: f.Products}
	var perr error
	if s.ReminderFirstHours, perr = strconv.Atoi(f.FirstHours); perr != nil {
		s.ReminderFirstHours = -1
	}
	if s.ReminderEveryHours, perr = strconv.Atoi(f.EveryHours); perr != nil {
		s.ReminderEveryHours = -1
	}
	if s.ReminderCount, perr = strconv.Atoi(f.Count); perr != nil {
		s.ReminderCount = -1
	}
	if f.LinkDays == "" {
		s.LinkLifetimeHours = 0 // not on the form: as long as the provider keeps the link
	} else if days, derr := strconv.Atoi(f.LinkDays); derr != nil || days < 0 {
		s.LinkLifetimeHours = -1
	} else {
		s.LinkLifetimeHours = min(days, store.MaxLinkLifetimeHours/24+1) * 24 // out of range is refused by UpdateSettings
	}
	if h.verify.Provider(s.DefaultProvider) == nil {
		s.DefaultProvider = ""
	}
	err = h.store.UpdateSettings(c.Request().Context(), u.AgencyID, s)
	if ferr := h.store.SetRenewalFallback(c.Request().Context(), u.AgencyID, f.RenewalFallback); ferr != nil {
		var fp store.ValidationError
		if errors.As(ferr, &fp) {
			var problems store.ValidationError
			if !errors.As(err, &problems) {
				problems = store.ValidationError{}
			}
			for k, v := range fp {
				problems[k] = v
			}
			err = problems
		} else if err == nil {
			err = ferr
		}
	}
	if err == nil {
		err = h.store.SetEngagementSettings(c.Request().Context(), u.AgencyID, es)
	}
	var problems store.ValidationError
	if errors.As(err, &problems) {
		f.Problems = problems
		return h.renderSettings(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditSettingsSaved, 0, 0, ""); err != nil {
		return err
	}
	if err := h.setFlash(c, "Settings saved."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/settings")
}

// settingsStore is what settings.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type settingsStore interface {
	ChannelStats(ctx context.Context, agencyID int64) ([]store.ChannelStat, error)
	EngagementSettings(ctx context.Context, agencyID int64) (engagement.Settings, error)
	RenewalFallback(ctx context.Context, agencyID int64) (string, error)
	SetEngagementSettings(ctx context.Context, agencyID int64, e engagement.Settings) error
	SetMFARequired(ctx context.Context, agencyID int64, required bool) error
	SetRenewalFallback(ctx context.Context, agencyID int64, v string) error
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
	UpdateSettings(ctx context.Context, agencyID int64, a store.AgencySettings) error
}
