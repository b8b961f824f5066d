package views

import "testing"

// A CSV cell a spreadsheet would run as a formula is neutralised with a
// leading apostrophe; anything else is left as it is.
func TestCSVCell_NeutralisesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1:A9)": "'=SUM(A1:A9)", "+1": "'+1", "-2+3": "'-2+3", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"Truv": "Truv", "40%": "40%", "": "", "a=b": "a=b", "'quoted": "'quoted",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
