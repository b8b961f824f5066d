package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"caseverify/providers"
	"caseverify/store"
)

// webhookBodyLimit is the most a provider delivery may carry (reliability.md
// W11). The global body limit enforces it too; this read is bounded again so
// the rule holds here on its own.
const webhookBodyLimit = 1 << 20

// webhook receives a provider's delivery: size limit, authentication on the
// raw bytes, then one committed insert into the inbox before the 2xx.
// Processing happens off the request path (verify.Service.RunInbox), so the
// answer is fast and never waits on a provider call.
func (h *Handler) webhook(c echo.Context) error {
	name := c.Param("provider")
	p := h.verify.Provider(name)
	if p == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r := c.Request()
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, webhookBodyLimit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	if err != nil {
		if he, ok := err.(*echo.HTTPError); ok {
			return he
		}
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	d := providers.Delivery{Header: r.Header, Body: body, Path: "/" + c.Param("*"), RemoteAddr: c.RealIP()}
	if c.Param("*") == "" {
		d.Path = ""
	}
	if p.Caps.PerOrderWebhook {
		// The URL's secret names the order; compared by hash in the store
		// and once more in constant time. An unknown URL stores nothing.
		if _, err := h.store.OrderBySecret(r.Context(), name, c.Param("*")); err != nil {
			h.refused(c, "webhook_auth", slog.String("provider", name), slog.String("reason", "unknown order URL"))
			return c.NoContent(http.StatusNotFound)
		}
	}
	if err := p.Webhooks.Authenticate(d); err != nil {
		// Never log the body or the presented credential.
		h.refused(c, "webhook_auth", slog.String("provider", name), slog.String("reason", "authentication"))
		// What the provider's own examples answer (Caps.AuthFailureStatus).
		return c.NoContent(p.Caps.AuthStatus())
	}
	key := p.Webhooks.DedupeKey(d)
	if key == "" {
		// No stable id, or legitimate re-fires are byte-identical (Payscore):
		// every delivery is kept and processed.
		key = "unique:" + randomHex()
	}
	path := d.Path
	if p.Caps.PerOrderWebhook {
		path = store.InboxPathForSecret(c.Param("*")) // the hash, not the secret
	}
	inserted, err := h.store.AddInboxFor(r.Context(), name, key, path, h.verify.Partition(p, d, path), body)
	if err != nil {
		return err // 5xx: the provider retries; nothing was acknowledged
	}
	if inserted {
		h.verify.Notify()
	} else {
		c.Set(webhookDuplicate, true)
		h.log.Info("webhook duplicate", "provider", name)
	}
	return c.String(http.StatusOK, "ok")
}

func randomHex() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// webhooksStore is what webhooks.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type webhooksStore interface {
	AddInboxFor(ctx context.Context, provider, dedupeKey, path, partition string, body []byte) (inserted bool, err error)
	OrderBySecret(ctx context.Context, provider, secret string) (*store.Order, error)
}
