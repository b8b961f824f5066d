package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// ssePing keeps proxies from closing a quiet stream.
const ssePing = 20 * time.Second

// caseEvents streams a case's changes to the browser (Server-Sent Events,
// consumed by htmx's SSE extension). Each change is sent as the same templ
// components the page rendered: the order's row, the household roll-up and
// the case status tag, which htmx swaps in by event name.
func (h *Handler) caseEvents(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	caseID, err := paramID(c, "id")
	if err != nil {
		return err
	}
	// Check access before subscribing: another agency's case is "not found".
	if _, err := h.store.Case(ctx, u.AgencyID, caseID); err != nil {
		return err
	}
	sub := h.feed.Subscribe(u.AgencyID, caseID)
	defer sub.Close()
	defer h.cfg.Metrics.StreamOpened()()

	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // long-lived: the server's WriteTimeout does not apply
	w.WriteHeader(http.StatusOK)
	// Send the current state first only when the page may be behind: on a
	// reconnect (the browser says the last event it had), or when the case
	// changed after the page was rendered. Otherwise the page is current, and
	// replacing every row at load would only make it flicker.
	behind := c.Request().Header.Get("Last-Event-ID") != ""
	if at, err := strconv.ParseInt(c.QueryParam("at"), 10, 64); err != nil {
		behind = true
	} else if !behind {
		if behind, err = h.store.CaseChangedSince(ctx, u.AgencyID, caseID, time.UnixMilli(at)); err != nil {
			return err
		}
	}
	if behind {
		if err := h.sendCaseState(ctx, w, u.AgencyID, caseID, 0); err != nil {
			return nil
		}
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	// The stream outlives the request that checked the session: a sign-out,
	// a disabled account or the session's time limits must end it too, so
	// the session is checked (without counting as activity) before anything
	// is sent, and on every ping. The streams of a case ask together when a
	// change arrives, and are answered by one read (live_sessions.go).
	sid := h.sessionToken(c.Request())
	ended := func() bool {
		live, err := h.sessions.live(ctx, sid)
		return err != nil || !live
	}
	ping := time.NewTicker(ssePing)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.stopping:
			return nil // the server is shutting down
		case <-ping.C:
			if ended() {
				return signedOut(ctx, w, caseID)
			}
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return nil
			}
		case ch := <-sub.C:
			if ended() {
				return signedOut(ctx, w, caseID)
			}
			// Coalesce a burst of changes into one render.
			orderIDs := map[int64]bool{ch.OrderID: true}
			seq := ch.Seq
		drain:
			for {
				select {
				case more := <-sub.C:
					orderIDs[more.OrderID] = true
					seq = max(seq, more.Seq)
				default:
					break drain
				}
			}
			if sub.TakeLagged() {
				// Changes were dropped while this browser was slow: which
				// orders they were about is unknown, so send them all.
				orderIDs = map[int64]bool{0: true}
			}
			ids := slices.Sorted(maps.Keys(orderIDs))
			if ids[0] == 0 {
				ids = ids[:1]
			}
			// Rendered once for every stream of the case that heard the
			// same changes (live_render.go); on the request's values (the
			// viewer's role and zone) but not its end: another stream may
			// be waiting for it.
			zone := ""
			if z := views.ChromeFrom(ctx).Zone; z != nil {
				zone = z.String()
			}
			out, err := h.live.do(newLiveKey(u.AgencyID, caseID, seq, ids, u.Role, zone), func() ([]byte, error) {
				h.cfg.Metrics.LiveRender()
				var buf bytes.Buffer
				for _, id := range ids {
					if err := h.sendCaseState(context.WithoutCancel(ctx), &buf, u.AgencyID, caseID, id); err != nil {
						return nil, err
					}
				}
				return buf.Bytes(), nil
			})
			if err != nil {
				return nil
			}
			if _, err := w.Write(out); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil // the browser went away
		}
	}
}

