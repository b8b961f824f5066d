package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

func (h *Handler) providerChoices() []views.ProviderChoice {
	var out []views.ProviderChoice
	for _, p := range h.verify.Providers() {
		var prods []string
		for _, pr := range p.Verifier.Products() {
			prods = append(prods, string(pr))
		}
		out = append(out, views.ProviderChoice{Name: p.Name, Label: p.Label, Products: prods, CanNotify: p.Caps.CanNotify, Sandbox: p.Sandbox, SandboxHint: p.SandboxHint,
			FullSSN: p.Caps.NeedsFullSSN, Employers: p.Caps.AsksEmployers})
	}
	return out
}

// caseMember loads the case and member named in the path, scoped to the user's agency.
func (h *Handler) caseMember(c echo.Context) (*store.Case, *store.Member, error) {
	memberID, err := paramID(c, "mid")
	if err != nil {
		return nil, nil, err
	}
	cs, err := h.pathCase(c)
	if err != nil {
		return nil, nil, err
	}
	m, err := h.store.Member(c.Request().Context(), currentUser(c).AgencyID, cs.ID, memberID)
	if err != nil {
		return nil, nil, err
	}
	return cs, m, nil
}

func (h *Handler) sendForm(c echo.Context) error {
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	f := views.SendForm{CaseID: cs.ID, CaseNumber: cs.Number, Member: memberView(m, false), Providers: h.providerChoices(), Products: []string{"income"}}
	if len(f.Providers) > 0 {
		f.Provider = f.Providers[0].Name
	}
	// "Send a new verification" from an ended order preselects its provider
	// and products (?provider=truework&products=income); unknown values are
	// ignored rather than refused, the form shows the defaults instead.
	if want := c.QueryParam("provider"); want != "" {
		for _, p := range f.Providers {
			if p.Name != want {
				continue
			}
			f.Provider = p.Name
			if asked := c.QueryParams()["products"]; len(asked) > 0 {
				var keep []string
				for _, pr := range asked {
					if slices.Contains(p.Products, pr) {
						keep = append(keep, pr)
					}
				}
				if len(keep) > 0 {
					f.Products = keep
				}
			}
		}
	}
	switch {
	case m.Email != "":
		f.Channel = verify.ChannelEmail
	case m.Phone != "":
		f.Channel = verify.ChannelSMS
	default:
		f.Channel = verify.ChannelQR
	}
	return render(c, http.StatusOK, views.SendFormPage(f))
}

