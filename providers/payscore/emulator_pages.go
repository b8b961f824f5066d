package payscore

import (
	"bytes"
	"embed"
	"errors"
	"net/http"
	"net/url"

	"caseverify/providers"
)

// emulatorFS holds the applicant page templates and the stylesheet served
// at /assets/emulator.css (no inline styles or scripts: the portal's CSP is
// default-src 'self').
//
//go:embed templates/*.html assets/*
var emulatorFS embed.FS

// pageData is what templates/apply.html renders.
type pageData struct {
	Title         string
	Token         string
	Step          string // a step constant, or "expired" / "missing"
	ApplicantName string
	DecisionMaker string
	Multi         bool
	Banks         []string
	PendingBank   string
	Pending       *connSummary
	Connections   []connSummary
	Notice        string
	NoticeError   bool
	Reason        string
	DemoGoodUser  string
	DemoGoodPass  string
	DemoBadUser   string
}

// connSummary is a bank connection as the applicant sees it.
type connSummary struct {
	Institution string
	Accounts    []string
	Income      string
}

func titleFor(step string) string {
	switch step {
	case stepConsent:
		return "Before you start"
	case stepChoose:
		return "Connect your bank"
	case stepLogin:
		return "Sign in to your bank"
	case stepConfirm:
		return "Check your income summary"
	case stepReview:
		return "Your connected banks"
	case stepCombined:
		return "Check your combined income"
	case stepFinal:
		return "Submit your income report"
	case stepDone:
		return "You are done"
	case "expired":
		return "This invitation has expired"
	case "missing":
		return "Link not found"
	}
	return "Income verification"
}

// noticeText maps a notice code (carried in the redirect's query string, so
// the forms need no cookies) to its message. Unknown codes show nothing, so
// the query string cannot inject text.
func noticeText(code string) string {
	switch code {
	case "consent_required":
		return "Please tick the box to give your consent before you continue."
	case "unknown_bank":
		return "Please choose a bank from the list."
	case "login_failed":
		return "Those sign-in details did not work. In the sandbox, use user_good and pass_good."
	case "cannot_connect":
		return "We could not connect to your bank because of a technical problem. Try another bank or another option."
	case "bank_name_required":
		return "Please type the name of your bank."
	case "not_supported_noted":
		return "Thank you. We have told the agency your bank is not supported. Please choose another option."
	case "no_online_noted":
		return "Thank you. We have told the agency you do not use online banking. Please choose another option."
	case "step_unavailable":
		return "That step is not available any more. Here is where you are now."
	}
	return ""
}

// isErrorNotice says a notice is shown as a problem (red) on the page.
func isErrorNotice(code string) bool {
	return code == "cannot_connect" || code == "step_unavailable" || isRefusal(code)
}

// isRefusal says the action's input was refused and nothing happened (Act
// returns an error); "cannot_connect" is not one: the sandbox scenario ran
// and its webhook was sent.
func isRefusal(code string) bool {
	switch code {
	case "consent_required", "unknown_bank", "login_failed", "bank_name_required":
		return true
	}
	return false
}

func reasonText(reason string) string {
	switch reason {
	case "no_bank":
		return "You told us you do not have a bank account."
	case "share_bank":
		return "You told us you share a bank account with another household member."
	case "no_income":
		return "You told us you have no income."
	}
	return "Your income report has been submitted."
}

// handlePage is GET /apply/{token}: the applicant's current step.
func (e *Emulator) handlePage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Token: r.PathValue("token"), DemoGoodUser: DemoUsernameGood, DemoGoodPass: DemoPasswordGood, DemoBadUser: DemoUsernameBad}
	status := http.StatusOK
	e.mu.Lock()
	s := e.byToken[d.Token]
	switch {
	case s == nil:
		d.Step, status = "missing", http.StatusNotFound
	case e.inviteExpired(s, e.now()):
		d.Step = "expired"
	default:
		e.fillPage(&d, s)
	}
	e.mu.Unlock()
	d.Title = titleFor(d.Step)
	if code := r.URL.Query().Get("notice"); d.Step != "missing" {
		d.Notice, d.NoticeError = noticeText(code), isErrorNotice(code)
	}
	var buf bytes.Buffer
	if err := e.pages.ExecuteTemplate(&buf, "apply.html", d); err != nil {
		e.log.Error("payscore emulator: render page", "err", err)
		http.Error(w, "Could not render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fillPage sets the step's data under e.mu.
func (e *Emulator) fillPage(d *pageData, s *screening) {
	d.Step = s.step
	d.ApplicantName = s.first + " " + s.last
	d.DecisionMaker = s.group.decisionMaker
	d.Multi = len(s.group.screenings) > 1
	d.Banks = []string{DemoBank, DemoCreditUnion}
	d.PendingBank = s.pendingBank
	d.Reason = reasonText(s.reason)
	now := e.now()
	summary := func(c *connection) connSummary {
		co, _ := demoConnection(c, now)
		cs := connSummary{Institution: c.institution}
		for _, a := range co.Accounts {
			cs.Accounts = append(cs.Accounts, a.Name+" ending "+a.Mask+": "+providers.Cents(a.CurrentBalance).String())
		}
		total := co.Income.Recurring + co.Income.NonRecurring
		cs.Income = providers.Cents(monthly(total, reportTimespanDays)).String() + " a month on average"
		return cs
	}
	if s.pending != nil {
		p := summary(s.pending)
		d.Pending = &p
	}
	for _, c := range s.connections {
		d.Connections = append(d.Connections, summary(c))
	}
}

// handleAction is POST /apply/{token}: one applicant action, then a 303 back
// to the page (post/redirect/get) with a notice code in the query string.
func (e *Emulator) handleAction(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form", http.StatusBadRequest)
		return
	}
	token := r.PathValue("token")
	e.mu.Lock()
	s := e.byToken[token]
	var notice string
	var err error
	if s != nil {
		notice, err = e.apply(s, r.PostForm.Get("action"), r.PostForm)
	}
	e.mu.Unlock()
	if s == nil {
		http.Error(w, "Link not found", http.StatusNotFound)
		return
	}
	if err != nil {
		notice = "step_unavailable"
		if !errors.Is(err, errStep) {
			// The action value is user input: only the id is logged.
			e.log.Info("payscore emulator: action refused", "screening_id", s.id)
		}
	}
	// A relative Location resolves against the browser's URL, which keeps
	// the portal's mount prefix that http.StripPrefix removed from r.URL.
	loc := url.PathEscape(token)
	if notice != "" {
		loc += "?notice=" + url.QueryEscape(notice)
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
}
