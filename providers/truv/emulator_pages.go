package truv

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// This file serves the hosted Bridge pages share_url points to: pick an
// employer (or bank), sign in to "Truv Payroll Provider", answer a code,
// done. Plain forms, no JavaScript, no inline styles; state travels in the
// bridge token (URL and hidden fields), never in cookies.

//go:embed templates/*.html
var pageFS embed.FS

//go:embed assets/emulator.css
var emulatorCSS []byte

// parsePages parses the embedded templates; they are part of the binary, so
// a parse error is a programming error.
func parsePages() *template.Template {
	return template.Must(template.ParseFS(pageFS, "templates/*.html"))
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(emulatorCSS)
}

// hint is one sandbox credential and what it does.
type hint struct{ Cred, What string }

// bridgeText holds the page strings of one language.
type bridgeText struct {
	Banner, HintsTitle                         string
	Hints                                      []hint
	PickEmployer, PickBank, PickIntro          string
	SearchLabel, SearchButton, NoMatch         string
	SignInTo, YouChose, Username, Password     string
	SignIn, ChooseOther                        string
	MFATitle, MFAIntro, MFACode, MFASubmit     string
	DoneTitle, DoneBody, NoDataTitle           string
	NoDataBody, CloseWindow                    string
	ClosedTitle, NotFoundTitle                 string
	NotFoundBody, ErrLogin, ErrMFA, Footnote   string
	TitleSuffix                                string
	RefreshTitle, RefreshBody                  string
	ExpiredBody, CanceledBody, AlreadyComplete string
}

// textFor returns the strings for an order's locale: Spanish for "es…",
// English otherwise.
func textFor(locale string) (string, bridgeText) {
	creds := func(ok, mfa, slow, login, mfaErr, nodata, other string) []hint {
		return []hint{
			{"goodlogin / goodpassword", ok},
			{"goodlogin / mfa", mfa},
			{"goodlogin / longcheck", slow},
			{"error.user / login_error", login},
			{"error.user / mfa_error", mfaErr},
			{"nodata / goodpassword", nodata},
			{"fulltime, hourly.part-time / goodpassword", other},
		}
	}
	if strings.HasPrefix(strings.ToLower(locale), "es") {
		return "es", bridgeText{
			Banner:     "Sandbox: emulador de Truv",
			HintsTitle: "Datos de prueba (no son reales):",
			Hints: creds("conexión correcta, pago quincenal", "pide un código: 12345 funciona",
				"correcta tras una espera larga", "error de inicio de sesión", "error del código",
				"conectado sin datos (agregado por nosotros)", "asalariado o por horas"),
			PickEmployer: "Conecte a su empleador", PickBank: "Conecte su banco",
			PickIntro:   "Elija su empleador para verificar sus ingresos directamente desde su nómina.",
			SearchLabel: "Buscar", SearchButton: "Buscar", NoMatch: "No encontramos coincidencias. Pruebe otro nombre.",
			SignInTo: "Inicie sesión en %s", YouChose: "Eligió: %s. Use su usuario y contraseña de nómina.",
			Username: "Usuario", Password: "Contraseña", SignIn: "Iniciar sesión", ChooseOther: "Elegir otro",
			MFATitle: "Ingrese su código de verificación", MFAIntro: "Le enviamos un código. Escríbalo para continuar.",
			MFACode: "Código de verificación", MFASubmit: "Continuar",
			DoneTitle: "Verificación completa", DoneBody: "Su información se compartió con la agencia.",
			NoDataTitle: "No encontramos datos", NoDataBody: "Nos conectamos, pero la cuenta no tiene datos de pago. Su trabajador social se comunicará con usted.",
			CloseWindow:   "Ya puede cerrar esta ventana.",
			ClosedTitle:   "Este enlace ya no está activo",
			ExpiredBody:   "El enlace venció. Pida uno nuevo a su trabajador social.",
			CanceledBody:  "La agencia canceló esta solicitud.",
			NotFoundTitle: "Enlace no encontrado", NotFoundBody: "Revise el enlace que recibió.",
			ErrLogin:     "No pudimos iniciar sesión con esos datos. Inténtelo de nuevo.",
			ErrMFA:       "El código no es válido. Inicie sesión e inténtelo de nuevo.",
			Footnote:     "Su usuario y contraseña van a su proveedor de nómina, no a la agencia.",
			TitleSuffix:  "Truv Bridge (sandbox)",
			RefreshTitle: "Actualización", RefreshBody: "Este pedido es una actualización y no necesita su acción.",
			AlreadyComplete: "Ya completó esta verificación.",
		}
	}
	return "en", bridgeText{
		Banner:     "Sandbox: Truv emulator",
		HintsTitle: "Test logins (not real):",
		Hints: creds("success, bi-weekly pay", "asks for a code: 12345 works", "success after a longer wait",
			"sign-in error", "code error", "connects with no data (our addition)", "salaried or hourly pay"),
		PickEmployer: "Connect your employer", PickBank: "Connect your bank",
		PickIntro:   "Choose your employer to verify your income straight from payroll.",
		SearchLabel: "Search", SearchButton: "Search", NoMatch: "No matches. Try another name.",
		SignInTo: "Sign in to %s", YouChose: "You chose %s. Use your payroll username and password.",
		Username: "Username", Password: "Password", SignIn: "Sign in", ChooseOther: "Choose another",
		MFATitle: "Enter your verification code", MFAIntro: "We sent you a code. Type it to continue.",
		MFACode: "Verification code", MFASubmit: "Continue",
		DoneTitle: "Verification complete", DoneBody: "Your information was shared with the agency.",
		NoDataTitle: "No payroll data found", NoDataBody: "We connected, but the account has no pay data. Your caseworker will contact you.",
		CloseWindow:   "You can close this window.",
		ClosedTitle:   "This link is no longer active",
		ExpiredBody:   "The link has expired. Ask your caseworker for a new one.",
		CanceledBody:  "The agency canceled this request.",
		NotFoundTitle: "Link not found", NotFoundBody: "Check the link you received.",
		ErrLogin:     "We could not sign you in with those details. Please try again.",
		ErrMFA:       "That code did not work. Sign in and try again.",
		Footnote:     "Your username and password go to your payroll provider, not to the agency.",
		TitleSuffix:  "Truv Bridge (sandbox)",
		RefreshTitle: "Refresh", RefreshBody: "This order is a data refresh and needs nothing from you.",
		AlreadyComplete: "You already completed this verification.",
	}
}

