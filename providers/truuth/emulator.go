package truuth

import (
	"bytes"
	"caseverify/providers"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/skip2/go-qrcode"
)

// Credentials the emulator accepts by default, for sandbox mode.
const (
	SandboxTenant    = "sandbox"
	SandboxAPIKey    = "sandbox-api-key"
	SandboxAPISecret = "sandbox-api-secret"
	// SandboxWebhookAuth is a webhook Authorization value that passes
	// ValidateWebhookAuth, for wiring the emulator and the adapter together
	// in sandbox mode. Never use it outside the sandbox.
	SandboxWebhookAuth = "Bearer sandbox-truuth-webhook-token-2f6c"
)

// Sandbox outcomes the applicant picks on the last page (or a test passes to
// Complete).
const (
	ScenarioPass    = "pass"    // every check passes: approved, Biopass provisioned
	ScenarioWarning = "warning" // the address check warns: needs review
	ScenarioFail    = "fail"    // the document check fails: rejected
	ScenarioError   = "error"   // the verification ends in ERROR
)

// Raw statuses the emulator reports. PENDING (before the applicant starts)
// and EXPIRED are UNCONFIRMED: R03 lists only DONE, IN_PROGRESS, PROCESSING
// and ERROR.
const (
	rawPending    = "PENDING"
	rawInProgress = "IN_PROGRESS"
	rawDone       = "DONE"
	rawError      = "ERROR"
	rawExpired    = "EXPIRED"
)

// The check names the emulator reports, in report order.
var emulatorChecks = [...]string{"Document", "Face match", "Liveness", "Address"}

// EmulatorConfig configures an Emulator.
type EmulatorConfig struct {
	// PublicURL is the absolute URL the emulator is mounted at, without a
	// trailing slash, e.g. "http://localhost:8080/sandbox/truuth". Invite
	// and report links are built from it.
	PublicURL string
	// WebhookURL is the base of the webhook subscriptions (Truuth configures
	// webhooks per tenant in its portal, not per invite, and one per event
	// type, S04): Callbacks go to WebhookURL/callback, Biopass User
	// Provisioning to WebhookURL/biopass. Empty sends none.
	WebhookURL string
	// WebhookAuth is the Authorization header value sent with each webhook,
	// as the Truuth portal would ("Basic ..." or "Bearer ..."). Empty sends
	// no header, which Truuth allows and the adapter refuses.
	WebhookAuth string
	// WebhookAuthByEvent is a subscription's own token by URL event name
	// (EventPathCallback, EventPathBiopass); others use WebhookAuth.
	WebhookAuthByEvent map[string]string
	// HTTPClient sends webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger gets one line per API call outcome and webhook attempt, never
	// personal data or bodies; nil discards.
	Logger *slog.Logger
	// WebhookDelay is a pause before each webhook, to look real.
	WebhookDelay time.Duration
	// RetryBackoff is the pause before the first webhook retry, doubled for
	// each further one; 0 means 250 ms.
	RetryBackoff time.Duration

	// APIKey, APISecret and Tenant are what the API accepts; empty means
	// SandboxAPIKey, SandboxAPISecret and SandboxTenant.
	APIKey    string
	APISecret string
	Tenant    string
	// Region is echoed in create answers; empty means "au".
	Region string
	// Contract must match the adapter's; zero fields are the defaults.
	Contract Contract
	// InviteTTL is how long an unused invite link lives; 0 means 7 days.
	// Truuth's real expiry is UNCONFIRMED.
	InviteTTL time.Duration

	// Misbehaviour knobs for reliability tests.
	DuplicateWebhooks bool // send every webhook twice
	DropWebhooks      bool // send no webhooks (the portal must poll)
	RawPDF            bool // serve the report file as raw PDF instead of base64
	// StallCreates makes that many create calls commit the invite and then
	// never answer, as a provider that times out after committing.
	StallCreates int
}

// Emulator is a local stand-in for Truuth: the KYC invite API at the
// Contract's paths, the applicant's hosted verification pages, pre-signed
// report files, and the Callback and Biopass webhooks. It implements
// http.Handler.
//
// State is in memory behind one mutex: it is a sandbox, lost on restart and
// private to one process.
type Emulator struct {
	cfg      EmulatorConfig
	contract Contract
	hc       *http.Client
	now      func() time.Time
	log      *slog.Logger
	mux      *http.ServeMux
	pages    *template.Template
	keyHash  [32]byte // sha256 of "key:secret", compared in constant time
	fileKey  []byte   // signs report file links

	ctx    context.Context // canceled by Close: stops webhook senders
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	byID       map[string]*emVerification
	byToken    map[string]*emVerification
	byRef      map[string]*emVerification
	files      map[string]fileLink
	stallsLeft int
}

