package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// httpPortal is the portal's store and router on a real HTTP server. The
// providers are wired in between newHTTPPortal and register, because their
// emulators and adapters need the server's URL.
type httpPortal struct {
	st  *store.Store
	e   *echo.Echo
	srv *httptest.Server
	log *slog.Logger
	// dbPath is the SQLite file, for tests that compare the whole database.
	dbPath string
	h      *handlers.Handler // set by register
}

func newHTTPPortal(t *testing.T) *httpPortal {
	t.Helper()
	dbPath := pgtest.DatabaseURL(t, "portal.db")
	st, err := store.Open(context.Background(), dbPath, store.Options{DataKey: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := echo.New()
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &httpPortal{st: st, e: e, srv: srv, log: slog.New(slog.NewTextHandler(io.Discard, nil)), dbPath: dbPath}
}

// register mounts the handlers with svc; cfg carries the test's sandboxes
// and provider settings, the CSRF key and base URL are filled in here.
func (p *httpPortal) register(svc *verify.Service, cfg handlers.Config) {
	cfg.CSRFKey, cfg.BaseURL = []byte("k"), p.srv.URL
	h := handlers.New(p.st, p.log, sessions.NewCookieStore(bytes.Repeat([]byte{2}, 32)), svc, cfg)
	p.e.IPExtractor = echo.ExtractIPDirect()
	h.Register(p.e)
	p.h = h
}