// signedOut ends a case's stream whose session ended with one last event,
// "signed-out": the page shows it as a banner (and closes the stream, so the
// browser does not reconnect), and keeps what it showed. Nothing about the
// case is sent.
func signedOut(ctx context.Context, w *echo.Response, caseID int64) error {
	if err := writeEvent(ctx, w, "signed-out", views.SignedOutBanner(fmt.Sprintf("/cases/%d", caseID))); err == nil {
		_ = http.NewResponseController(w).Flush()
	}
	return nil
}

// sendCaseState writes the roll-up, the case status and either one order's
// row (orderID != 0) or every order's row.
func (h *Handler) sendCaseState(ctx context.Context, w io.Writer, agencyID, caseID, orderID int64) error {
	cs, err := h.store.Case(ctx, agencyID, caseID)
	if err != nil {
		return err
	}
	rows, all, err := h.caseOrderRows(ctx, agencyID, caseID)
	if err != nil {
		return err
	}
	for _, r := range slices.Concat(slices.Collect(maps.Values(rows))...) {
		if orderID == 0 || r.ID == orderID {
			if err := writeEvent(ctx, w, r.SSEName(), views.OrderRowBody(r)); err != nil {
				return err
			}
		}
	}
	if err := writeEvent(ctx, w, "rollup", views.RollUpText(views.NewRollUp(all))); err != nil {
		return err
	}
	if err := h.sendEngagement(ctx, w, agencyID, cs); err != nil {
		return err
	}
	return writeEvent(ctx, w, "case-status", views.CaseStatusBody(cs.Status))
}

// writeEvent renders cmp and writes it as one SSE event: one data: line per
// line of HTML.
func writeEvent(ctx context.Context, w io.Writer, name string, cmp templ.Component) error {
	var buf bytes.Buffer
	if err := cmp.Render(ctx, &buf); err != nil {
		return err
	}
	var out bytes.Buffer
	// An id makes the browser send Last-Event-ID when it reconnects.
	fmt.Fprintf(&out, "id: %d\nevent: %s\n", time.Now().UnixNano(), name)
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		out.WriteString("data: ")
		out.Write(line)
		out.WriteByte('\n')
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// caseOrderRows returns the case's orders as rows by member, and one row
// per order for the roll-up. A household order (one order, several members)
// shows under every member it covers, each with their own part's status and
// outcome; the roll-up counts it once.
func (h *Handler) caseOrderRows(ctx context.Context, agencyID, caseID int64) (map[int64][]views.OrderRow, []views.OrderRow, error) {
	orders, err := h.store.CaseOrders(ctx, agencyID, caseID)
	if err != nil {
		return nil, nil, err
	}
	reports, err := h.store.CaseReports(ctx, agencyID, caseID)
	if err != nil {
		return nil, nil, err
	}
	out := map[int64][]views.OrderRow{}
	var all []views.OrderRow
	for _, o := range orders {
		readable, has := reports[o.ID]
		row := views.NewOrderRow(o, h.providerLabel(o.Provider), has, has && !readable)
		all = append(all, row)
		var ms []*store.OrderMember
		if p := h.verify.Provider(o.Provider); p != nil && p.Caps.Household {
			if ms, err = h.store.OrderMembers(ctx, agencyID, o.ID); err != nil {
				return nil, nil, err
			}
		}
		if len(ms) <= 1 {
			out[o.MemberID] = append(out[o.MemberID], row)
			continue
		}
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Name
		}
		for _, m := range ms {
			out[m.MemberID] = append(out[m.MemberID], row.ForMember(m, names))
		}
	}
	return out, all, nil
}

// eventsStore is what events.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type eventsStore interface {
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	CaseChangedSince(ctx context.Context, agencyID, caseID int64, t time.Time) (bool, error)
	CaseOrders(ctx context.Context, agencyID, caseID int64) ([]*store.Order, error)
	CaseReports(ctx context.Context, agencyID, caseID int64) (map[int64]bool, error)
	OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*store.OrderMember, error)
	SessionsLive(ctx context.Context, tokens []string) (map[string]bool, error)
}
