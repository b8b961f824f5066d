package truuth

import (
	"bytes"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// reportData is what the emulator's PDF report shows, copied out of the
// state so the PDF is drawn without holding the lock.
type reportData struct {
	ID, Ref, Tenant string
	Name            string
	Status          string
	Overall         string
	Checks          [][2]string // name, result
	DoneAt          time.Time
	Created         time.Time
}

// reportDataLocked copies v for the report. e.mu must be held.
func (e *Emulator) reportDataLocked(v *emVerification) reportData {
	d := reportData{
		ID: v.id, Ref: v.ref, Tenant: e.cfg.Tenant,
		Name:   v.given + " " + v.family,
		Status: v.status, DoneAt: v.doneAt, Created: e.now(),
	}
	for i, res := range checkResults(v.scenario) {
		d.Checks = append(d.Checks, [2]string{emulatorChecks[i], res})
	}
	// R02's overall words.
	switch v.scenario {
	case ScenarioPass:
		d.Overall = "Approved"
	case ScenarioWarning:
		d.Overall = "Warning"
	case ScenarioFail:
		d.Overall = "Rejected"
	}
	return d
}

// renderReportPDF draws a one-page verification report. The core PDF fonts
// are cp1252, so every text is reduced to ASCII first.
func renderReportPDF(d reportData) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCreationDate(d.Created)
	pdf.SetModificationDate(d.Created)
	pdf.SetTitle("Truuth verification report (sandbox)", false)
	pdf.SetCreator("caseverify Truuth emulator", false)
	pdf.SetMargins(20, 20, 20)
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 18)
	pdf.Cell(0, 10, "Identity verification report")
	pdf.Ln(10)
	pdf.SetFont("Helvetica", "", 10)
	pdf.SetTextColor(160, 0, 0)
	pdf.Cell(0, 6, "SANDBOX - produced by the Truuth emulator, not a real verification")
	pdf.Ln(10)
	pdf.SetTextColor(0, 0, 0)

	pdf.SetFont("Helvetica", "", 11)
	rows := [][2]string{
		{"Verification ID", d.ID},
		{"Reference", d.Ref},
		{"Tenant", d.Tenant},
		{"Applicant", d.Name},
		{"Status", d.Status},
		{"Overall result", d.Overall},
		{"Completed", d.DoneAt.UTC().Format("2006-01-02 15:04 UTC")},
	}
	for _, r := range rows {
		pdf.SetFont("Helvetica", "B", 11)
		pdf.CellFormat(45, 7, ascii(r[0]), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 11)
		pdf.CellFormat(0, 7, ascii(r[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(6)

	pdf.SetFont("Helvetica", "B", 11)
	pdf.SetFillColor(230, 230, 230)
	pdf.CellFormat(85, 8, "Check", "1", 0, "L", true, 0, "")
	pdf.CellFormat(45, 8, "Result", "1", 1, "L", true, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	for _, c := range d.Checks {
		pdf.CellFormat(85, 8, ascii(c[0]), "1", 0, "L", false, 0, "")
		pdf.CellFormat(45, 8, ascii(c[1]), "1", 1, "L", false, 0, "")
	}

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ascii replaces every non-printable-ASCII character with '?'.
func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