func (h *Handler) orderCreate(c echo.Context) error {
	cs, m, err := h.caseMember(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	req := verify.SendRequest{User: currentUser(c), CaseID: cs.ID, MemberID: m.ID, Provider: form.Get("provider"),
		Products: form["products"], Channel: form.Get("channel"), SSN: digits(form.Get("ssn"))}
	for _, e := range strings.Split(form.Get("employers"), "\n") {
		if e = strings.TrimSpace(e); e != "" {
			req.Employers = append(req.Employers, e)
		}
	}
	f := views.SendForm{CaseID: cs.ID, CaseNumber: cs.Number, Member: memberView(m, false), Providers: h.providerChoices(),
		Provider: req.Provider, Products: req.Products, Channel: req.Channel, Employers: form.Get("employers")}
	o, err := h.verify.Send(c.Request().Context(), req)
	if e := h.explain(err, "an order"); err != nil {
		switch e.Kind {
		case kindInput:
			f.Problems = e.Fields
			return render(c, e.Status, views.SendFormPage(f))
		case kindProvider:
			// The provider's words, already made plain and PII-free by the adapter.
			f.Error = e.Message
			f.Problems = map[string]string{}
			for field, msg := range e.Fields {
				if slices.Contains(views.SendFormOrder, field) {
					f.Problems[field] = msg
				}
			}
			f.Details = views.ProviderFieldProblems(e.Fields)
			if len(f.Problems) == 0 && len(f.Details) > 0 {
				// Nothing on this form is marked: the list of the provider's
				// problems, field by field, says it all ("check the fields
				// marked" would point at nothing).
				f.Error = ""
			}
			return render(c, e.Status, views.SendFormPage(f))
		case kindUnconfirmed:
			// The provider may have the order: it is kept, and shown as
			// being checked; a second send is refused meanwhile.
			if ferr := h.setFlash(c, e.Message); ferr != nil {
				return ferr
			}
			return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d#member-%d", cs.ID, m.ID))
		case kindDelivery:
			if ferr := h.setFlash(c, "The order was created, but "+e.Message+" Resend it from the verification page."); ferr != nil {
				return ferr
			}
			return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d/orders/%d", o.CaseID, o.ID))
		}
		return err
	}
	switch req.Channel {
	case verify.ChannelQR:
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d/orders/%d/qr", o.CaseID, o.ID))
	case verify.ChannelCopy:
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d/orders/%d?link=1", o.CaseID, o.ID))
	}
	msg := map[string]string{
		verify.ChannelEmail: "Verification sent to " + m.FirstName + " by email.", verify.ChannelSMS: "Verification sent to " + m.FirstName + " by text message.",
		verify.ChannelProvider: "Verification created; the provider sends " + m.FirstName + " the link.",
	}[req.Channel]
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/cases/%d#member-%d", cs.ID, m.ID))
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// caseOrder loads the order named in the path; it must belong to the case
// and the user's agency, or it is "not found".
func (h *Handler) caseOrder(c echo.Context) (*store.Order, error) {
	u := currentUser(c)
	caseID, err := paramID(c, "id")
	if err != nil {
		return nil, err
	}
	orderID, err := paramID(c, "oid")
	if err != nil {
		return nil, err
	}
	o, err := h.store.Order(c.Request().Context(), u.AgencyID, orderID)
	if err != nil {
		return nil, err
	}
	if o.CaseID != caseID || o.ProviderOrderID == "" {
		return nil, errNotFound
	}
	return o, nil
}

func (h *Handler) providerLabel(name string) string {
	if p := h.verify.Provider(name); p != nil {
		return p.Label
	}
	return name
}

// orderRow builds the row view of an order, with its report state.
func (h *Handler) orderRow(c echo.Context, o *store.Order) (views.OrderRow, error) {
	r, err := h.store.LatestReport(c.Request().Context(), o.AgencyID, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return views.NewOrderRow(o, h.providerLabel(o.Provider), false, false), nil
	}
	if err != nil {
		return views.OrderRow{}, err
	}
	return views.NewOrderRow(o, h.providerLabel(o.Provider), true, r.Purged), nil
}

func (h *Handler) orderShow(c echo.Context) error {
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	return h.renderOrder(c, o, http.StatusOK, "")
}

// orderQR is the full-screen QR code the applicant at the desk scans, in
// the member's language. The code opens the tracked link of the order's QR
// delivery, so a scan counts as an open of the QR channel. A GET records
// nothing: without a QR delivery it sends staff back to the order page,
// whose "Show QR code" button POSTs (orderQRCreate) to record one.
func (h *Handler) orderQR(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	m, err := h.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return err
	}
	if o.Link == "" || o.Status.Final() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	// The link written out under the code is the tracked one it opens:
	// short enough to type, and a typed visit counts as an open too.
	link, err := h.verify.ExistingQRLink(ctx, o)
	if err != nil || link == "" {
		return h.noQRYet(c, o, err)
	}
	return render(c, http.StatusOK, views.QRPage(views.QRView{CaseID: o.CaseID, OrderID: o.ID, Lang: m.Language, FirstName: m.FirstName,
		AgencyName: currentUser(c).AgencyName, Link: link, Expires: o.LinkExpiresAt}))
}

// orderQRImage draws the QR code of the applicant's tracked QR link (the
// provider's link for an order with no tracked QR delivery). It is made on
// each request and never written to disk.
func (h *Handler) orderQRImage(c echo.Context) error {
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	if o.Link == "" || o.Status.Final() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	link, err := h.verify.QRImageLink(c.Request().Context(), o)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(link, qrcode.Medium, 512)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

func (h *Handler) reportShow(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	recs, err := h.store.LatestReports(ctx, o.AgencyID, o.ID)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return errNotFound
	}
	cs, err := h.store.Case(ctx, o.AgencyID, o.CaseID)
	if err != nil {
		return err
	}
	newest := recs[len(recs)-1]
	v := views.ReportView{Order: o, CaseNumber: cs.Number, Provider: h.providerLabel(o.Provider), FetchedAt: newest.FetchedAt,
		ExpiresAt: newest.ExpiresAt, Gone: true}
	v.ExpiresSoon = !newest.ExpiresAt.IsZero() && newest.ExpiresAt.Sub(h.store.Now()) < 48*time.Hour
	for _, rec := range recs {
		if rec.Purged {
			continue
		}
		r, err := providers.DecodeReport(rec.Data)
		if err != nil {
			return fmt.Errorf("decode report %d: %w", rec.ID, err)
		}
		fillReportView(&v, r)
		v.Gone = false
		label := "Download PDF"
		if len(recs) > 1 {
			label = "Download the " + reportKindLabel(rec.Kind) + " PDF"
		}
		v.PDFs = append(v.PDFs, views.PDFLink{Label: label, URL: v.PDFURL(rec.ID)})
	}
	if ms, err := h.store.OrderMembers(ctx, o.AgencyID, o.ID); err != nil {
		return err
	} else if len(ms) > 1 {
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Name
		}
		v.Household = strings.Join(names, ", ")
		v.Holders = views.GroupAccounts(v.Accounts, ms)
	}
	if err := h.reportEngagement(ctx, &v, cs, recs); err != nil {
		return err
	}
	if err := h.audit(c, store.AuditViewReport, o.CaseID, o.MemberID, fmt.Sprintf("order %d", o.ID)); err != nil {
		return err
	}
	if printable, _ := c.Get(printKey).(bool); printable {
		v.PrintedAt = h.store.Now()
		return render(c, http.StatusOK, views.ReportPrintPage(v))
	}
	return render(c, http.StatusOK, views.ReportPage(v))
}

