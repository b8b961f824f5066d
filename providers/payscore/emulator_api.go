package payscore

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxRequestBytes bounds what the emulator reads from a request body.
const maxRequestBytes = 1 << 20

// apiErr is one entry of the emulator's error body
// {"errors":[{"field","message"}]} (UNCONFIRMED shape, see errorBody).
type apiErr struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiErr) {
	writeJSON(w, status, map[string][]apiErr{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// handleAuth is POST /api/v1/tenants/auth: credentials in a JSON body, a JWT
// back in the Authorization header and no body [P01].
func (e *Emulator) handleAuth(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID  string `json:"client_id"`
		SecretKey string `json:"secret_key"`
	}
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes)).Decode(&in)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.authCalls++
	if err != nil {
		writeErrors(w, http.StatusBadRequest, apiErr{Message: "Body must be a JSON object with client_id and secret_key"})
		return
	}
	idOK := subtle.ConstantTimeCompare([]byte(in.ClientID), []byte(e.cfg.ClientID))
	keyOK := subtle.ConstantTimeCompare([]byte(in.SecretKey), []byte(e.cfg.SecretKey))
	if idOK&keyOK != 1 {
		writeErrors(w, http.StatusUnauthorized, apiErr{Message: "Invalid client credentials"})
		return
	}
	w.Header().Set("Authorization", "Bearer "+e.issueJWT(e.now()))
	w.WriteHeader(e.cfg.AuthStatus)
}

// issueJWT makes an HS256 JWT with exp, under e.mu.
func (e *Emulator) issueJWT(now time.Time) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{
		"sub": e.cfg.ClientID, "iat": now.Unix(), "exp": now.Add(e.cfg.TokenLifetime).Unix(), "jti": randomHex(8),
	})
	signing := head + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, e.jwtKey)
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// checkJWT verifies the signature and exp of a bearer token, under e.mu.
func (e *Emulator) checkJWT(tok string, now time.Time) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		//lint:ignore ST1005 the emulator answers with Payscore's own error text, verbatim
		return errors.New("Malformed token")
	}
	enc := base64.RawURLEncoding
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		//lint:ignore ST1005 the emulator answers with Payscore's own error text, verbatim
		return errors.New("Malformed token")
	}
	m := hmac.New(sha256.New, e.jwtKey)
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		//lint:ignore ST1005 the emulator answers with Payscore's own error text, verbatim
		return errors.New("Invalid token")
	}
	payload, err := enc.DecodeString(parts[1])
	if err != nil {
		//lint:ignore ST1005 the emulator answers with Payscore's own error text, verbatim
		return errors.New("Malformed token")
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || !now.Before(time.Unix(claims.Exp, 0)) {
		//lint:ignore ST1005 the emulator answers with Payscore's own error text, verbatim
		return errors.New("Token expired")
	}
	return nil
}

// withToken answers 401 unless the request has a valid, unexpired bearer JWT.
func (e *Emulator) withToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			writeErrors(w, http.StatusUnauthorized, apiErr{Message: "Missing bearer token"})
			return
		}
		e.mu.Lock()
		err := e.checkJWT(tok, e.now())
		e.mu.Unlock()
		if err != nil {
			writeErrors(w, http.StatusUnauthorized, apiErr{Message: err.Error()})
			return
		}
		next(w, r)
	}
}

// createIn is the create body: the documented fields only [P06], so a
// request with any other top-level field is refused as Payscore would refuse
// an unknown parameter (UNCONFIRMED how strict Payscore is; the emulator is
// strict so the adapter cannot drift from the document). Pointers tell
// "absent" from "zero". Applicant and property fields are read by the
// contract's names.
type createIn struct {
	Applicants                *[]map[string]json.RawMessage `json:"applicants"`
	Property                  map[string]json.RawMessage    `json:"property"`
	IsDecisionMakerPaying     *bool                         `json:"is_decision_maker_paying"`
	DecisionMakerDisplayName  string                        `json:"decision_maker_display_name"`
	MonthlyRent               json.RawMessage               `json:"monthly_rent"`
	WebhookURL                string                        `json:"webhook_url"`
	IsInvitationDisabled      bool                          `json:"is_invitation_disabled"`
	IncomeMultiplierThreshold json.RawMessage               `json:"income_multiplier_threshold"`
	CriteriaRuleSetID         json.RawMessage               `json:"criteria_rule_set_id"`
}

