package views

import (
	"context"
	"time"
)

// applicantTexts are the words of the pages the portal serves to applicants
// (not staff): the tracked-link "ended" page, the printed handout and the
// QR code shown at the desk.
type applicantTexts struct {
	endedTitle, endedBody, endedCall                                    string
	expiredTitle, expiredBody                                           string
	handoutTitle, handoutIntro, step1, step2, step3, typeLink, validTil string
	noExpiry, print, questions                                          string
	qrTitle, qrIntro, qrAlt, qrTypeLink                                 string
}

var applicantWords = map[string]applicantTexts{
	"en": {
		endedTitle:   "This link has ended",
		endedBody:    "This verification link is no longer active. It may have expired, or the verification may already be done.",
		endedCall:    "If you still need to verify, contact your caseworker at %s for a new link.",
		expiredTitle: "This link has expired",
		expiredBody:  "This verification link expired on %s. Links stay valid only for a limited time, to keep your information safe.",
		handoutTitle: "Verify your information for %s",
		handoutIntro: "%s, %s needs to verify your %s for your benefits case. It takes about 5 minutes on your phone.",
		step1:        "Open your phone's camera and point it at the square code below.",
		step2:        "Tap the link that appears.",
		step3:        "Follow the steps to connect your payroll, bank or identity account.",
		typeLink:     "Or type this address in your phone's browser:",
		validTil:     "The link works until %s.",
		noExpiry:     "The link works for a few days.",
		print:        "Print this page",
		questions:    "Questions? Ask your caseworker at %s.",
		qrTitle:      "%s, scan this code with your phone",
		qrIntro:      "Open your phone's camera and point it at the code. Then follow the steps to verify for %s.",
		qrAlt:        "QR code that opens your verification link",
		qrTypeLink:   "Or type this address:",
	},
	"es": {
		endedTitle:   "Este enlace ya no está activo",
		endedBody:    "Este enlace de verificación ya no está activo. Puede haber vencido, o la verificación ya puede estar hecha.",
		endedCall:    "Si todavía necesita verificar, comuníquese con su trabajador social de %s para recibir un enlace nuevo.",
		expiredTitle: "Este enlace venció",
		expiredBody:  "Este enlace de verificación venció el %s. Los enlaces son válidos solo por un tiempo limitado, para proteger su información.",
		handoutTitle: "Verifique su información para %s",
		handoutIntro: "%s, %s necesita verificar sus %s para su caso de beneficios. Toma unos 5 minutos desde su teléfono.",
		step1:        "Abra la cámara de su teléfono y apúntela al código cuadrado de abajo.",
		step2:        "Toque el enlace que aparece.",
		step3:        "Siga los pasos para conectar su cuenta de nómina, banco o identidad.",
		typeLink:     "O escriba esta dirección en el navegador de su teléfono:",
		validTil:     "El enlace funciona hasta el %s.",
		noExpiry:     "El enlace funciona durante algunos días.",
		print:        "Imprimir esta página",
		questions:    "¿Preguntas? Pregunte a su trabajador social de %s.",
		qrTitle:      "%s, escanee este código con su teléfono",
		qrIntro:      "Abra la cámara de su teléfono y apúntela al código. Luego siga los pasos de verificación de %s.",
		qrAlt:        "Código QR que abre su enlace de verificación",
		qrTypeLink:   "O escriba esta dirección:",
	},
}

func applicantWordsFor(lang string) (applicantTexts, string) {
	if t, ok := applicantWords[lang]; ok {
		return t, lang
	}
	return applicantWords["en"], "en"
}

// HandoutView is the printable QR handout's state.
type HandoutView struct {
	Lang       string
	FirstName  string
	AgencyName string
	Products   []string
	QRURL      string // the PNG of the QR code
	Link       string
	Expires    time.Time
	BackURL    string
}

func handoutWhat(lang string, products []string) string {
	t, _ := textsFor(lang)
	return t.what(products)
}

func handoutDate(ctx context.Context, lang string, d time.Time) string {
	t, _ := textsFor(lang)
	return t.date(d.In(zone(ctx)))
}
