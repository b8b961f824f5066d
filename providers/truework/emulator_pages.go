package truework

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strings"
)

// The emulator's pages, stylesheets and scripts, embedded so the portal's
// binary carries them and its Content-Security-Policy (default-src 'self')
// holds: no inline script or style anywhere.
//
//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/*
var assetFS embed.FS

// pageNames are the emulator's pages, each rendered inside layout.html.
func pageNames() []string {
	return []string{"index", "signin", "employer", "consent", "done", "error"}
}

// parsePages parses every page with the layout. The templates are part of
// the binary, so a parse error is a programming error.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames() {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// pageData is what the templates read.
type pageData struct {
	Title     string
	Base      string
	Token     string
	Employers []string
	Error     string
	ErrorCode string
	People    []scenarioRow
}

// scenarioRow is one line of the start page's table.
type scenarioRow struct {
	SSN, Name, Job, Result string
}

// render writes a page, buffered so that a template error never leaves a
// half page.
func (e *Emulator) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Base = e.cfg.PublicURL
	var buf bytes.Buffer
	if err := e.pages[name].ExecuteTemplate(&buf, "layout", d); err != nil {
		e.log.Error("truework emulator: render page", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// index is the emulator's start page: the sandbox SSNs and the endpoints.
func (e *Emulator) index(w http.ResponseWriter, _ *http.Request) {
	var rows []scenarioRow
	for _, p := range sandboxPeople() {
		var jobs []string
		for _, j := range p.Jobs {
			jobs = append(jobs, j.Title+" at "+j.Employer)
		}
		result := "Completes after the widget"
		switch p.Scenario {
		case scenarioReverifyLost:
			result = "Completes; a reverification needs the applicant again"
		case scenarioReverifyAlive:
			result = "Completes; a reverification completes by itself"
		}
		rows = append(rows, scenarioRow{SSN: p.SSN, Name: p.FirstName + " " + p.LastName, Job: strings.Join(jobs, "; "), Result: result})
	}
	e.render(w, http.StatusOK, "index", pageData{Title: "Truework emulator", People: rows})
}

// script serves the Truework.js stand-in at /js/v1.
func (e *Emulator) script(w http.ResponseWriter, _ *http.Request) {
	b, err := assetFS.ReadFile("assets/truework.js")
	if err != nil {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// asset serves the stylesheets and the widget script.
func (e *Emulator) asset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := assetFS.ReadFile("assets/" + path.Base(name))
	if err != nil || name == "truework.js" {
		http.NotFound(w, r)
		return
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// widgetProblem is why a session token cannot be used.
type widgetProblem struct {
	status int
	msg    string
}

// sessionLocked finds the order and target of a session token that is
// valid and waiting for the applicant (pending-approval or
// action-required).
func (e *Emulator) sessionLocked(tok string) (*emOrder, int, *widgetProblem) {
	s, ok := e.sessions[tok]
	if !ok || tok == "" {
		return nil, 0, &widgetProblem{http.StatusNotFound, "This verification session is not valid."}
	}
	if !e.now().Before(s.expires) {
		return nil, 0, &widgetProblem{http.StatusGone, "This verification session has expired."}
	}
	o := e.orders[s.orderID]
	switch o.targets[s.target].vr.state {
	case StatePendingApproval, StateActionRequired:
		return o, s.target, nil
	default:
		return nil, 0, &widgetProblem{http.StatusConflict, "This verification is already finished or canceled."}
	}
}

// widgetSession checks a token for a widget page and renders the error
// page when it cannot be used. It returns the employers to show.
func (e *Emulator) widgetSession(w http.ResponseWriter, tok string) ([]string, bool) {
	e.mu.Lock()
	o, i, problem := e.sessionLocked(tok)
	var employers []string
	if problem == nil {
		for _, j := range o.targets[i].person.Jobs {
			employers = append(employers, j.Employer)
		}
	}
	e.mu.Unlock()
	if problem != nil {
		e.render(w, problem.status, "error", pageData{Title: "Link cannot be used", Error: problem.msg, ErrorCode: "invalid_session"})
		return nil, false
	}
	return employers, true
}

// widget is GET /widget?token=: the sign-in step.
func (e *Emulator) widget(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if _, ok := e.widgetSession(w, tok); !ok {
		return
	}
	e.render(w, http.StatusOK, "signin", pageData{Title: "Sign in", Token: tok})
}

// formToken parses a widget form (small, no cookies: the token travels in
// a hidden field) and returns its token.
func formToken(w http.ResponseWriter, r *http.Request) string {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get("token")
}

// widgetSignin is POST /widget/signin: any non-empty username and password
// sign in (the sandbox Credentials flow accepts anything [T18]).
func (e *Emulator) widgetSignin(w http.ResponseWriter, r *http.Request) {
	tok := formToken(w, r)
	employers, ok := e.widgetSession(w, tok)
	if !ok {
		return
	}
	if strings.TrimSpace(r.PostForm.Get("username")) == "" || r.PostForm.Get("password") == "" {
		e.render(w, http.StatusUnprocessableEntity, "signin", pageData{Title: "Sign in", Token: tok,
			Error: "Enter a username and a password. In the sandbox any values work."})
		return
	}
	e.render(w, http.StatusOK, "employer", pageData{Title: "Confirm your employer", Token: tok, Employers: employers})
}

// widgetEmployer is POST /widget/employer: the consent step.
func (e *Emulator) widgetEmployer(w http.ResponseWriter, r *http.Request) {
	tok := formToken(w, r)
	if _, ok := e.widgetSession(w, tok); !ok {
		return
	}
	e.render(w, http.StatusOK, "consent", pageData{Title: "Share your information", Token: tok})
}

// widgetFinish is POST /widget/finish: with consent, the verification runs.
func (e *Emulator) widgetFinish(w http.ResponseWriter, r *http.Request) {
	tok := formToken(w, r)
	if _, ok := e.widgetSession(w, tok); !ok {
		return
	}
	if r.PostForm.Get("consent") != "yes" {
		e.render(w, http.StatusUnprocessableEntity, "consent", pageData{Title: "Share your information", Token: tok,
			Error: "Tick the box to agree, or close this window to stop."})
		return
	}
	if err := e.CompleteWidget(tok); err != nil {
		// Lost a race with a cancel or another tab: show the error page.
		e.widgetSession(w, tok)
		return
	}
	e.render(w, http.StatusOK, "done", pageData{Title: "Done"})
}

// CompleteWidget runs the end of the widget flow for a session token, as if
// the applicant had signed in, confirmed the employer and consented: the
// verification request moves to processing and then completed, with a
// verification_request.state.change webhook for each step and
// order.completed when the whole order is done. It is the test hook for
// running the flow without a browser.
func (e *Emulator) CompleteWidget(token string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, i, problem := e.sessionLocked(token)
	if problem != nil {
		return fmt.Errorf("%w: %s", ErrInvalidSession, problem.msg)
	}
	t := o.targets[i]
	e.setStateLocked(o, t, StateProcessing)
	processing := e.stateHookLocked(o, t)
	e.enqueueLocked(func(ctx context.Context) {
		e.deliver(ctx, processing)
		e.mu.Lock()
		if t.vr.state != StateProcessing { // canceled meanwhile
			e.mu.Unlock()
			return
		}
		e.setStateLocked(o, t, StateCompleted)
		hooks := []emHook{e.stateHookLocked(o, t)}
		if allTerminalLocked(o) {
			hooks = append(hooks, e.orderHookLocked(o, EventOrderCompleted))
		}
		e.mu.Unlock()
		e.deliverAll(ctx, hooks)
	})
	return nil
}