type applicantIn struct{ first, last, email, phone string }

// readStrings reads the named string fields of m; unknown names are returned
// apart, so the caller can refuse them.
func readStrings(m map[string]json.RawMessage, names ...string) (map[string]string, []string) {
	out := map[string]string{}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
		var v string
		_ = json.Unmarshal(m[n], &v) // absent or not a string: empty
		out[n] = v
	}
	var unknown []string
	for k := range m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	return out, unknown
}

// handleCreate is POST /api/v1/screening_groups [P06]: validates, creates
// the group with one screening per applicant, and answers 200 with the group.
func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	var in createIn
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			writeErrors(w, http.StatusBadRequest, apiErr{Field: te.Field, Message: "has the wrong type"})
			return
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			writeErrors(w, http.StatusBadRequest, apiErr{Field: strings.Trim(f, `"`), Message: "is not a parameter of this request"})
			return
		}
		writeErrors(w, http.StatusBadRequest, apiErr{Message: "Body must be a JSON object"})
		return
	}
	ct := e.contract
	var errs []apiErr
	bad := func(field, msg string) { errs = append(errs, apiErr{Field: field, Message: msg}) }
	if in.Applicants == nil || len(*in.Applicants) == 0 {
		bad("applicants", "must list at least one applicant")
	}
	var applicants []applicantIn
	if in.Applicants != nil {
		for i, raw := range *in.Applicants {
			f := fmt.Sprintf("applicants[%d].", i)
			v, unknown := readStrings(raw, ct.ApplicantFirstNameField, ct.ApplicantLastNameField, ct.ApplicantEmailField, ct.ApplicantPhoneField)
			for _, u := range unknown {
				bad(f+u, "is not a field of an applicant")
			}
			a := applicantIn{v[ct.ApplicantFirstNameField], v[ct.ApplicantLastNameField], v[ct.ApplicantEmailField], v[ct.ApplicantPhoneField]}
			applicants = append(applicants, a)
			if strings.TrimSpace(a.first) == "" {
				bad(f+ct.ApplicantFirstNameField, "is required")
			}
			if strings.TrimSpace(a.last) == "" {
				bad(f+ct.ApplicantLastNameField, "is required")
			}
			switch {
			case a.email != "" && !looksLikeEmail(a.email):
				bad(f+ct.ApplicantEmailField, "is not a valid email address")
			case strings.HasSuffix(strings.ToLower(a.email), demoUndeliverable):
				bad(f+ct.ApplicantEmailField, "does not exist")
			case a.email == "" && a.phone == "" && !in.IsInvitationDisabled:
				bad(f+ct.ApplicantEmailField, "an email or phone number is required to send the invitation")
			}
		}
	}
	pv, unknownProp := readStrings(in.Property, ct.PropertyNameField, ct.PropertyStreetField, ct.PropertyCityField,
		ct.PropertyStateField, ct.PropertyZipField, ct.PropertyUnitField)
	for _, u := range unknownProp {
		bad("property."+u, "is not a field of a property")
	}
	property := Property{Name: pv[ct.PropertyNameField], StreetAddress: pv[ct.PropertyStreetField], City: pv[ct.PropertyCityField],
		State: pv[ct.PropertyStateField], ZipCode: pv[ct.PropertyZipField], Unit: pv[ct.PropertyUnitField]}
	if in.Property == nil || strings.TrimSpace(property.Name) == "" {
		bad("property."+ct.PropertyNameField, "is required")
	}
	if in.IsDecisionMakerPaying == nil {
		bad("is_decision_maker_paying", "is required")
	}
	if strings.TrimSpace(in.DecisionMakerDisplayName) == "" {
		bad("decision_maker_display_name", "is required")
	}
	var rentCents int64
	var rent float64
	switch {
	case len(in.MonthlyRent) == 0 || string(in.MonthlyRent) == "null":
		bad("monthly_rent", "is required")
	case json.Unmarshal(in.MonthlyRent, &rent) != nil || rent < 0 || rent > 1e9:
		bad("monthly_rent", "must be a non-negative number of "+ct.RentAmounts)
	case ct.RentAmounts == "cents":
		rentCents = int64(math.Round(rent))
	default:
		rentCents = int64(math.Round(rent * 100))
	}
	if in.WebhookURL != "" {
		if u, err := url.Parse(in.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("webhook_url", "must be an absolute http(s) URL")
		}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	g := &group{
		id: newUUID(), createdAt: e.now(), decisionMaker: in.DecisionMakerDisplayName,
		property: property, monthlyRentCents: rentCents, paying: *in.IsDecisionMakerPaying,
		webhookURL: in.WebhookURL, invitationsDisabled: in.IsInvitationDisabled, status: "pending",
	}
	for _, a := range applicants {
		e.newScreening(g, a.first, a.last, a.email, a.phone)
	}
	e.groups[g.id] = g
	e.log.Info("payscore emulator: screening group created", "screening_group_id", g.id, "screenings", len(g.screenings))
	if e.loseCreates > 0 {
		e.loseCreates--
		loseAnswer(w)
		return
	}
	writeJSON(w, http.StatusOK, e.groupView(g))
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndex(s, "@")
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.ContainsAny(s, " \t\r\n")
}

