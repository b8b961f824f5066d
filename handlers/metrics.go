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
		if h.cfg.Metrics == nil {
			return next(c)
		}
		counted := false
		count := func(status int) {
			if counted {
				return
			}
			counted = true
			provider := "unknown"
			switch {
			case strings.HasPrefix(c.Path(), "/webhooks/twilio/"):
				provider = "twilio"
			case h.verify.Provider(c.Param("provider")) != nil:
				provider = c.Param("provider")
			}
			dup, _ := c.Get(webhookDuplicate).(bool)
			h.cfg.Metrics.Webhook(provider, status, dup)
		}
		// Counted as the answer goes out (Echo runs Before hooks in
		// WriteHeader), not after it: a sender that reads /metrics the
		// moment it has its answer sees its delivery counted.
		c.Response().Before(func() { count(c.Response().Status) })
		err := next(c)
		if !c.Response().Committed {
			// No answer yet: the error handler writes it later.
			status := http.StatusInternalServerError
			var he *echo.HTTPError
			if err == nil {
				status = c.Response().Status
			} else if errors.As(err, &he) {
				status = he.Code
			}
			count(status)
		}
		return err
	}
}
