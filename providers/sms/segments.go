package sms

import "strings"

// The encodings Segments reports.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// Segment sizes (3GPP TS 23.038/23.040): a single message holds 160 GSM-7
// septets or 70 UCS-2 code units; in a concatenated message the 6-byte
// header leaves 153 and 67 per segment.
const (
	gsm7Single = 160
	gsm7Multi  = 153
	ucs2Single = 70
	ucs2Multi  = 67
)

// gsm7Basic is the GSM 03.38 default alphabet (one septet each).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension is the extension table: each costs two septets (escape +
// character).
const gsm7Extension = "\f^{}\\[~]|€"

// Segments returns the encoding a body needs ("GSM-7" or "UCS-2") and how
// many SMS segments it takes, which is what carriers bill and what makes a
// link arrive split across messages.
//
// A body that uses only the GSM 03.38 alphabet is GSM-7: 160 characters fit
// one segment, longer bodies take 153 per segment, and extension-table
// characters (^ { } \ [ ~ ] | € and form feed) count double and are never
// split across segments. Any other character (á, í, ó, ú, “smart quotes”,
// emoji...) makes the whole body UCS-2: 70 UTF-16 code units fit one
// segment, then 67 per segment, and an emoji (two code units) is never
// split. Note that é, ñ, ü and ¿ ¡ are GSM-7 but á í ó ú are not, so much
// Spanish text is UCS-2. Twilio's optional "smart encoding" (replacing
// look-alike Unicode with GSM characters) is not modelled.
//
// An empty body takes 0 segments.
func Segments(body string) (encoding string, segments int) {
	if body == "" {
		return EncodingGSM7, 0
	}
	if units, ok := gsm7Units(body); ok {
		return EncodingGSM7, pack(units, gsm7Single, gsm7Multi)
	}
	units := make([]int, 0, len(body))
	for _, r := range body {
		if r > 0xFFFF {
			units = append(units, 2) // a UTF-16 surrogate pair
		} else {
			units = append(units, 1)
		}
	}
	return EncodingUCS2, pack(units, ucs2Single, ucs2Multi)
}

// gsm7Units returns the septets each character of body costs, or false if
// a character is outside GSM-7.
func gsm7Units(body string) ([]int, bool) {
	units := make([]int, 0, len(body))
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			units = append(units, 1)
		case strings.ContainsRune(gsm7Extension, r):
			units = append(units, 2)
		default:
			return nil, false
		}
	}
	return units, true
}

// pack counts segments: one if everything fits single, otherwise fills
// segments of size multi without splitting a character's units.
func pack(units []int, single, multi int) int {
	total := 0
	for _, u := range units {
		total += u
	}
	if total <= single {
		return 1
	}
	segments, used := 1, 0
	for _, u := range units {
		if used+u > multi {
			segments++
			used = 0
		}
		used += u
	}
	return segments
}
