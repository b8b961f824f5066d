package accountchek

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxFormBody bounds borrower form posts.
const maxFormBody = 64 << 10

// pageData is what the borrower page template renders.
type pageData struct {
	View         string // which part of the page to show
	Heading      string // the one <h1>, also in <title>
	FormURL      string // absolute URL of this page; forms post here
	CSSURL       string
	Notice       string // message for the borrower, if any
	Institutions []string
	Institution  string
	Payroll      []string
	Services     string // what the borrower is asked to share
	ReturnURL    string
	LinkTTL      string // for the sandbox hint
}

// handleCSS serves the emulator's stylesheet (the portal's CSP forbids
// inline styles).
func (e *Emulator) handleCSS(w http.ResponseWriter, _ *http.Request) {
	css, err := emulatorFS.ReadFile("assets/emulator.css")
	if err != nil {
		http.Error(w, "stylesheet missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(css)
}

// handleBorrowerPage is GET /borrower/{token}: arriving at the site, or
// coming back after a form. It records the arrival (501, 601 or 5010).
func (e *Emulator) handleBorrowerPage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	o := e.orderByToken(r.PathValue("token"))
	if o == nil {
		e.mu.Unlock()
		e.render(w, http.StatusNotFound, e.basePage("invalid", "This link is not valid", ""))
		return
	}
	err := e.act(o, actArrive, nil)
	status, page := e.pageFor(o, err)
	e.mu.Unlock()
	e.render(w, status, page)
}

// handleBorrowerPost is POST /borrower/{token}: one form of the flow. On
// success it redirects back to the page (post/redirect/get), which shows the
// next step. State lives on the server and the token is in the URL, so no
// cookie is needed.
func (e *Emulator) handleBorrowerPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	action := r.PostForm.Get("action") // PostForm: the body only, never the query
	if !slices.Contains([]string{actInstitution, actBankLogin, actMFA, actPayroll}, action) {
		http.Error(w, "Unknown form.", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	o := e.orderByToken(r.PathValue("token"))
	if o == nil {
		e.mu.Unlock()
		e.render(w, http.StatusNotFound, e.basePage("invalid", "This link is not valid", ""))
		return
	}
	err := e.act(o, action, r.PostForm)
	if err == nil || errors.Is(err, errStep) {
		// errStep: a stale or repeated form; the page shows where things are.
		e.mu.Unlock()
		http.Redirect(w, r, e.cfg.PublicURL+"/borrower/"+url.PathEscape(o.Token), http.StatusSeeOther)
		return
	}
	status, page := e.pageFor(o, err)
	e.mu.Unlock()
	e.render(w, status, page)
}

// orderByToken finds the order of a borrower link. Caller holds e.mu.
func (e *Emulator) orderByToken(token string) *emuOrder {
	id, ok := e.tokens[token]
	if !ok {
		return nil
	}
	return e.orders[id]
}

// basePage fills what every page has.
func (e *Emulator) basePage(view, heading, token string) pageData {
	return pageData{
		View: view, Heading: heading,
		FormURL: e.cfg.PublicURL + "/borrower/" + url.PathEscape(token),
		CSSURL:  e.cfg.PublicURL + "/assets/emulator.css",
		LinkTTL: humanDuration(e.cfg.SSOLinkTTL),
	}
}

// pageFor decides the page from the order's state. Caller holds e.mu.
func (e *Emulator) pageFor(o *emuOrder, err error) (int, pageData) {
	p := e.basePage("", "", o.Token)
	switch {
	case errors.Is(err, errLinkNotReady):
		p.View, p.Heading = "notready", "This verification is not ready yet"
		return http.StatusOK, p
	case errors.Is(err, errLinkClosed):
		p.View, p.Heading = "closed", "This verification has ended"
		return http.StatusOK, p
	case errors.Is(err, errLinkExpired):
		p.View, p.Heading = "expired", "Your link has expired"
		return http.StatusOK, p
	}
	var services []string
	if o.VOA != nil {
		services = append(services, "bank accounts")
	}
	if o.VOE != nil {
		services = append(services, "income and employment")
	}
	p.Services = strings.Join(services, " and your ")
	switch e.nextTask(o) {
	case SubIDVOA:
		v := o.VOA
		p.Notice, p.Institution = v.Notice, v.Institution
		switch v.Status {
		case "506":
			p.View, p.Heading = "mfa", "Confirm it's you"
		case "503", "505", "509":
			p.View, p.Heading = "bank_login", "Sign in to "+v.Institution
		default:
			p.View, p.Heading, p.Institutions = "bank", "Choose your bank", institutions()
		}
	case SubIDVOIE:
		p.View, p.Heading, p.Payroll, p.Notice = "payroll", "Sign in to your payroll provider", payrollProviders(), o.VOE.Notice
	default:
		p.View, p.Heading, p.ReturnURL = "done", "You're all set", o.ReturnURL
	}
	return http.StatusOK, p
}

// render executes the page template into a buffer first, so a template
// error never sends half a page.
func (e *Emulator) render(w http.ResponseWriter, status int, p pageData) {
	var buf bytes.Buffer
	if err := e.pages.ExecuteTemplate(&buf, "borrower.html", p); err != nil {
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the token is in the URL
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// humanDuration writes 72h as "72 hours" and 30m as "30 minutes".
func humanDuration(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

// plural writes "1 hour", "2 hours".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
