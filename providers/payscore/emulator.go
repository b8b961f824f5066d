package payscore

import (
	"caseverify/providers"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Sandbox credentials the emulator accepts by default. The portal passes the
// same values to Config in sandbox mode.
const (
	SandboxClientID  = "sandbox_client_id"
	SandboxSecretKey = "sandbox_secret_key"
)

// Demo bank credentials on the applicant page (our choice: Payscore's demo
// bank credentials are UNCONFIRMED).
const (
	DemoUsernameGood = "user_good" // connects, with sample income
	DemoPasswordGood = "pass_good"
	DemoUsernameBad  = "user_bad" // any password: BANK_CANNOT_CONNECT
)

// Demo institutions listed on the applicant page. Demo Bank has payroll
// income (a recurring stream); Demo Credit Union has non-recurring deposits.
const (
	DemoBank          = "Demo Bank"
	DemoCreditUnion   = "Demo Credit Union"
	demoUndeliverable = "@undeliverable.example"
)

// Applicant actions for (*Emulator).Act and the applicant page's forms. Each
// is allowed only at its step; the webhooks each one fires are listed.
const (
	// ActionConsent gives the initial consent: BEGIN_SCREENING (first time
	// only), then INITIAL_TOS_AND_PRIVACY_POLICY_CONSENT.
	ActionConsent = "consent_tos"
	// ActionSelectBank picks an institution (arg: DemoBank or
	// DemoCreditUnion) and shows its sign-in form.
	ActionSelectBank = "select_bank"
	// ActionLogin signs in (args: username, password). DemoUsernameGood and
	// DemoPasswordGood connect; DemoUsernameBad fires BANK_CANNOT_CONNECT;
	// anything else is refused with no webhook.
	ActionLogin = "login"
	// ActionBack leaves the sign-in form, or goes from choosing another bank
	// back to the connected banks.
	ActionBack = "back"
	// ActionConfirmConnection confirms the new connection's income summary:
	// BANK_CONNECTION_ACCURACY_CONSENT.
	ActionConfirmConnection = "confirm_connection"
	// ActionAddBank goes back to choose another bank.
	ActionAddBank = "add_bank"
	// ActionContinue moves on to the combined (two or more banks) or the
	// final consent.
	ActionContinue = "continue"
	// ActionConfirmCombined: COMBINED_ACCOUNTS_ACCURACY_CONSENT.
	ActionConfirmCombined = "confirm_combined"
	// ActionFinalConsent: FINAL_ACCURACY_AND_COMPLETENESS_CONSENT, then
	// SCREENING_COMPLETED, then SCREENING_GROUP_COMPLETED when every
	// screening is done.
	ActionFinalConsent = "final_consent"
	// ActionBankNotListed (arg: bank name): BANK_NOT_SUPPORTED.
	ActionBankNotListed = "bank_not_listed"
	// ActionNoOnlineBanking (arg: bank name): NO_ONLINE_BANKING.
	ActionNoOnlineBanking = "no_online_banking"
	// ActionNoBank: NO_BANK, and the screening completes.
	ActionNoBank = "no_bank"
	// ActionShareBank (multi-applicant groups only): SHARE_BANK, completes.
	ActionShareBank = "share_bank"
	// ActionNoIncome (multi-applicant groups only): NO_INCOME, completes.
	ActionNoIncome = "no_income"
	// ActionReopen re-opens a finished screening: RE_OPEN_SCREENING.
	ActionReopen = "reopen"
)

// screening steps, in the order the applicant meets them.
const (
	stepConsent  = "consent"
	stepChoose   = "choose"
	stepLogin    = "login"
	stepConfirm  = "confirm"
	stepReview   = "review"
	stepCombined = "combined"
	stepFinal    = "final"
	stepDone     = "done"
)

// EmulatorConfig configures an Emulator.
type EmulatorConfig struct {
	// PublicURL is the absolute URL where the emulator is mounted, without a
	// trailing slash, e.g. "http://localhost:8080/sandbox/payscore". It
	// prefixes the applicant links and PDF URLs the emulator hands out.
	PublicURL string
	// WebhookURL receives webhooks of groups created without a webhook_url.
	WebhookURL string
	// HTTPClient sends webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the emulator's clock (JWT expiry, 14-day report and invite
	// expiry, 2-hour PDF links); nil means time.Now.
	Now func() time.Time
	// Logger gets IDs and webhook codes only, never PII or bodies; nil
	// discards.
	Logger *slog.Logger
	// WebhookDelay is a pause before each webhook, to look real (0 in tests).
	WebhookDelay time.Duration
	// RetryBackoff is the first pause between webhook attempts (doubling,
	// 3 retries); 0 means 250 ms.
	RetryBackoff time.Duration

	// ClientID, SecretKey are the accepted credentials; empty means
	// SandboxClientID / SandboxSecretKey.
	ClientID  string
	SecretKey string
	// WebhookSecret signs webhooks; empty means SecretKey (UNCONFIRMED which
	// key Payscore uses; see Config.WebhookSecret).
	WebhookSecret string
	// TokenLifetime is the JWT lifetime; 0 means 30 minutes.
	TokenLifetime time.Duration
	// AuthStatus is the success status of POST /api/v1/tenants/auth: the new
	// docs say 200, the legacy doc shows 204 (UNCONFIRMED); 0 means 204.
	AuthStatus int
	// Contract is the adapter's contract (UNCONFIRMED paths and field
	// names); zero fields keep DefaultContract's. With no
	// ApplicantURLField (the default), screenings carry no link, as in every
	// Payscore document; the portal's sandbox names one so that a tester
	// can open the hosted page from the outbox.
	Contract Contract
	// LoseCreateAnswers makes the next this-many creates land and then drop
	// the connection without an answer, as a timeout would (tests of the
	// adapter's lookup before a second create).
	LoseCreateAnswers int

	// RefireGroupCompleted sends SCREENING_GROUP_COMPLETED this many times,
	// byte-identically, each time the group completes (Payscore documents
	// that it "might fire several times"); 0 means 1.
	RefireGroupCompleted int
	// CompletedAfterOutcome also sends SCREENING_COMPLETED after NO_BANK,
	// SHARE_BANK and NO_INCOME. UNCONFIRMED whether Payscore does; default
	// false (the outcome code alone completes the screening).
	CompletedAfterOutcome bool
	// DropCodes are webhook codes never sent (a lost delivery);
	// DuplicateCodes are sent twice in a row (a duplicate delivery).
	DropCodes      []string
	DuplicateCodes []string
	// DocumentedReportOnly leaves the emulator's own completed_at_timestamp
	// and report_expires_at_timestamp out of the report data, as Payscore
	// documents it, so tests see what the portal gets from the real API.
	DocumentedReportOnly bool
}

// Emulator is an in-memory stand-in for Payscore: the legacy screening-group
// API, the hosted applicant pages and the webhooks they cause. State lives
// in memory behind a mutex and is lost on restart: it is a sandbox.
//
// API routes (after the portal strips its mount prefix):
//
//	POST   /api/v1/tenants/auth
//	POST   /api/v1/screening_groups
//	GET    /api/v1/screening_groups/{id}
//	DELETE /api/v1/screening_groups/{id}
//	GET    /api/v1/screening_groups/{id}/report        → {"url": PublicURL/files/{token}.pdf}
//	GET    /api/v1/screening_groups/{id}/report/data
//	GET    /files/{token}.pdf                          (2 hours, then 410)
//
// Applicant pages: GET and POST /apply/{token}; stylesheet:
// /assets/emulator.css. Creating a group with an applicant email ending in
// "@undeliverable.example" answers 400, as Payscore does for emails that do
// not exist [P10].
type Emulator struct {
	cfg      EmulatorConfig
	contract Contract
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client
	mux      *http.ServeMux
	pages    *template.Template
	secret   []byte
	refire   int
	drop     map[string]bool
	dup      map[string]bool
	backoff  time.Duration

	mu        sync.Mutex
	jwtKey    []byte
	groups    map[string]*group
	byToken   map[string]*screening
	byID      map[string]*screening
	files     map[string]*pdfLink
	authCalls int
	// loseCreates counts the creates still to answer with a dropped
	// connection (EmulatorConfig.LoseCreateAnswers).
	loseCreates int

	hooks     hookQueue
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type group struct {
	id                  string
	createdAt           time.Time
	decisionMaker       string
	property            Property
	monthlyRentCents    int64
	paying              bool
	webhookURL          string
	invitationsDisabled bool
	screenings          []*screening
	status              string // pending, in_progress, completed
	completedAt         time.Time
	soonSent            bool
	expiredSent         bool
}

type screening struct {
	id, token         string
	group             *group
	first, last       string
	email, phone      string
	invitedAt         time.Time
	status            string // not_started, in_progress, completed, expired
	reason            string // not_completed, finished, no_bank, share_bank, no_income
	step              string
	began             bool
	pendingBank       string
	pending           *connection
	connections       []*connection
	combinedConsented bool
	inviteExpiredSent bool
}

type connection struct {
	id          string
	institution string
}

type pdfLink struct {
	groupID string
	expires time.Time
}

// NewEmulator returns a running emulator; call Close to stop its webhook
// sender.
func NewEmulator(cfg EmulatorConfig) *Emulator {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ClientID == "" {
		cfg.ClientID = SandboxClientID
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = SandboxSecretKey
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = cfg.SecretKey
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = TokenLifetime
	}
	if cfg.AuthStatus == 0 {
		cfg.AuthStatus = http.StatusNoContent
	}
	e := &Emulator{
		cfg:     cfg,
		log:     cfg.Logger,
		now:     cfg.Now,
		client:  cfg.HTTPClient,
		secret:  []byte(cfg.WebhookSecret),
		refire:  max(cfg.RefireGroupCompleted, 1),
		drop:    set(cfg.DropCodes),
		dup:     set(cfg.DuplicateCodes),
		backoff: cfg.RetryBackoff,
		jwtKey:  randomBytes(32),
		groups:  map[string]*group{},
		byToken: map[string]*screening{},
		byID:    map[string]*screening{},
		files:   map[string]*pdfLink{},
		pages:   template.Must(template.ParseFS(emulatorFS, "templates/*.html")),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 10 * time.Second}
	}
	if e.backoff <= 0 {
		e.backoff = 250 * time.Millisecond
	}
	e.contract = providers.FillDefaults(cfg.Contract, DefaultContract())
	e.loseCreates = cfg.LoseCreateAnswers
	e.hooks.wake = make(chan struct{}, 1)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.routes()
	e.wg.Add(1)
	go e.sendLoop()
	return e
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Close stops the webhook sender, dropping webhooks not yet sent, and waits
// for it. It is safe to call more than once.
func (e *Emulator) Close() {
	e.closeOnce.Do(func() {
		e.cancel()
		e.wg.Wait()
	})
}

func (e *Emulator) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/v1/tenants/auth", e.handleAuth)
	m.HandleFunc("POST /api/v1/screening_groups", e.withToken(e.handleCreate))
	m.HandleFunc("GET /api/v1/screening_groups/{id}", e.withToken(e.handleGet))
	m.HandleFunc(e.contract.CancelMethod+" "+e.contract.CancelPath, e.withToken(e.handleDelete))
	m.HandleFunc("GET "+e.contract.ListPath, e.withToken(e.handleList))
	m.HandleFunc("GET /api/v1/screening_groups/{id}/report", e.withToken(e.handleReportURL))
	m.HandleFunc("GET /api/v1/screening_groups/{id}/report/data", e.withToken(e.handleReportData))
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeErrors(w, http.StatusNotFound, apiErr{Message: "Not found"})
	})
	m.HandleFunc("GET /files/{file}", e.handleFile)
	m.HandleFunc("GET /apply/{token}", e.handlePage)
	m.HandleFunc("POST /apply/{token}", e.handleAction)
	m.Handle("GET /assets/", http.FileServerFS(emulatorFS))
	e.mux = m
}