// groupView renders a group as GET /api/v1/screening_groups/{id} does
// [P07], plus each screening's applicant link when the contract names a
// field for it (no Payscore document shows one).
func (e *Emulator) groupView(g *group) map[string]any {
	now := e.now()
	screenings := make([]map[string]any, 0, len(g.screenings))
	for _, s := range g.screenings {
		screenings = append(screenings, map[string]any{
			"id":                   s.id,
			"applicant_first_name": s.first,
			"applicant_last_name":  s.last,
			"applicant_email":      s.email,
			"reason_completed":     s.reason,
			"screening_status":     e.screeningStatus(s, now),
		})
		if f := e.contract.ApplicantURLField; f != "" {
			screenings[len(screenings)-1][f] = e.applicantURL(s)
		}
	}
	return map[string]any{
		"id":                          g.id,
		"screenings":                  screenings,
		"status":                      g.status,
		"approval_recommendation":     "unavailable",
		"property_name":               g.property.Name,
		"property_street_address":     g.property.StreetAddress,
		"unit_number":                 g.property.Unit,
		"monthly_rent_cents":          g.monthlyRentCents,
		"is_decision_maker_paying":    g.paying,
		"is_report_expired":           e.reportExpired(g, now),
		"decision_maker_display_name": g.decisionMaker,
		// Milliseconds, as in the legacy example (1574244834717.303).
		"created_at_timestamp": float64(g.createdAt.UnixMicro()) / 1000,
	}
}

// screeningStatus reports "expired" for an invite past 14 days even before
// FireExpiryWebhooks has marked it (the emulator's own value, UNCONFIRMED).
func (e *Emulator) screeningStatus(s *screening, now time.Time) string {
	if e.inviteExpired(s, now) {
		return "expired"
	}
	return s.status
}

// lookup finds a group by the {id} path value under e.mu, or answers 404.
func (e *Emulator) lookup(w http.ResponseWriter, r *http.Request) *group {
	g := e.groups[r.PathValue("id")]
	if g == nil {
		writeErrors(w, http.StatusNotFound, apiErr{Message: "Screening group not found"})
	}
	return g
}

func (e *Emulator) handleGet(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g := e.lookup(w, r); g != nil {
		writeJSON(w, http.StatusOK, e.groupView(g))
	}
}

