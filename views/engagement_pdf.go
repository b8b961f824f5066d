package views

import (
	"bytes"
	"fmt"

	"codeberg.org/go-pdf/fpdf"
)

// EngagementPDFHead says whose check a PDF is, already formatted.
type EngagementPDFHead struct {
	Agency, CaseNumber, Member, Generated string
}

// EngagementPDF renders a member's community engagement check as a
// one-document PDF for the case file: the same words and figures as the
// panel. The provider's report PDF is the provider's own document and is
// passed through untouched, so the portal's check is a PDF of its own.
func EngagementPDF(h EngagementPDFHead, v EngagementView) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "Letter", "")
	tr := pdf.UnicodeTranslatorFromDescriptor("") // core fonts are cp1252
	pdf.SetTitle("Community engagement check", true)
	pdf.SetCreator("caseverify", true)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 18)
	pdf.AddPage()
	text := func(size float64, style, s string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(0, size*0.5, tr(s), "", "L", false)
	}
	text(16, "B", "Community engagement check")
	text(9, "", fmt.Sprintf("%s · Case %s · %s · generated %s", h.Agency, h.CaseNumber, h.Member, h.Generated))
	pdf.Ln(3)
	text(12, "B", "Result: "+v.ResultLabel)
	text(10, "", v.Context)
	text(10, "", v.ResultWhy)
	pdf.Ln(2)
	text(10, "", v.Rule)
	pdf.Ln(3)
	table := func(widths []float64, head []string, rows [][]string, right map[int]bool) {
		row := func(cells []string, bold bool) {
			style := ""
			if bold {
				style = "B"
			}
			pdf.SetFont("Helvetica", style, 8.5)
			for i, c := range cells {
				align := "L"
				if right[i] {
					align = "R"
				}
				pdf.CellFormat(widths[i], 6, fit(pdf, tr(c), widths[i]-2), "B", 0, align, false, 0, "")
			}
			pdf.Ln(-1)
		}
		row(head, true)
		for _, r := range rows {
			row(r, false)
		}
	}
	text(11, "B", "Hours and income by calendar month")
	var rows [][]string
	for _, m := range v.Months {
		rows = append(rows, []string{m.Month, m.Hours, m.Gross, m.Test, m.ResultLabel})
	}
	table([]float64{34, 36, 30, 34, 45}, []string{"Month", "Hours", "Gross income", "Test met", "Result"}, rows, map[int]bool{1: true, 2: true})
	for _, m := range v.Months {
		if m.Note != "" {
			text(8.5, "", m.Month+": "+m.Note)
		}
	}
	if v.Seasonal != "" {
		pdf.Ln(2)
		text(10, "", v.Seasonal)
	}
	if len(v.Shares) > 0 {
		pdf.Ln(3)
		text(11, "B", "Paystubs counted")
		rows = nil
		for _, s := range v.Shares {
			days := s.Days
			if s.Split {
				days += " (split)"
			}
			rows = append(rows, []string{s.Month, s.Employer, s.Paystub, days, s.Hours, s.Gross})
		}
		pdf.SetFont("Helvetica", "", 8.5)
		table([]float64{24, 32, 60, 28, 14, 22}, []string{"Month", "Employer", "Paystub", "Days in month", "Hours", "Gross"}, rows, map[int]bool{4: true, 5: true})
	}
	pdf.Ln(3)
	text(9, "", v.Sources+" "+v.Duplicates)
	pdf.Ln(2)
	text(10, "B", EngagementDisclaimer)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fit shortens s with an ellipsis until it fits w millimetres in the
// current font, so a long employer name never runs into the next cell.
func fit(pdf *fpdf.Fpdf, s string, w float64) string {
	if pdf.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && pdf.GetStringWidth(string(r)+"...") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "..."
}
