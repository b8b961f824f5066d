package accountchek

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// maxAPIRequest bounds request bodies the emulator reads.
const maxAPIRequest = 1 << 20

// apiProblem is AccountChek's error body (S03): general messages and
// per-property messages.
type apiProblem struct {
	General    []string          `json:"general"`
	Properties []apiPropertyProb `json:"properties"`
}

// apiPropertyProb is one property message of apiProblem.
type apiPropertyProb struct {
	Property string `json:"property"`
	Message  string `json:"message"`
}

// add records a property problem.
func (p *apiProblem) add(property, message string) {
	p.Properties = append(p.Properties, apiPropertyProb{property, message})
}

// empty reports whether nothing is wrong.
func (p *apiProblem) empty() bool { return len(p.General) == 0 && len(p.Properties) == 0 }

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeProblem writes a 422 with AccountChek's error shape.
func writeProblem(w http.ResponseWriter, p apiProblem) {
	if p.General == nil {
		p.General = []string{}
	}
	if p.Properties == nil {
		p.Properties = []apiPropertyProb{}
	}
	writeJSON(w, http.StatusUnprocessableEntity, p)
}

// writeGeneral writes a 422 with one general message.
func writeGeneral(w http.ResponseWriter, msg string) {
	writeProblem(w, apiProblem{General: []string{msg}})
}