// pageData is what every page template gets.
type pageData struct {
	Lang           string
	T              bridgeText
	Base           string
	Title, Heading string
	Intro          string
	Token, GroupID string
	Query          string
	Items          []catalogItem
	Item           catalogItem
	Error          string
	Result         string
	BackURL        string
}

// render writes a page. Security headers repeat the portal's CSP so the
// pages are safe when the emulator is served on its own too.
func (e *Emulator) render(w http.ResponseWriter, status int, name string, d pageData) {
	d.Base = e.basePath
	if d.Title == "" {
		d.Title = d.Heading
	}
	d.Title += " - " + d.T.TitleSuffix
	var buf bytes.Buffer
	if err := e.pages.ExecuteTemplate(&buf, name, d); err != nil {
		e.log.Error("truv emulator: render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer") // the bridge token is in the URL
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageOrderLocked finds the order of a bridge token and the page language.
func (e *Emulator) pageOrderLocked(token string) (*emuOrder, string, bridgeText) {
	o := e.byToken[token]
	if o == nil {
		lang, t := textFor("")
		return nil, lang, t
	}
	lang, t := textFor(o.locale)
	return o, lang, t
}

// closedPageLocked renders the page for an order that takes no sign-in, and
// reports whether it did.
func (e *Emulator) closedPageLocked(w http.ResponseWriter, o *emuOrder, lang string, t bridgeText) bool {
	d := pageData{Lang: lang, T: t, Token: o.bridgeToken}
	e.expireLocked(o)
	switch {
	case o.bridgeResult == "completed" || o.bridgeResult == "no_data":
		e.doneDataLocked(&d, o)
		e.render(w, http.StatusOK, "done.html", d)
	case o.bridgeResult == "refresh":
		d.Heading, d.Intro = t.RefreshTitle, t.RefreshBody
		e.render(w, http.StatusOK, "closed.html", d)
	case o.status == "canceled":
		d.Heading, d.Intro = t.ClosedTitle, t.CanceledBody
		e.render(w, http.StatusGone, "closed.html", d)
	case o.status == "expired":
		d.Heading, d.Intro = t.ClosedTitle, t.ExpiredBody
		e.render(w, http.StatusGone, "closed.html", d)
	case o.status != "pending" && o.status != "sent":
		d.Heading, d.Intro = t.ClosedTitle, t.AlreadyComplete
		e.render(w, http.StatusOK, "closed.html", d)
	default:
		return false
	}
	return true
}

func (e *Emulator) doneDataLocked(d *pageData, o *emuOrder) {
	d.Result = o.bridgeResult
	d.Heading, d.Intro = d.T.DoneTitle, d.T.DoneBody
	if o.bridgeResult == "no_data" {
		d.Heading, d.Intro = d.T.NoDataTitle, d.T.NoDataBody
	}
}

func (e *Emulator) notFoundPage(w http.ResponseWriter, lang string, t bridgeText) {
	e.render(w, http.StatusNotFound, "closed.html", pageData{Lang: lang, T: t, Heading: t.NotFoundTitle, Intro: t.NotFoundBody})
}

// bridgeURL is the employer list of an order, with an optional search.
func (e *Emulator) bridgeURL(o *emuOrder) string {
	q := url.Values{"bridge_token": {o.bridgeToken}, "order_group_id": {o.groupID}}
	return e.basePath + "/bridge?" + q.Encode()
}

// pageBridge is share_url: the employer (or bank) list with a search that
// works without JavaScript (a GET form).
func (e *Emulator) pageBridge(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, lang, t := e.pageOrderLocked(r.URL.Query().Get("bridge_token"))
	if o == nil {
		e.notFoundPage(w, lang, t)
		return
	}
	if e.closedPageLocked(w, o, lang, t) {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	var items []catalogItem
	for _, it := range catalogFor(o) {
		if q == "" || strings.Contains(strings.ToLower(it.Name), strings.ToLower(q)) {
			items = append(items, it)
		}
	}
	heading := t.PickEmployer
	if assetsOnly(o) {
		heading = t.PickBank
	}
	e.render(w, http.StatusOK, "bridge.html", pageData{
		Lang: lang, T: t, Heading: heading, Intro: t.PickIntro,
		Token: o.bridgeToken, GroupID: o.groupID, Query: q, Items: items,
	})
}

// loginPageLocked renders the sign-in form for the picked employer.
func (e *Emulator) loginPageLocked(w http.ResponseWriter, status int, o *emuOrder, lang string, t bridgeText, item catalogItem, errMsg string) {
	provider := "Truv Payroll Provider"
	if assetsOnly(o) {
		provider = item.Name
	}
	e.render(w, status, "login.html", pageData{
		Lang: lang, T: t, Heading: fmt.Sprintf(t.SignInTo, provider), Intro: fmt.Sprintf(t.YouChose, item.Name),
		Token: o.bridgeToken, Item: item, Error: errMsg, BackURL: e.bridgeURL(o),
	})
}

func (e *Emulator) pageLoginForm(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, lang, t := e.pageOrderLocked(r.URL.Query().Get("bridge_token"))
	if o == nil {
		e.notFoundPage(w, lang, t)
		return
	}
	if e.closedPageLocked(w, o, lang, t) {
		return
	}
	item, ok := findItem(catalogFor(o), r.URL.Query().Get("company"))
	if !ok {
		http.Redirect(w, r, e.bridgeURL(o), http.StatusSeeOther)
		return
	}
	e.loginPageLocked(w, http.StatusOK, o, lang, t, item, "")
}

// postForm parses a small urlencoded form; only the body counts (never the
// query string).
func postForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return false
	}
	return true
}

func (e *Emulator) doneURL(o *emuOrder) string {
	return e.basePath + "/bridge/done?" + url.Values{"bridge_token": {o.bridgeToken}}.Encode()
}

func (e *Emulator) pageLogin(w http.ResponseWriter, r *http.Request) {
	if !postForm(w, r) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, lang, t := e.pageOrderLocked(r.PostForm.Get("bridge_token"))
	if o == nil {
		e.notFoundPage(w, lang, t)
		return
	}
	if e.closedPageLocked(w, o, lang, t) {
		return
	}
	item, ok := findItem(catalogFor(o), r.PostForm.Get("company"))
	if !ok {
		http.Redirect(w, r, e.bridgeURL(o), http.StatusSeeOther)
		return
	}
	switch e.signInLocked(o, item, r.PostForm.Get("username"), r.PostForm.Get("password")) {
	case outcomeConnected, outcomeNoData:
		http.Redirect(w, r, e.doneURL(o), http.StatusSeeOther)
	case outcomeMFA:
		e.render(w, http.StatusOK, "mfa.html", pageData{Lang: lang, T: t, Heading: t.MFATitle, Intro: t.MFAIntro, Token: o.bridgeToken, Item: item})
	case outcomeMFAError:
		e.loginPageLocked(w, http.StatusUnprocessableEntity, o, lang, t, item, t.ErrMFA)
	default:
		e.loginPageLocked(w, http.StatusUnprocessableEntity, o, lang, t, item, t.ErrLogin)
	}
}

func (e *Emulator) pageMFA(w http.ResponseWriter, r *http.Request) {
	if !postForm(w, r) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, lang, t := e.pageOrderLocked(r.PostForm.Get("bridge_token"))
	if o == nil {
		e.notFoundPage(w, lang, t)
		return
	}
	if e.closedPageLocked(w, o, lang, t) {
		return
	}
	item, _ := findItem(catalogFor(o), r.PostForm.Get("company"))
	outcome, err := e.submitMFALocked(o, strings.TrimSpace(r.PostForm.Get("code")))
	switch {
	case err != nil:
		// No sign-in is waiting for a code: start over.
		http.Redirect(w, r, e.bridgeURL(o), http.StatusSeeOther)
	case outcome == outcomeConnected:
		http.Redirect(w, r, e.doneURL(o), http.StatusSeeOther)
	case item.ID == "":
		http.Redirect(w, r, e.bridgeURL(o), http.StatusSeeOther)
	default:
		e.loginPageLocked(w, http.StatusUnprocessableEntity, o, lang, t, item, t.ErrMFA)
	}
}

func (e *Emulator) pageDone(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, lang, t := e.pageOrderLocked(r.URL.Query().Get("bridge_token"))
	if o == nil {
		e.notFoundPage(w, lang, t)
		return
	}
	if o.bridgeResult != "completed" && o.bridgeResult != "no_data" {
		http.Redirect(w, r, e.bridgeURL(o), http.StatusSeeOther)
		return
	}
	d := pageData{Lang: lang, T: t, Token: o.bridgeToken}
	e.doneDataLocked(&d, o)
	e.render(w, http.StatusOK, "done.html", d)
}