func reportKindLabel(kind string) string {
	switch kind {
	case string(providers.ReportAssets):
		return "accounts"
	case string(providers.ReportIncome):
		return "income"
	case string(providers.ReportBank):
		return "bank income"
	case string(providers.ReportIdentity):
		return "identity"
	}
	return kind
}

// reportPDF streams the provider's PDF of one of the order's reports
// (?report=id; the newest without it), fetched on demand: PDF links expire,
// so none is ever stored. The download is audited.
func (h *Handler) reportPDF(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	var rec *store.Report
	if id, perr := strconv.ParseInt(c.QueryParam("report"), 10, 64); perr == nil {
		rec, err = h.store.ReportByID(ctx, o.AgencyID, o.ID, id)
	} else {
		rec, err = h.store.LatestReport(ctx, o.AgencyID, o.ID)
	}
	if err != nil {
		return err
	}
	if rec.Purged {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	pdf, err := h.verify.ReportPDF(ctx, o, rec.ProviderReportID)
	if err != nil {
		h.log.Warn("report pdf", "provider", o.Provider, "order_id", o.ID, "error", err)
		return echo.NewHTTPError(http.StatusBadGateway, "The provider did not send the PDF. Try again in a minute.")
	}
	if err := h.audit(c, store.AuditReportPDF, o.CaseID, o.MemberID, fmt.Sprintf("order %d report %d", o.ID, rec.ID)); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="report-%s-%d.pdf"`, o.Reference, rec.ID))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

func (h *Handler) outbox(c echo.Context) error {
	if !h.verify.UsesOutbox() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	msgs, err := h.store.Outbox(c.Request().Context(), currentUser(c).AgencyID, 100)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.OutboxPage(outboxMessages(msgs)))
}

// ordersStore is what orders.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type ordersStore interface {
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	LatestReport(ctx context.Context, agencyID, orderID int64) (*store.Report, error)
	LatestReports(ctx context.Context, agencyID, orderID int64) ([]*store.Report, error)
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Now() time.Time
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*store.OrderMember, error)
	Outbox(ctx context.Context, agencyID int64, limit int) ([]*store.OutboxMessage, error)
	ReportByID(ctx context.Context, agencyID, orderID, reportID int64) (*store.Report, error)
}
