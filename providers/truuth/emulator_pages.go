package truuth

import (
	"bytes"
	"embed"
	"html/template"
	"io"
	"net/http"
	"strings"
)

// The applicant pages: plain HTML forms that work without JavaScript or
// cookies (the URL token carries the state), styled by one embedded
// stylesheet so the portal's Content-Security-Policy needs no exception.

//go:embed templates/page.html
var templateFS embed.FS

//go:embed assets/emulator.css
var emulatorCSS []byte

// parsePages parses the page template; NewEmulator keeps the result.
func parsePages() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/page.html"))
}

// maxUpload bounds a photo upload; the emulator reads and discards it.
const maxUpload = 10 << 20

// scenarioOption is one sandbox outcome as the pages list it.
type scenarioOption struct {
	Value, Label, Hint string
	Checked            bool
}

func scenarioOptions() []scenarioOption {
	return []scenarioOption{
		{ScenarioPass, "Pass", "every check passes; the caseworker sees the identity approved, and a Biopass user is provisioned.", true},
		{ScenarioWarning, "Warning", "the address check warns; the caseworker sees \"needs review\".", false},
		{ScenarioFail, "Fail", "the document check fails; the caseworker sees the identity rejected.", false},
		{ScenarioError, "Error", "Truuth reports an error; the verification fails.", false},
	}
}

// captureText is the wording of a photo step.
type captureText struct {
	Intro, Label, Camera, Sample string
}

// pageData feeds templates/page.html.
type pageData struct {
	Title, Heading string
	Step           string
	StepNumber     int
	StepCount      int
	Error          string
	Tenant         string
	Message        string
	Result         string
	Capture        captureText
	Scenarios      []scenarioOption
}

// stepPage fills the page for a verification's current step.
func (e *Emulator) stepPage(v *emVerification) pageData {
	d := pageData{Step: v.step, Tenant: e.cfg.Tenant, Scenarios: scenarioOptions(), StepCount: 4}
	switch v.step {
	case stepConsent:
		d.Title, d.Heading, d.StepNumber = "Before you start", "Confirm your identity", 1
	case stepDocument:
		d.Title, d.Heading, d.StepNumber = "Identity document", "Photograph your identity document", 2
		d.Capture = captureText{
			Intro:  "Take a clear photo of the front of your driver licence, passport or ID card.",
			Label:  "Photo of your identity document",
			Camera: "environment",
			Sample: "Use sample document",
		}
	case stepSelfie:
		d.Title, d.Heading, d.StepNumber = "Selfie", "Take a selfie", 3
		d.Capture = captureText{
			Intro:  "Take a photo of your face in good light, without glasses or a hat.",
			Label:  "Selfie photo",
			Camera: "user",
			Sample: "Use sample selfie",
		}
	case stepOutcome:
		d.Title, d.Heading, d.StepNumber = "Result", "Choose the sandbox result", 4
	case stepDone:
		d.Title, d.Heading, d.StepCount = "Done", "Thank you", 0
		for _, s := range d.Scenarios {
			if s.Value == v.scenario {
				d.Result = s.Label
			}
		}
	}
	return d
}

// gonePage is the page for an unknown or expired link.
func gonePage(tenant, heading, msg string) pageData {
	return pageData{Title: heading, Heading: heading, Step: "gone", Tenant: tenant, Message: msg, Scenarios: scenarioOptions()}
}

// handlePage shows the verification's current step.
func (e *Emulator) handlePage(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	v, ok := e.byToken[r.PathValue("token")]
	var d pageData
	status := http.StatusOK
	switch {
	case !ok:
		status = http.StatusNotFound
		d = gonePage(e.cfg.Tenant, "This link is not valid", "We could not find a verification for this link.")
	case e.statusLocked(v) == rawExpired:
		status = http.StatusGone
		d = gonePage(e.cfg.Tenant, "This link has expired", "This verification link is no longer valid.")
	default:
		d = e.stepPage(v)
	}
	e.mu.Unlock()
	e.render(w, status, d)
}

// handlePagePost takes one step's form. A form for a step that is no longer
// current (back button, double submit) just shows the current step.
func (e *Emulator) handlePagePost(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+(1<<20))
	photo, formErr := readStepForm(r)

	e.mu.Lock()
	v, ok := e.byToken[token]
	if !ok || e.statusLocked(v) == rawExpired {
		e.mu.Unlock()
		e.handlePage(w, r)
		return
	}
	var problem string
	switch step := r.PostFormValue("step"); {
	case formErr != nil:
		problem = "The photo is too large or the form was cut off. Try a smaller photo."
	case step != v.step:
		// Stale form: fall through to the redirect.
	case step == stepConsent:
		if r.PostFormValue("consent") != "yes" {
			problem = "Tick the box to agree before you start."
			break
		}
		e.startLocked(v)
	case step == stepDocument || step == stepSelfie:
		switch r.PostFormValue("action") {
		case "sample":
		case "upload":
			if photo != "" {
				problem = photo
				break
			}
		default:
			problem = "Upload a photo or use the sample."
		}
		if problem != "" {
			break
		}
		if step == stepDocument {
			v.step = stepSelfie
		} else {
			v.step = stepOutcome
		}
	case step == stepOutcome:
		sc := r.PostFormValue("scenario")
		if !validScenario(sc) {
			problem = "Choose one of the sandbox results."
			break
		}
		e.finishLocked(v, sc)
	}
	var d pageData
	if problem != "" {
		d = e.stepPage(v)
		d.Error = problem
	}
	e.mu.Unlock()
	if r.MultipartForm != nil {
		_ = r.MultipartForm.RemoveAll()
	}
	if problem != "" {
		e.render(w, http.StatusUnprocessableEntity, d)
		return
	}
	// Post/redirect/get. The Location is relative to the page URL, because
	// the emulator does not know the prefix it is mounted under.
	w.Header().Set("Location", token)
	w.WriteHeader(http.StatusSeeOther)
}

// readStepForm parses a urlencoded or multipart form. photo is a problem
// with the uploaded image in plain words, "" when there is a usable one.
func readStepForm(r *http.Request) (photo string, err error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		return "Choose a photo first, or use the sample.", r.ParseForm()
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return "", err
	}
	f, _, ferr := r.FormFile("image")
	if ferr != nil {
		return "Choose a photo first, or use the sample.", nil
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if n == 0 {
		return "The chosen file is empty. Choose a photo, or use the sample.", nil
	}
	if !strings.HasPrefix(http.DetectContentType(head[:n]), "image/") {
		return "That file is not a photo. Choose an image file, or use the sample.", nil
	}
	return "", nil
}

// render writes a page through a buffer, so a template error never sends
// half a page.
func (e *Emulator) render(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := e.pages.ExecuteTemplate(&buf, "page", d); err != nil {
		e.log.Error("truuth emulator: page render failed", "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the URL token is a bearer credential
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// handleCSS serves the stylesheet.
func (e *Emulator) handleCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(emulatorCSS)
}