// emVerification is one invite and what the applicant did with it.
type emVerification struct {
	id, token, ref                    string
	given, family, email, mobile, dob string
	status                            string // raw Truuth status
	step                              string // applicant page step
	scenario                          string
	createdAt, expiresAt, doneAt      time.Time
	invitesSent                       int
	// lastBatch is closed when the previous webhook batch of this
	// verification is finished, so batches go out in order.
	lastBatch chan struct{}
}

// fileLink is one pre-signed report link.
type fileLink struct {
	verificationID string
	signature      string
	expires        time.Time
}

// Applicant page steps.
const (
	stepConsent  = "consent"
	stepDocument = "document"
	stepSelfie   = "selfie"
	stepOutcome  = "outcome"
	stepDone     = "done"
)

// NewEmulator returns an emulator serving cfg. It panics if a Contract path
// is not a valid http.ServeMux pattern, a programming error.
func NewEmulator(cfg EmulatorConfig) *Emulator {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.APIKey == "" {
		cfg.APIKey = SandboxAPIKey
	}
	if cfg.APISecret == "" {
		cfg.APISecret = SandboxAPISecret
	}
	if cfg.Tenant == "" {
		cfg.Tenant = SandboxTenant
	}
	if cfg.Region == "" {
		cfg.Region = "au"
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 7 * 24 * time.Hour
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 250 * time.Millisecond
	}
	e := &Emulator{
		cfg:        cfg,
		contract:   providers.FillDefaults(cfg.Contract, DefaultContract()),
		hc:         cfg.HTTPClient,
		now:        cfg.Now,
		log:        cfg.Logger,
		mux:        http.NewServeMux(),
		pages:      parsePages(),
		keyHash:    sha256.Sum256([]byte(cfg.APIKey + ":" + cfg.APISecret)),
		fileKey:    randomBytes(32),
		byID:       map[string]*emVerification{},
		byToken:    map[string]*emVerification{},
		byRef:      map[string]*emVerification{},
		files:      map[string]fileLink{},
		stallsLeft: cfg.StallCreates,
	}
	if e.hc == nil {
		e.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())

	ct := e.contract
	e.mux.HandleFunc("POST "+ct.CreateInvitePath, e.api(e.handleCreate))
	e.mux.HandleFunc("GET "+ct.LookupPath, e.api(e.handleLookup))
	e.mux.HandleFunc("POST "+ct.SendInvitePath, e.api(e.handleSend))
	e.mux.HandleFunc("POST "+ct.ResendInvitePath, e.api(e.handleResend))
	e.mux.HandleFunc("GET "+ct.ResultPath, e.api(e.handleResult))
	e.mux.HandleFunc("GET "+ct.ReportPath, e.api(e.handleReport))
	e.mux.HandleFunc("GET /files/{token}", e.handleFile)
	e.mux.HandleFunc("GET /verify/{token}", e.handlePage)
	e.mux.HandleFunc("POST /verify/{token}", e.handlePagePost)
	e.mux.HandleFunc("GET /assets/emulator.css", e.handleCSS)
	return e
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mux.ServeHTTP(w, r)
}

// Close stops the webhook senders (pending retries are abandoned) and waits
// for them to return.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// WaitIdle blocks until every webhook queued so far has been delivered or
// given up on (or the emulator is closed). It is a test hook: a test that
// asserts "no further webhook" calls it instead of sleeping.
func (e *Emulator) WaitIdle() {
	e.mu.Lock()
	var pending []chan struct{}
	for _, v := range e.byID {
		if v.lastBatch != nil {
			pending = append(pending, v.lastBatch)
		}
	}
	e.mu.Unlock()
	for _, ch := range pending {
		<-ch
	}
}