// writeMessage writes an ASP.NET-style {"message"} body (401, 404): the
// shape AccountChek uses there is UNCONFIRMED and the adapter ignores it.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// apiAuth requires the Basic credentials.
func (e *Emulator) apiAuth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !e.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="AccountChek Verifier API"`)
			writeMessage(w, http.StatusUnauthorized, "Authorization has been denied for this request.")
			return
		}
		// Read the (bounded) body before any lock is taken, so a slow
		// client cannot hold the emulator's mutex.
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIRequest))
		if err != nil {
			writeGeneral(w, "The request body is too large or could not be read.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(data))
		h(w, r)
	})
}

// apiOrder requires the credentials and an existing order, and runs h
// with the emulator locked.
func (e *Emulator) apiOrder(h func(http.ResponseWriter, *http.Request, *emuOrder)) http.Handler {
	return e.apiAuth(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		defer e.mu.Unlock()
		o := e.orders[strings.ToLower(r.PathValue("id"))]
		if o == nil {
			writeMessage(w, http.StatusNotFound, "The order was not found.")
			return
		}
		e.tick(o)
		h(w, r, o)
	})
}

// decodeBody reads a JSON object body. It writes the 422 and returns
// false when the body is missing or not JSON.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		writeGeneral(w, "The request body is too large or could not be read.")
		return false
	}
	if len(bytes.TrimSpace(data)) == 0 {
		writeGeneral(w, "A request body is required.")
		return false
	}
	if err := json.Unmarshal(data, v); err != nil {
		writeGeneral(w, "The request body is not valid JSON for this call.")
		return false
	}
	return true
}

// createRequest is the create-order body.
type createRequest struct {
	Email           string      `json:"email"`
	Last4SSN        string      `json:"last4SSN"`
	ReferenceNumber string      `json:"referenceNumber"`
	FirstName       string      `json:"firstName"`
	LastName        string      `json:"lastName"`
	NotificationURL string      `json:"notificationUrl"`
	ReturnURL       string      `json:"returnUrl"`
	PhoneNumber     string      `json:"phoneNumber"`
	EmployerName    string      `json:"employerName"`
	SSN             string      `json:"ssn"`
	DateOfBirth     string      `json:"dateOfBirth"`
	Address         *emuAddress `json:"address"`
}

// handleCreate is POST /v1/accountchekorders.
func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decodeBody(w, r, &req) {
		return
	}
	var prob apiProblem
	// A full SSN overrides last4SSN (S03).
	ssnDigits := digitsOnly(req.SSN)
	if req.SSN != "" {
		if len(ssnDigits) != 9 {
			prob.add("ssn", "The SSN must have 9 digits.")
		} else {
			req.Last4SSN = ssnDigits[5:]
		}
	}
	if strings.TrimSpace(req.Email) == "" {
		prob.add("email", "The email field is required.")
	} else if _, err := mail.ParseAddress(req.Email); err != nil {
		prob.add("email", "The email field is not a valid e-mail address.")
	}
	switch {
	case req.Last4SSN == "":
		prob.add("last4SSN", "The last4SSN field is required.")
	case len(req.Last4SSN) != 4 || digitsOnly(req.Last4SSN) != req.Last4SSN:
		prob.add("last4SSN", "The last4SSN field must be exactly 4 digits.")
	}
	if strings.TrimSpace(req.ReferenceNumber) == "" {
		prob.add("referenceNumber", "The referenceNumber field is required.")
	}
	if strings.TrimSpace(req.FirstName) == "" {
		prob.add("firstName", "The firstName field is required.")
	}
	if strings.TrimSpace(req.LastName) == "" {
		prob.add("lastName", "The lastName field is required.")
	}
	if req.NotificationURL != "" {
		if msg := e.notificationURLProblem(req.NotificationURL); msg != "" {
			prob.add("notificationUrl", msg)
		}
	}
	if req.ReturnURL != "" && !strings.HasPrefix(req.ReturnURL, "https://") && !strings.HasPrefix(req.ReturnURL, "http://") {
		prob.add("returnUrl", "The returnUrl must be an http(s) URL.")
	}
	if req.DateOfBirth != "" {
		if _, err := time.Parse("2006-01-02", datePart(req.DateOfBirth)); err != nil {
			prob.add("dateOfBirth", "The dateOfBirth field must be a date (YYYY-MM-DD).")
		}
	}
	if !prob.empty() {
		writeProblem(w, prob)
		return
	}
	now := e.now()
	o := &emuOrder{
		ID: newGUID(), Created: now, Status: "building",
		Email: req.Email, Last4SSN: req.Last4SSN, ReferenceNumber: req.ReferenceNumber,
		FirstName: req.FirstName, LastName: req.LastName, NotificationURL: req.NotificationURL,
		ReturnURL: req.ReturnURL, PhoneNumber: req.PhoneNumber, EmployerName: req.EmployerName,
		DateOfBirth: datePart(req.DateOfBirth), Address: req.Address,
		ExpiresAt: now.Add(e.cfg.OrderLifetime),
		Token:     newToken(), TokenIssued: now, VODID: newGUID(),
	}
	if req.SSN != "" {
		o.SSNLast4Masked = "***-**-" + req.Last4SSN
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.orders[o.ID] = o
	e.tokens[o.Token] = o.ID
	writeJSON(w, http.StatusCreated, e.orderJSON(o))
}

// digitsOnly keeps the ASCII digits of s.
func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// handleList is GET /v1/accountchekorders. Of its query parameters only
// referenceNumber is honored (the real filter set is UNCONFIRMED), and it is
// required: the emulator serves every agency of a portal, and its orders
// hold applicants' details and secret notification URLs, so it lists only
// the order of the portal's per-order reference asked for, never everyone's.
func (e *Emulator) handleList(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("referenceNumber")
	if ref == "" {
		writeGeneral(w, "The sandbox lists orders only by referenceNumber.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []orderJSON{}
	for _, o := range e.orders {
		if o.ReferenceNumber != ref {
			continue
		}
		e.tick(o)
		out = append(out, e.orderJSON(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// orderJSON is the order as the API shows it (S03 201 example).
type orderJSON struct {
	ID                              string      `json:"id"`
	Created                         string      `json:"created"`
	IsArchived                      bool        `json:"isArchived"`
	Status                          string      `json:"status"`
	LoginURL                        string      `json:"loginUrl"`
	DaysRemaining                   float64     `json:"daysRemaining"`
	EmploymentVerificationRequested bool        `json:"employmentVerificationRequested"`
	Email                           string      `json:"email"`
	Last4SSN                        string      `json:"last4SSN"`
	ReferenceNumber                 string      `json:"referenceNumber"`
	FirstName                       string      `json:"firstName"`
	LastName                        string      `json:"lastName"`
	NotificationURL                 *string     `json:"notificationUrl"`
	ReturnURL                       *string     `json:"returnUrl"`
	PhoneNumber                     *string     `json:"phoneNumber"`
	EmployerName                    *string     `json:"employerName"`
	SSN                             *string     `json:"ssn"`
	DateOfBirth                     *string     `json:"dateOfBirth"`
	Address                         *emuAddress `json:"address"`
}

// orderJSON renders o. Caller holds e.mu.
func (e *Emulator) orderJSON(o *emuOrder) orderJSON {
	nullable := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	out := orderJSON{
		ID: o.ID, Created: o.Created.Format("2006-01-02T15:04:05.000Z07:00"), Status: o.Status,
		LoginURL: e.loginURL(o), DaysRemaining: e.daysRemaining(o),
		EmploymentVerificationRequested: o.VOE != nil,
		Email:                           o.Email, Last4SSN: o.Last4SSN, ReferenceNumber: o.ReferenceNumber,
		FirstName: o.FirstName, LastName: o.LastName,
		NotificationURL: nullable(o.NotificationURL), ReturnURL: nullable(o.ReturnURL),
		PhoneNumber: nullable(o.PhoneNumber), EmployerName: nullable(o.EmployerName),
		SSN: nullable(o.SSNLast4Masked), Address: o.Address,
	}
	if o.DateOfBirth != "" {
		out.DateOfBirth = nullable(o.DateOfBirth + "T00:00:00Z") // AccountChek echoes a datetime
	}
	return out
}

// loginURL is the borrower link of o.
func (e *Emulator) loginURL(o *emuOrder) string {
	return e.cfg.PublicURL + "/borrower/" + o.Token
}

// handleGetOrder is GET /v1/accountchekorders/{id}.
func (e *Emulator) handleGetOrder(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	writeJSON(w, http.StatusOK, e.orderJSON(o))
}

// handlePatchOrder is PATCH /v1/accountchekorders/{id}: open, cancel or
// close (spec §4.2.4, §4.2.8).
func (e *Emulator) handlePatchOrder(w http.ResponseWriter, r *http.Request, o *emuOrder) {
	var req struct {
		Status string `json:"status"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	switch req.Status {
	case "opened":
		if o.Status != "building" {
			writeGeneral(w, "Only an order that is building can be opened.")
			return
		}
		if o.VOA == nil && o.VOE == nil {
			writeGeneral(w, "Add at least one service (VOA or VOIE) before opening the order.")
			return
		}
		o.Status = "opened"
		o.TokenIssued = e.now() // the invite, and the link's lifetime, start now
		if o.VOA != nil {
			e.setVOA(o, "500")
		}
	case "canceled":
		if o.Status != "building" && o.Status != "opened" {
			writeGeneral(w, "Only an order that is building or opened can be canceled; close it instead.")
			return
		}
		o.Status = "canceled"
	case "closed":
		if o.Status == "closed" || o.Status == "canceled" {
			writeGeneral(w, "The order is already closed or canceled.")
			return
		}
		o.Status = "closed"
	default:
		writeProblem(w, apiProblem{Properties: []apiPropertyProb{{"status", "The status must be opened, canceled or closed."}}})
		return
	}
	writeJSON(w, http.StatusOK, e.orderJSON(o))
}