// Act performs an applicant action on a screening, as the applicant page
// would, so tests and scripts can drive the flow without a browser. args
// are the action's inputs (see the Action constants). It returns an error
// when the screening is unknown, the action is not allowed at the
// screening's current step, or its input is refused.
func (e *Emulator) Act(screeningID, action string, args ...string) error {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	form := url.Values{}
	switch action {
	case ActionConsent:
		form.Set("agree", "yes")
	case ActionSelectBank:
		form.Set("bank", arg(0))
	case ActionBankNotListed, ActionNoOnlineBanking:
		form.Set("bank_name", arg(0))
	case ActionLogin:
		form.Set("username", arg(0))
		form.Set("password", arg(1))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.byID[screeningID]
	if s == nil {
		return errors.New("payscore emulator: no such screening")
	}
	notice, err := e.apply(s, action, form)
	if err != nil {
		return err
	}
	if isRefusal(notice) {
		return fmt.Errorf("payscore emulator: %s", noticeText(notice))
	}
	return nil
}

// errStep says an action is not available at the screening's step.
var errStep = errors.New("payscore emulator: that step is not available now")

// apply runs one applicant action under e.mu and queues its webhooks in
// the order Payscore would send them. It returns a notice code for the
// page (see noticeText).
func (e *Emulator) apply(s *screening, action string, form url.Values) (string, error) {
	now := e.now()
	if e.inviteExpired(s, now) {
		return "", errors.New("payscore emulator: the invitation has expired")
	}
	g := s.group
	multi := len(g.screenings) > 1
	at := func(steps ...string) error {
		for _, st := range steps {
			if s.step == st {
				return nil
			}
		}
		return errStep
	}
	switch action {
	case ActionConsent:
		if err := at(stepConsent); err != nil {
			return "", err
		}
		if form.Get("agree") != "yes" {
			return "consent_required", nil
		}
		if !s.began {
			s.began = true
			e.send(g, CodeBeginScreening, s.id, "", nil)
		}
		e.send(g, CodeInitialTOSAndPrivacyPolicyConsent, s.id, "", now.Unix())
		s.status, s.step = "in_progress", stepChoose
		if g.status != "completed" {
			g.status = "in_progress"
		}
	case ActionSelectBank:
		if err := at(stepChoose); err != nil {
			return "", err
		}
		bank := form.Get("bank")
		if !isDemoInstitution(bank) {
			return "unknown_bank", nil
		}
		s.pendingBank, s.step = bank, stepLogin
	case ActionBack:
		switch {
		case s.step == stepLogin:
			s.pendingBank, s.step = "", stepChoose
		case s.step == stepChoose && len(s.connections) > 0:
			s.step = stepReview
		default:
			return "", errStep
		}
	case ActionLogin:
		if err := at(stepLogin); err != nil {
			return "", err
		}
		user, pass := strings.TrimSpace(form.Get("username")), form.Get("password")
		switch {
		case user == DemoUsernameBad:
			e.send(g, CodeBankCannotConnect, s.id, "", s.pendingBank)
			s.pendingBank, s.step = "", stepChoose
			return "cannot_connect", nil
		case user == DemoUsernameGood && pass == DemoPasswordGood:
			s.pending = &connection{id: newUUID(), institution: s.pendingBank}
			s.pendingBank, s.step = "", stepConfirm
		default:
			return "login_failed", nil
		}
	case ActionConfirmConnection:
		if err := at(stepConfirm); err != nil {
			return "", err
		}
		e.send(g, CodeBankConnectionAccuracyConsent, s.id, s.pending.id, now.Unix())
		s.connections = append(s.connections, s.pending)
		s.pending, s.step = nil, stepReview
	case ActionAddBank:
		if err := at(stepReview); err != nil {
			return "", err
		}
		s.step = stepChoose
	case ActionContinue:
		if err := at(stepReview); err != nil {
			return "", err
		}
		s.step = stepFinal
		if len(s.connections) > 1 && !s.combinedConsented {
			s.step = stepCombined
		}
	case ActionConfirmCombined:
		if err := at(stepCombined); err != nil {
			return "", err
		}
		e.send(g, CodeCombinedAccountsAccuracyConsent, s.id, "", now.Unix())
		s.combinedConsented, s.step = true, stepFinal
	case ActionFinalConsent:
		if err := at(stepFinal); err != nil {
			return "", err
		}
		e.send(g, CodeFinalAccuracyAndCompletenessConsent, s.id, "", now.Unix())
		e.complete(s, "finished", CodeScreeningCompleted, now)
	case ActionBankNotListed, ActionNoOnlineBanking:
		if err := at(stepChoose); err != nil {
			return "", err
		}
		name := cleanText(form.Get("bank_name"), 80)
		if name == "" {
			return "bank_name_required", nil
		}
		if action == ActionBankNotListed {
			e.send(g, CodeBankNotSupported, s.id, "", name)
			return "not_supported_noted", nil
		}
		e.send(g, CodeNoOnlineBanking, s.id, "", name)
		return "no_online_noted", nil
	case ActionNoBank, ActionShareBank, ActionNoIncome:
		if err := at(stepChoose); err != nil || len(s.connections) > 0 {
			return "", errStep
		}
		code, reason := CodeNoBank, "no_bank"
		switch action {
		case ActionShareBank:
			code, reason = CodeShareBank, "share_bank"
		case ActionNoIncome:
			code, reason = CodeNoIncome, "no_income"
		}
		if action != ActionNoBank && !multi {
			return "", errors.New("payscore emulator: only for households with more than one applicant")
		}
		e.complete(s, reason, code, now)
	case ActionReopen:
		if err := at(stepDone); err != nil {
			return "", err
		}
		e.send(g, CodeReOpenScreening, s.id, "", nil)
		s.status, s.reason, s.combinedConsented = "in_progress", "not_completed", false
		s.step = stepChoose
		if len(s.connections) > 0 {
			s.step = stepReview
		}
		g.status = "in_progress"
	default:
		return "", errStep
	}
	return "", nil
}

// complete finishes a screening with code and, when it was the last one,
// completes the group and sends SCREENING_GROUP_COMPLETED (RefireGroupCompleted
// times). A completion starts a new 14-day report life.
func (e *Emulator) complete(s *screening, reason, code string, now time.Time) {
	g := s.group
	e.send(g, code, s.id, "", nil)
	if code != CodeScreeningCompleted && e.cfg.CompletedAfterOutcome {
		e.send(g, CodeScreeningCompleted, s.id, "", nil)
	}
	s.status, s.reason, s.step = "completed", reason, stepDone
	for _, o := range g.screenings {
		if o.status != "completed" {
			return
		}
	}
	g.status, g.completedAt = "completed", now
	g.soonSent, g.expiredSent = false, false
	for range e.refire {
		e.send(g, CodeScreeningGroupCompleted, "", "", nil)
	}
}

// inviteExpired says an unfinished screening is past its 14-day invite.
func (e *Emulator) inviteExpired(s *screening, now time.Time) bool {
	return s.status == "expired" || (s.status != "completed" && !now.Before(s.invitedAt.Add(InviteLifetime)))
}

// reportExpired says the group's report is past its 14-day life.
func (e *Emulator) reportExpired(g *group, now time.Time) bool {
	return !g.completedAt.IsZero() && !now.Before(g.completedAt.Add(ReportLifetime))
}

// FireExpiryWebhooks sends the time-based webhooks that are due by the
// emulator's clock, each at most once: REPORT_SOON_TO_EXPIRE 12 days after
// a group completed, REPORT_EXPIRED after 14 days, and INVITE_EXPIRED for an
// unfinished screening invited 14 days ago (its status becomes "expired").
// Payscore sends these on its own schedule; the emulator has no timer, so
// the portal's sandbox (or a test) calls this after moving the clock. It
// returns how many webhooks it queued.
func (e *Emulator) FireExpiryWebhooks() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	n := 0
	for _, g := range e.groups {
		if !g.completedAt.IsZero() {
			age := now.Sub(g.completedAt)
			if age >= ReportLifetime-2*24*time.Hour && !g.soonSent {
				g.soonSent = true
				e.send(g, CodeReportSoonToExpire, "", "", nil)
				n++
			}
			if age >= ReportLifetime && !g.expiredSent {
				g.expiredSent = true
				e.send(g, CodeReportExpired, "", "", nil)
				n++
			}
		}
		for _, s := range g.screenings {
			if s.status != "completed" && !s.inviteExpiredSent && e.inviteExpired(s, now) {
				s.inviteExpiredSent, s.status, s.reason = true, "expired", "invite_expired"
				e.send(g, CodeInviteExpired, s.id, "", nil)
				n++
			}
		}
	}
	return n
}

