package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// webhookDuplicate marks a delivery that was authentic and already stored
// (the context key the webhook handler sets for countWebhooks).
const webhookDuplicate = "webhook_duplicate"

// countWebhooks counts each delivery to a webhook route by provider and by
// the answer it got (metrics.Webhook). The provider label is a configured
// provider's name, "twilio", or "unknown": never the path as sent.
func (h *Handler) countWebhooks(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if h.cfg.Metrics == nil {
			return err
		}
		provider := "unknown"
		switch {
		case strings.HasPrefix(c.Path(), "/webhooks/twilio/"):
			provider = "twilio"
		case h.verify.Provider(c.Param("provider")) != nil:
			provider = c.Param("provider")
		}
		status := c.Response().Status
		if err != nil {
			status = http.StatusInternalServerError
			var he *echo.HTTPError
			if errors.As(err, &he) {
				status = he.Code
			}
		}
		dup, _ := c.Get(webhookDuplicate).(bool)
		h.cfg.Metrics.Webhook(provider, status, dup)
		return err
	}
}