// Complete finishes a verification as if its applicant had gone through the
// hosted pages and chosen outcome (one of the Scenario constants): it sends
// the IN_PROGRESS Callback if the applicant had not started, then the final
// Callback, and on pass the Biopass User Provisioning webhook. It is a test
// and demo hook.
func (e *Emulator) Complete(verificationID, outcome string) error {
	if !validScenario(outcome) {
		return fmt.Errorf("truuth emulator: unknown outcome %q (want pass, warning, fail or error)", outcome)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.byID[verificationID]
	if !ok {
		return fmt.Errorf("truuth emulator: no verification %s", verificationID)
	}
	if v.step == stepDone {
		return fmt.Errorf("truuth emulator: verification %s is already finished", verificationID)
	}
	if v.status == rawPending {
		e.startLocked(v)
	}
	e.finishLocked(v, outcome)
	return nil
}

func validScenario(s string) bool {
	switch s {
	case ScenarioPass, ScenarioWarning, ScenarioFail, ScenarioError:
		return true
	}
	return false
}

// startLocked marks the capture as started and sends the IN_PROGRESS
// Callback. e.mu must be held.
func (e *Emulator) startLocked(v *emVerification) {
	v.status = rawInProgress
	v.step = stepDocument
	e.sendLocked(v, hook{EventPathCallback, e.callbackBody(v)})
}

// finishLocked records the outcome and sends the final webhooks: the
// Callback, then (on pass only, S04) Biopass User Provisioning. e.mu must be
// held.
func (e *Emulator) finishLocked(v *emVerification, scenario string) {
	v.scenario = scenario
	v.step = stepDone
	v.doneAt = e.now()
	v.status = rawDone
	if scenario == ScenarioError {
		v.status = rawError
	}
	bodies := []hook{{EventPathCallback, e.callbackBody(v)}}
	if scenario == ScenarioPass {
		bodies = append(bodies, hook{EventPathBiopass, e.biopassBody(v)})
	}
	e.sendLocked(v, bodies...)
}

// checkResults is the proofing outcome of each check for a scenario.
func checkResults(scenario string) []string {
	res := []string{"Pass", "Pass", "Pass", "Pass"}
	switch scenario {
	case ScenarioWarning:
		res[3] = "Warning" // Address
	case ScenarioFail:
		res[0] = "Fail" // Document
	case ScenarioError:
		return nil
	}
	return res
}

// verificationBody is the verification as the result API and the Callback
// show it (field set of R03, names from the Contract). It holds the
// applicant's PII, as Truuth's does. e.mu must be held.
func (e *Emulator) verificationBody(v *emVerification) map[string]any {
	ct := e.contract
	owner := map[string]any{
		ct.GivenNameField:  v.given,
		ct.FamilyNameField: v.family,
	}
	for f, val := range map[string]string{ct.EmailField: v.email, ct.MobileField: v.mobile, ct.DateOfBirthField: v.dob} {
		if val != "" {
			owner[f] = val
		}
	}
	m := map[string]any{
		ct.VerificationIDField: v.id,
		ct.ExternalRefField:    v.ref,
		ct.StatusField:         e.statusLocked(v),
		ct.IdentityOwnerField:  owner,
	}
	if v.status == rawDone {
		var outcomes []any
		for i, res := range checkResults(v.scenario) {
			o := map[string]any{ct.CheckResultField: res}
			o[ct.CheckNameFields[0]] = emulatorChecks[i]
			outcomes = append(outcomes, o)
		}
		setPath(m, ct.OutcomesPath, outcomes)
	}
	return m
}

// statusLocked is the raw status now: an unused invite past its expiry
// reads EXPIRED (UNCONFIRMED value).
func (e *Emulator) statusLocked(v *emVerification) string {
	if v.status == rawPending && e.now().After(v.expiresAt) {
		return rawExpired
	}
	return v.status
}

func (e *Emulator) callbackBody(v *emVerification) []byte {
	b, _ := json.Marshal(e.verificationBody(v))
	return b
}

// biopassBody is the Biopass User Provisioning event. Truuth's payload is
// undocumented; this one carries the verification id and a biopass object,
// which is what the adapter's default Contract recognizes.
func (e *Emulator) biopassBody(v *emVerification) []byte {
	ct := e.contract
	m := map[string]any{
		ct.VerificationIDField: v.id,
		ct.ExternalRefField:    v.ref,
		ct.BiopassField: map[string]any{
			"userId":        newUUID(),
			"provisionedAt": e.now().UTC().Format(time.RFC3339),
		},
	}
	b, _ := json.Marshal(m)
	return b
}

// api wraps an API handler with Basic authentication, the tenant check and
// a body size limit.
func (e *Emulator) api(h func(http.ResponseWriter, *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, secret, ok := r.BasicAuth()
		got := sha256.Sum256([]byte(key + ":" + secret))
		if !ok || subtle.ConstantTimeCompare(got[:], e.keyHash[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="truuth"`)
			e.apiError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Invalid API key or secret", nil)
			return
		}
		if t := r.PathValue("tenant"); t != "" && t != e.cfg.Tenant {
			e.apiError(w, http.StatusNotFound, "TENANT_NOT_FOUND", "Unknown tenant", nil)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		h(w, r)
	}
}

// fieldError is one invalid request field.
type fieldError struct{ field, message string }

// apiError writes the emulator's error body: {code, message, errors:[{field,
// message}]} under the Contract's names (Truuth's real shape is UNCONFIRMED).
func (e *Emulator) apiError(w http.ResponseWriter, status int, code, msg string, fields []fieldError) {
	ct := e.contract
	m := map[string]any{ct.ErrorCodeField: code, ct.ErrorMessageFields[0]: msg}
	if len(fields) > 0 {
		var list []any
		for _, f := range fields {
			list = append(list, map[string]any{ct.ErrorFieldNameField: f.field, ct.ErrorFieldMessageField: f.message})
		}
		m[ct.ErrorFieldsField] = list
	}
	writeJSON(w, status, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var (
	reE164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	reDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// handleCreate is Create Verification Invite.
func (e *Emulator) handleCreate(w http.ResponseWriter, r *http.Request) {
	ct := e.contract
	body, err := io.ReadAll(r.Body)
	if err != nil {
		e.apiError(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "The request body is too large", nil)
		return
	}
	m, err := decodeObject(body)
	if err != nil {
		e.apiError(w, http.StatusBadRequest, "INVALID_JSON", "The request body is not a JSON object", nil)
		return
	}
	get := func(f string) string { return strings.TrimSpace(getString(m, f)) }
	v := &emVerification{
		given: get(ct.GivenNameField), family: get(ct.FamilyNameField), ref: get(ct.ExternalRefField),
		email: get(ct.EmailField), mobile: get(ct.MobileField), dob: get(ct.DateOfBirthField),
	}
	var bad []fieldError
	if v.given == "" {
		bad = append(bad, fieldError{ct.GivenNameField, "is required"})
	}
	if v.family == "" {
		bad = append(bad, fieldError{ct.FamilyNameField, "is required"})
	}
	if v.ref == "" || len(v.ref) > 100 {
		bad = append(bad, fieldError{ct.ExternalRefField, "is required (at most 100 characters)"})
	}
	if v.email != "" {
		if a, err := mail.ParseAddress(v.email); err != nil || a.Address != v.email {
			bad = append(bad, fieldError{ct.EmailField, "must be a valid email address"})
		}
	}
	if v.mobile != "" && !reE164.MatchString(v.mobile) {
		bad = append(bad, fieldError{ct.MobileField, "must be in international format, e.g. +61400000000"})
	}
	if v.dob != "" {
		t, err := time.Parse(time.DateOnly, v.dob)
		if !reDate.MatchString(v.dob) || err != nil || t.After(e.now()) {
			bad = append(bad, fieldError{ct.DateOfBirthField, "must be a past date in YYYY-MM-DD format"})
		}
	}
	if len(bad) > 0 {
		e.apiError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Validation failed", bad)
		return
	}

	e.mu.Lock()
	if _, dup := e.byRef[v.ref]; dup {
		e.mu.Unlock()
		e.apiError(w, http.StatusConflict, "DUPLICATE_EXTERNAL_REF_ID", "A verification with this externalRefId already exists", nil)
		return
	}
	v.id = newUUID()
	v.token = hex.EncodeToString(randomBytes(16))
	v.status = rawPending
	v.step = stepConsent
	v.createdAt = e.now()
	v.expiresAt = v.createdAt.Add(e.cfg.InviteTTL)
	e.byID[v.id], e.byToken[v.token], e.byRef[v.ref] = v, v, v
	resp := e.inviteBodyLocked(v)
	stall := e.stallsLeft > 0
	if stall {
		e.stallsLeft--
	}
	e.mu.Unlock()
	e.log.Info("truuth emulator: invite created", "verification_id", v.id)

	if stall {
		// Committed, but the answer never comes: the client times out.
		select {
		case <-r.Context().Done():
		case <-e.ctx.Done():
		}
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

// inviteBodyLocked is the answer to create and look-up: the verification
// with its invite URL, QR code and expiry, tenant and region echoed.
func (e *Emulator) inviteBodyLocked(v *emVerification) map[string]any {
	ct := e.contract
	link := e.cfg.PublicURL + "/verify/" + v.token
	m := map[string]any{
		ct.VerificationIDField: v.id,
		ct.ExternalRefField:    v.ref,
		ct.StatusField:         e.statusLocked(v),
		ct.InviteURLField:      link,
		ct.ExpiresAtField:      v.expiresAt.UTC().Format(time.RFC3339),
		ct.TenantField:         e.cfg.Tenant,
		ct.RegionField:         e.cfg.Region,
	}
	if png, err := qrcode.Encode(link, qrcode.Medium, 256); err == nil {
		m[ct.QRCodeField] = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	return m
}

// handleLookup finds a verification by externalRefId.
func (e *Emulator) handleLookup(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get(e.contract.LookupQueryParam)
	if ref == "" {
		e.apiError(w, http.StatusBadRequest, "VALIDATION_ERROR", "Validation failed",
			[]fieldError{{e.contract.LookupQueryParam, "is required"}})
		return
	}
	e.mu.Lock()
	v, ok := e.byRef[ref]
	var resp map[string]any
	if ok {
		resp = e.inviteBodyLocked(v)
	}
	e.mu.Unlock()
	if !ok {
		e.apiError(w, http.StatusNotFound, "NOT_FOUND", "Verification not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleSend is Send Verification Invite; the sandbox sends no email.
func (e *Emulator) handleSend(w http.ResponseWriter, r *http.Request) { e.invite(w, r, false) }

// handleResend is Resend Verification Invite: only after a first send.
func (e *Emulator) handleResend(w http.ResponseWriter, r *http.Request) { e.invite(w, r, true) }

func (e *Emulator) invite(w http.ResponseWriter, r *http.Request, resend bool) {
	e.mu.Lock()
	v, ok := e.byID[r.PathValue("verificationId")]
	var code, msg string
	var fields []fieldError
	status := http.StatusOK
	switch {
	case !ok:
		status, code, msg = http.StatusNotFound, "NOT_FOUND", "Verification not found"
	case v.email == "":
		status, code, msg = http.StatusBadRequest, "VALIDATION_ERROR", "The verification has no email address to send the invite to"
		fields = []fieldError{{e.contract.EmailField, "is required to send an invite"}}
	case v.step == stepDone:
		status, code, msg = http.StatusConflict, "VERIFICATION_COMPLETED", "The verification is already complete"
	case resend && v.invitesSent == 0:
		status, code, msg = http.StatusConflict, "INVITE_NOT_SENT", "No invite has been sent yet; use Send Verification Invite"
	default:
		v.invitesSent++
	}
	e.mu.Unlock()
	if status != http.StatusOK {
		e.apiError(w, status, code, msg, fields)
		return
	}
	e.log.Info("truuth emulator: invite email recorded (sandbox, not delivered)", "verification_id", v.id, "resend", resend)
	writeJSON(w, http.StatusOK, map[string]any{e.contract.VerificationIDField: v.id, "message": "Invite sent"})
}

// handleResult returns the verification with its proofing outcomes.
func (e *Emulator) handleResult(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	v, ok := e.byID[r.PathValue("verificationId")]
	var resp map[string]any
	if ok {
		resp = e.verificationBody(v)
	}
	e.mu.Unlock()
	if !ok {
		e.apiError(w, http.StatusNotFound, "NOT_FOUND", "Verification not found", nil)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// reportLinkTTL is how long a pre-signed report link works (S3's usual
// 15 minutes; Truuth's value is UNCONFIRMED).
const reportLinkTTL = 15 * time.Minute

// handleReport is Get Verification Report: a fresh pre-signed link to the
// base64 PDF.
func (e *Emulator) handleReport(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	v, ok := e.byID[r.PathValue("verificationId")]
	done := ok && v.status == rawDone
	var link string
	var expires time.Time
	if done {
		token := hex.EncodeToString(randomBytes(16))
		expires = e.now().Add(reportLinkTTL)
		sig := e.signFile(token, expires)
		e.files[token] = fileLink{verificationID: v.id, signature: sig, expires: expires}
		link = fmt.Sprintf("%s/files/%s?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=%d&X-Amz-Signature=%s",
			e.cfg.PublicURL, token, int(reportLinkTTL.Seconds()), sig)
	}
	e.mu.Unlock()
	switch {
	case !ok:
		e.apiError(w, http.StatusNotFound, "NOT_FOUND", "Verification not found", nil)
	case !done:
		e.apiError(w, http.StatusConflict, "REPORT_NOT_READY", "The verification report is not available until the verification is done", nil)
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			e.contract.ReportURLField: link,
			e.contract.ExpiresAtField: expires.UTC().Format(time.RFC3339),
		})
	}
}

func (e *Emulator) signFile(token string, expires time.Time) string {
	sum := sha256.Sum256(append(append([]byte{}, e.fileKey...), fmt.Sprintf("%s|%d", token, expires.Unix())...))
	return hex.EncodeToString(sum[:])
}

// handleFile serves a pre-signed report file: base64 of the PDF (R01), or
// the raw PDF with RawPDF. Like object storage, a bad or expired signature
// is 403 with an XML body.
func (e *Emulator) handleFile(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	f, ok := e.files[r.PathValue("token")]
	valid := ok && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("X-Amz-Signature")), []byte(f.signature)) == 1
	expired := valid && e.now().After(f.expires)
	var snap reportData
	if valid && !expired {
		snap = e.reportDataLocked(e.byID[f.verificationID])
	}
	e.mu.Unlock()
	if !valid || expired {
		msg := "Access Denied"
		if expired {
			msg = "Request has expired"
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>%s</Message></Error>\n", msg)
		return
	}
	pdf, err := renderReportPDF(snap)
	if err != nil {
		e.log.Error("truuth emulator: report PDF failed", "verification_id", snap.ID, "err", err)
		http.Error(w, "report generation failed", http.StatusInternalServerError)
		return
	}
	if e.cfg.RawPDF {
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(pdf)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=us-ascii")
	_, _ = io.WriteString(w, base64.StdEncoding.EncodeToString(pdf))
}

// sendLocked queues webhook bodies for v. Batches of one verification go out
// in the order they were queued (IN_PROGRESS before DONE before Biopass);
// different verifications do not wait for each other. e.mu must be held.
func (e *Emulator) sendLocked(v *emVerification, bodies ...hook) {
	if e.closed || e.cfg.WebhookURL == "" {
		return
	}
	prev := v.lastBatch
	done := make(chan struct{})
	v.lastBatch = done
	id := v.id
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-e.ctx.Done():
				return
			}
		}
		for _, b := range bodies {
			e.deliver(id, b)
		}
	}()
}

// webhookAttempts is one try plus three retries.
const webhookAttempts = 4

// deliver POSTs one webhook body (twice with DuplicateWebhooks), retrying on
// network errors and non-2xx answers with a doubling backoff.
func (e *Emulator) deliver(id string, h hook) {
	if e.cfg.DropWebhooks {
		e.log.Info("truuth emulator: webhook dropped on purpose", "verification_id", id)
		return
	}
	copies := 1
	if e.cfg.DuplicateWebhooks {
		copies = 2
	}
	for range copies {
		if providers.Sleep(e.ctx, e.cfg.WebhookDelay) != nil {
			return
		}
		backoff := e.cfg.RetryBackoff
		for attempt := 1; attempt <= webhookAttempts; attempt++ {
			status, err := e.post(h)
			if err == nil && status/100 == 2 {
				e.log.Info("truuth emulator: webhook delivered", "verification_id", id, "status", status, "attempt", attempt)
				break
			}
			e.log.Warn("truuth emulator: webhook attempt failed", "verification_id", id, "status", status, "attempt", attempt, "err", errString(err))
			if attempt == webhookAttempts || providers.Sleep(e.ctx, backoff) != nil {
				break
			}
			backoff *= 2
		}
	}
}

// hook is one webhook: its subscription's event and its body.
type hook struct {
	event string // EventPathCallback or EventPathBiopass
	body  []byte
}

// post sends one webhook request to its subscription's URL: JSON, with the
// subscription's Authorization.
func (e *Emulator) post(h hook) (int, error) {
	url := strings.TrimRight(e.cfg.WebhookURL, "/") + "/" + h.event
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, url, bytes.NewReader(h.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Truuth-Webhook (sandbox emulator)")
	auth := e.cfg.WebhookAuthByEvent[h.event]
	if auth == "" {
		auth = e.cfg.WebhookAuth
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// errString reduces a send error to its kind, which keeps log lines short
// and free of URLs.
func errString(err error) string {
	if err == nil {
		return ""
	}
	var ue interface{ Timeout() bool }
	if errors.As(err, &ue) && ue.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	return "network error"
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// newUUID returns a random (version 4) UUID, the shape of Truuth's ids.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
