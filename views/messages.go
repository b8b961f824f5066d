package views

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// LinkMessage is what an applicant's message says: who asks, for what, the
// link and until when it works. It is rendered in the applicant's language.
type LinkMessage struct {
	Lang       string // "en", "es"; others fall back to English
	AgencyName string
	FirstName  string
	Products   []string // income, employment, assets, identity
	Link       string
	Expires    time.Time // zero when unknown
	Reminder   bool
}

// messageTexts are the sentences of an applicant message in one language.
type messageTexts struct {
	subject, reminderSubject, hello, why, how, button, until, unknownExpiry, unexpected, smsTmpl string
	smsShort, smsShortest                                                                        string
	products                                                                                     map[string]string
	and                                                                                          string
	dateLayout                                                                                   string
	months                                                                                       []string
}

var texts = map[string]messageTexts{
	"en": {
		subject:         "%s: please verify your %s",
		reminderSubject: "Reminder from %s: please verify your %s",
		hello:           "Hello %s,",
		why:             "%s needs to verify your %s for your benefits case. Use the secure link below. It takes about 5 minutes, and you can do it on your phone.",
		how:             "You will sign in to your payroll, bank or identity provider. %s does not see your password.",
		button:          "Start verification",
		until:           "The link works until %s.",
		unknownExpiry:   "The link works for a few days.",
		unexpected:      "If you did not expect this message, call your caseworker before you use the link.",
		smsTmpl:         "%s: please verify your %s for your benefits case: %s Reply STOP to opt out.",
		smsShort:        "%s: verify your %s: %s Reply STOP to opt out.",
		smsShortest:     "%s: verify here: %s",
		products:        map[string]string{"income": "income", "employment": "employment", "assets": "bank accounts", "identity": "identity"},
		and:             "and",
		dateLayout:      "%[2]s %[1]d, %[3]d",
		months:          []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	},
	"es": {
		subject:         "%s: verifique sus %s",
		reminderSubject: "Recordatorio de %s: verifique sus %s",
		hello:           "Hola, %s:",
		why:             "%s necesita verificar sus %s para su caso de beneficios. Use el enlace seguro de abajo. Toma unos 5 minutos y puede hacerlo desde su teléfono.",
		how:             "Iniciará sesión con su proveedor de nómina, banco o identidad. %s no ve su contraseña.",
		button:          "Comenzar la verificación",
		until:           "El enlace funciona hasta el %s.",
		unknownExpiry:   "El enlace funciona durante algunos días.",
		unexpected:      "Si no esperaba este mensaje, llame a su trabajador social antes de usar el enlace.",
		smsTmpl:         "%s: verifique sus %s para su caso de beneficios: %s Responda STOP para no recibir más mensajes.",
		smsShort:        "%s: verifique sus %s: %s Responda STOP para cancelar.",
		smsShortest:     "%s: verifique aqui: %s",
		products:        map[string]string{"income": "ingresos", "employment": "datos de empleo", "assets": "cuentas bancarias", "identity": "datos de identidad"},
		and:             "y",
		dateLayout:      "%[1]d de %[2]s de %[3]d",
		months:          []string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
	},
}

func textsFor(lang string) (messageTexts, string) {
	if t, ok := texts[lang]; ok {
		return t, lang
	}
	return texts["en"], "en"
}

func (t messageTexts) what(products []string) string {
	var words []string
	seen := map[string]bool{}
	for _, p := range products {
		w := t.products[p]
		if p == "employment" && seen[t.products["income"]] {
			continue // income includes employment
		}
		if w != "" && !seen[w] {
			words = append(words, w)
			seen[w] = true
		}
	}
	switch len(words) {
	case 0:
		return t.products["income"]
	case 1:
		return words[0]
	default:
		return strings.Join(words[:len(words)-1], ", ") + " " + t.and + " " + words[len(words)-1]
	}
}

func (t messageTexts) date(d time.Time) string {
	return fmt.Sprintf(t.dateLayout, d.Day(), t.months[d.Month()-1], d.Year())
}

// EmailParts is a rendered email.
type EmailParts struct {
	Subject string
	Text    string
	HTML    string
}

// linkEmailView is what the HTML email template shows.
type linkEmailView struct {
	Lang, Hello, Why, How, Button, Link, Until, Unexpected, Agency string
}

// LinkEmail renders the applicant's email with a text and an HTML part.
func LinkEmail(ctx context.Context, m LinkMessage) (EmailParts, error) {
	t, lang := textsFor(m.Lang)
	what := t.what(m.Products)
	subject := fmt.Sprintf(t.subject, m.AgencyName, what)
	if m.Reminder {
		subject = fmt.Sprintf(t.reminderSubject, m.AgencyName, what)
	}
	until := t.unknownExpiry
	if !m.Expires.IsZero() {
		until = fmt.Sprintf(t.until, t.date(m.Expires.In(zone(ctx))))
	}
	v := linkEmailView{Lang: lang, Hello: fmt.Sprintf(t.hello, m.FirstName), Why: fmt.Sprintf(t.why, m.AgencyName, what),
		How: fmt.Sprintf(t.how, m.AgencyName), Button: t.button, Link: m.Link, Until: until, Unexpected: t.unexpected,
		Agency: m.AgencyName}
	text := strings.Join([]string{v.Hello, "", v.Why, "", m.Link, "", v.How, v.Until, "", v.Unexpected, "", m.AgencyName}, "\n")
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := linkEmailHTML(v).Render(ctx, buf); err != nil {
		return EmailParts{}, err
	}
	return EmailParts{Subject: subject, Text: text, HTML: buf.String()}, nil
}

// LinkSMS renders the applicant's text message, fullest wording.
func LinkSMS(m LinkMessage) string { return LinkSMSVariants(m)[0] }

// LinkSMSVariants renders the text message from the fullest wording to the
// shortest, so the sender can pick the first that fits one SMS segment.
func LinkSMSVariants(m LinkMessage) []string {
	t, _ := textsFor(m.Lang)
	what := t.what(m.Products)
	return []string{
		fmt.Sprintf(t.smsTmpl, m.AgencyName, what, m.Link),
		fmt.Sprintf(t.smsShort, m.AgencyName, what, m.Link),
		fmt.Sprintf(t.smsShortest, m.AgencyName, m.Link),
	}
}