// AddApplicant adds a member to a group, as a decision maker can after
// creation, and sends APPLICANT_ADDED. It returns the new screening's id and
// applicant link. UNCONFIRMED: Payscore's endpoint for this, so it is a hook
// only.
func (e *Emulator) AddApplicant(groupID, first, last, email, phone string) (string, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[groupID]
	if g == nil {
		return "", "", errors.New("payscore emulator: no such screening group")
	}
	s := e.newScreening(g, first, last, email, phone)
	if g.status == "completed" {
		g.status = "in_progress"
	}
	e.send(g, CodeApplicantAdded, s.id, "", applicantValueOut(s))
	return s.id, e.applicantURL(s), nil
}

// RemoveApplicant removes a member from a group and sends APPLICANT_REMOVED.
func (e *Emulator) RemoveApplicant(groupID, screeningID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[groupID]
	if g == nil {
		return errors.New("payscore emulator: no such screening group")
	}
	for i, s := range g.screenings {
		if s.id == screeningID {
			g.screenings = append(g.screenings[:i:i], g.screenings[i+1:]...)
			delete(e.byID, s.id)
			delete(e.byToken, s.token)
			e.send(g, CodeApplicantRemoved, s.id, "", applicantValueOut(s))
			return nil
		}
	}
	return errors.New("payscore emulator: no such screening in the group")
}

// RevokeTokens invalidates every JWT issued so far, as a key rotation at
// Payscore would; the next API call with an old token gets 401.
func (e *Emulator) RevokeTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.jwtKey = randomBytes(32)
}

// AuthCalls returns how many times POST /api/v1/tenants/auth was called.
func (e *Emulator) AuthCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.authCalls
}

// newScreening adds a screening to g under e.mu.
func (e *Emulator) newScreening(g *group, first, last, email, phone string) *screening {
	s := &screening{
		id: newUUID(), token: randomHex(24), group: g,
		first: first, last: last, email: email, phone: phone,
		invitedAt: e.now(), status: "not_started", reason: "not_completed", step: stepConsent,
	}
	g.screenings = append(g.screenings, s)
	e.byID[s.id] = s
	e.byToken[s.token] = s
	return s
}

func (e *Emulator) applicantURL(s *screening) string {
	return e.cfg.PublicURL + "/apply/" + s.token
}

func isDemoInstitution(name string) bool { return name == DemoBank || name == DemoCreditUnion }

func set(codes []string) map[string]bool {
	m := map[string]bool{}
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// newUUID returns a random (version 4) UUID, the form of Payscore's ids.
func newUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