// handleDelete is "Delete a Screening Group" (path UNCONFIRMED): the group,
// its applicant links and its PDF links stop working.
func (e *Emulator) handleDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.lookup(w, r)
	if g == nil {
		return
	}
	for _, s := range g.screenings {
		delete(e.byID, s.id)
		delete(e.byToken, s.token)
	}
	for tok, f := range e.files {
		if f.groupID == g.id {
			delete(e.files, tok)
		}
	}
	delete(e.groups, g.id)
	e.log.Info("payscore emulator: screening group deleted", "screening_group_id", g.id)
	w.WriteHeader(http.StatusNoContent)
}

// reportReady answers 404 (never completed) or 410 (expired) and returns
// false when there is no report to give, under e.mu.
func (e *Emulator) reportReady(w http.ResponseWriter, g *group) bool {
	switch now := e.now(); {
	case g.completedAt.IsZero():
		writeErrors(w, http.StatusNotFound, apiErr{Message: "Report not ready"})
		return false
	case e.reportExpired(g, now):
		writeErrors(w, http.StatusGone, apiErr{Message: "Report expired"})
		return false
	}
	return true
}

// handleReportURL is GET .../report: a pre-signed-looking PDF URL valid for
// 2 hours [P08].
func (e *Emulator) handleReportURL(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.lookup(w, r)
	if g == nil || !e.reportReady(w, g) {
		return
	}
	tok := randomHex(24)
	exp := e.now().Add(2 * time.Hour)
	e.files[tok] = &pdfLink{groupID: g.id, expires: exp}
	u := e.cfg.PublicURL + "/files/" + tok + ".pdf?X-Amz-Date=" + exp.Add(-2*time.Hour).UTC().Format("20060102T150405Z") + "&X-Amz-Expires=7200"
	writeJSON(w, http.StatusOK, map[string]string{"url": u})
}

// handleReportData is GET .../report/data [P09].
func (e *Emulator) handleReportData(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.lookup(w, r)
	if g == nil || !e.reportReady(w, g) {
		return
	}
	data := e.reportFor(g)
	if e.cfg.DocumentedReportOnly {
		// As the real Payscore documents it: no times in the report data.
		data.CompletedAtTimestamp, data.ReportExpiresAtTimestamp = 0, 0
	}
	writeJSON(w, http.StatusOK, data)
}

// handleFile serves the PDF behind a link from handleReportURL: 404 for an
// unknown link, 410 once the link (2 hours) or the report (14 days) expired.
func (e *Emulator) handleFile(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	e.mu.Lock()
	f := e.files[tok]
	var g *group
	if ok && f != nil {
		g = e.groups[f.groupID]
	}
	if g == nil {
		e.mu.Unlock()
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	now := e.now()
	if !now.Before(f.expires) || e.reportExpired(g, now) {
		e.mu.Unlock()
		http.Error(w, "This link has expired", http.StatusGone)
		return
	}
	data := e.reportFor(g)
	e.mu.Unlock()
	pdf, err := renderPDF(data)
	if err != nil {
		e.log.Error("payscore emulator: render PDF", "screening_group_id", g.id, "err", err)
		http.Error(w, "Could not render the report", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	_, _ = w.Write(pdf)
}

// loseAnswer drops the connection without an answer: the group exists, the
// caller hears nothing (a timeout as the adapter sees it).
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// handleList is "Get All Screening Groups" at Contract.ListPath (path and
// shape UNCONFIRMED [P11]): {ListField: [groups]}, each group as GET shows
// it plus the webhook_url it was created with (Contract.ListWebhookURLField),
// newest first.
func (e *Emulator) handleList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := make([]map[string]any, 0, len(e.groups))
	for _, g := range e.groups {
		v := e.groupView(g)
		v[e.contract.ListWebhookURLField] = g.webhookURL
		list = append(list, v)
	}
	slices.SortFunc(list, func(a, b map[string]any) int {
		return cmp.Compare(b["created_at_timestamp"].(float64), a["created_at_timestamp"].(float64))
	})
	writeJSON(w, http.StatusOK, map[string]any{e.contract.ListField: list})
}
