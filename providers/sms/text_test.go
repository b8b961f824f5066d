package sms_test

import (
	"strings"
	"testing"

	"caseverify/providers/sms"
)

func TestSegments(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		encoding string
		segments int
	}{
		{"empty", "", sms.EncodingGSM7, 0},
		{"one char", "a", sms.EncodingGSM7, 1},
		{"ascii 160", strings.Repeat("a", 160), sms.EncodingGSM7, 1},
		{"ascii 161", strings.Repeat("a", 161), sms.EncodingGSM7, 2},
		{"ascii 306 = 2x153", strings.Repeat("a", 306), sms.EncodingGSM7, 2},
		{"ascii 307", strings.Repeat("a", 307), sms.EncodingGSM7, 3},
		{"ó in Información forces UCS-2", "Información, Señor Müller", sms.EncodingUCS2, 1},
		{"é ñ ü ¿ ¡ are GSM-7", "¿Qué tal, señor Müller? ¡Café!", sms.EncodingGSM7, 1},
		{"GSM-7 letters 160", strings.Repeat("ñ", 160), sms.EncodingGSM7, 1},
		{"euro counts double: 80 fit", strings.Repeat("€", 80), sms.EncodingGSM7, 1},
		{"euro counts double: 81 do not", strings.Repeat("€", 81), sms.EncodingGSM7, 2},
		{"159 + euro = 161 septets", strings.Repeat("a", 159) + "€", sms.EncodingGSM7, 2},
		{"158 + euro = 160 septets", strings.Repeat("a", 158) + "€", sms.EncodingGSM7, 1},
		{"extension char not split", strings.Repeat("a", 152) + "{" + strings.Repeat("a", 10), sms.EncodingGSM7, 2},
		{"brackets and pipe double", "[]{}|~^\\", sms.EncodingGSM7, 1},
		{"á forces UCS-2", "Verificación de ingresos: " + "á", sms.EncodingUCS2, 1},
		{"ucs2 70", strings.Repeat("á", 70), sms.EncodingUCS2, 1},
		{"ucs2 71", strings.Repeat("á", 71), sms.EncodingUCS2, 2},
		{"ucs2 134 = 2x67", strings.Repeat("á", 134), sms.EncodingUCS2, 2},
		{"ucs2 135", strings.Repeat("á", 135), sms.EncodingUCS2, 3},
		{"emoji is 2 units: 35 fit", strings.Repeat("😀", 35), sms.EncodingUCS2, 1},
		{"emoji is 2 units: 36 do not", strings.Repeat("😀", 36), sms.EncodingUCS2, 2},
		{"emoji not split across segments", strings.Repeat("a", 66) + "😀" + strings.Repeat("a", 10), sms.EncodingUCS2, 2},
		{"smart quote forces UCS-2", "It’s here", sms.EncodingUCS2, 1},
		{"backtick is not GSM-7", "`", sms.EncodingUCS2, 1},
		{"newlines are GSM-7", "line1\nline2\r\n", sms.EncodingGSM7, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, n := sms.Segments(tt.body)
			if enc != tt.encoding || n != tt.segments {
				t.Errorf("Segments = (%s, %d), want (%s, %d)", enc, n, tt.encoding, tt.segments)
			}
		})
	}

	t.Run("a typical link message is one segment", func(t *testing.T) {
		body := "Springfield County: please verify your income for case 2024-0193: https://v.example.gov/l/3f9a1c7e Reply STOP to opt out."
		if enc, n := sms.Segments(body); enc != sms.EncodingGSM7 || n != 1 {
			t.Errorf("Segments = (%s, %d)", enc, n)
		}
	})
}

func TestOptOutOptInKeywords(t *testing.T) {
	tests := []struct {
		body          string
		optOut, optIn bool
	}{
		{"STOP", true, false},
		{"stop", true, false},
		{"  Stop\n", true, false},
		{"Stop.", true, false},
		{"STOPALL", true, false},
		{"stop all", true, false},
		{"STOP   ALL", true, false},
		{"UNSUBSCRIBE", true, false},
		{"cancel", true, false},
		{"End", true, false},
		{"QUIT", true, false},
		{"optout", true, false},
		{"REVOKE", true, false},
		{"ALTO", true, false},
		{"alto", true, false},
		{"Parar", true, false},
		{"START", false, true},
		{"yes", false, true},
		{"Unstop", false, true},
		{"¡Sí!", false, false},
		{"please stop", false, false},
		{"STOP texting me", false, false},
		{"stopp", false, false},
		{"UNSUB", false, false},
		{"START STOP", false, false},
		{"", false, false},
		{"HELP", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := sms.IsOptOut(tt.body); got != tt.optOut {
				t.Errorf("IsOptOut(%q) = %v, want %v", tt.body, got, tt.optOut)
			}
			if got := sms.IsOptIn(tt.body); got != tt.optIn {
				t.Errorf("IsOptIn(%q) = %v, want %v", tt.body, got, tt.optIn)
			}
		})
	}
}