// voaJSON is the VOA service as the API shows it.
type voaJSON struct {
	RequestType       string `json:"requestType"`
	AccountMonitoring int    `json:"accountMonitoring"`
	DaysBack          int    `json:"daysBack"`
	ReportType        string `json:"reportType"`
	Status            any    `json:"status"` // "created", then a number
}

// serviceCode renders a service status: a JSON number once it is a code.
func serviceCode(s string) any {
	if isStatusCode(s) {
		return json.Number(s)
	}
	return s
}

// handleAttachVOA is POST /v1/accountchekorders/{id}/voa (spec §4.2.2).
func (e *Emulator) handleAttachVOA(w http.ResponseWriter, r *http.Request, o *emuOrder) {
	var req struct {
		RequestType       string `json:"requestType"`
		AccountMonitoring *int   `json:"accountMonitoring"`
		DaysBack          *int   `json:"daysBack"`
		ReportType        string `json:"reportType"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if o.Status != "building" {
		writeGeneral(w, "Services can only be added while the order is building.")
		return
	}
	if o.VOA != nil {
		writeGeneral(w, "A VOA has already been requested for this order.")
		return
	}
	var prob apiProblem
	if req.RequestType != "lite" && req.RequestType != "full" {
		prob.add("requestType", "The requestType must be lite or full.")
	}
	monitoring, daysBack := 30, 90
	if req.AccountMonitoring != nil {
		monitoring = *req.AccountMonitoring
		if monitoring != 30 && monitoring != 60 && monitoring != 90 {
			prob.add("accountMonitoring", "The accountMonitoring must be one of the company's refresh periods: 30, 60 or 90.")
		}
	}
	if req.DaysBack != nil {
		daysBack = *req.DaysBack
		if daysBack < 1 || daysBack > 730 {
			prob.add("daysBack", "The daysBack must be between 1 and 730.")
		}
	}
	if req.ReportType != "" && req.ReportType != "voa" {
		prob.add("reportType", "The reportType must be voa.")
	}
	if !prob.empty() {
		writeProblem(w, prob)
		return
	}
	o.VOA = &emuVOA{RequestType: req.RequestType, AccountMonitoring: monitoring, DaysBack: daysBack, Status: "created"}
	writeJSON(w, http.StatusCreated, e.voaJSON(o.VOA))
}

// voaJSON renders the VOA service.
func (e *Emulator) voaJSON(v *emuVOA) voaJSON {
	return voaJSON{RequestType: v.RequestType, AccountMonitoring: v.AccountMonitoring, DaysBack: v.DaysBack, ReportType: "voa", Status: serviceCode(v.Status)}
}

// handleGetVOA is the VOA "Check Status" call (path UNCONFIRMED).
func (e *Emulator) handleGetVOA(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOA == nil {
		writeMessage(w, http.StatusNotFound, "No VOA has been requested for this order.")
		return
	}
	writeJSON(w, http.StatusOK, e.voaJSON(o.VOA))
}

// voeJSON is the VOIE service as the API shows it (spec §4.2.3).
type voeJSON struct {
	AggregationRequested   bool   `json:"aggregationRequested"`
	DirectRequested        bool   `json:"directRequested"`
	PaystubUploadRequested bool   `json:"paystubUploadRequested"`
	Status                 any    `json:"status"`
	VOEReportID            string `json:"voeReportId,omitempty"` // field name UNCONFIRMED
}

// voeJSONOf renders the VOIE service; the report id appears once it is 607.
func voeJSONOf(v *emuVOE) voeJSON {
	out := voeJSON{AggregationRequested: true, DirectRequested: true, PaystubUploadRequested: true, Status: serviceCode(v.Status)}
	if v.Status == "607" && len(v.Reports) > 0 {
		out.VOEReportID = v.Reports[0].ID
	}
	return out
}

// handleAttachVOE is POST /v1/accountchekorders/{id}/voe with its
// required-but-empty body.
func (e *Emulator) handleAttachVOE(w http.ResponseWriter, r *http.Request, o *emuOrder) {
	var req map[string]any
	if !decodeBody(w, r, &req) {
		return
	}
	if o.Status != "building" {
		writeGeneral(w, "Services can only be added while the order is building.")
		return
	}
	if o.VOE != nil {
		writeGeneral(w, "A VOIE has already been requested for this order.")
		return
	}
	o.VOE = &emuVOE{Status: "created"}
	writeJSON(w, http.StatusCreated, voeJSONOf(o.VOE))
}

// handleGetVOE is GET /v1/accountchekorders/{id}/voe.
func (e *Emulator) handleGetVOE(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOE == nil {
		writeMessage(w, http.StatusNotFound, "No VOIE has been requested for this order.")
		return
	}
	writeJSON(w, http.StatusOK, voeJSONOf(o.VOE))
}

// handleSSOURL is GET /v1/accountchekorders/{id}/ssoUrl: a fresh borrower
// link; the old one stops working.
func (e *Emulator) handleSSOURL(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.Status != "opened" && o.Status != "inprogress" {
		writeGeneral(w, "A sign-in link can only be issued for an opened or in-progress order.")
		return
	}
	delete(e.tokens, o.Token)
	o.Token, o.TokenIssued = newToken(), e.now()
	e.tokens[o.Token] = o.ID
	writeJSON(w, http.StatusOK, map[string]string{"url": e.loginURL(o)})
}
