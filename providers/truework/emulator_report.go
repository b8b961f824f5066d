package truework

import (
	"net/http"
	"strconv"
	"time"
)

// getReport is GET /reports/{id}, as JSON or (Accept: application/pdf) PDF.
func (e *Emulator) getReport(w http.ResponseWriter, r *http.Request, pdf bool) {
	e.mu.Lock()
	rep, ok := e.reports[r.PathValue("id")]
	var cp emReport
	if ok {
		cp = *rep
	}
	e.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, "Report not found")
		return
	}
	out := reportOut(&cp)
	if !pdf {
		writeJSON(w, http.StatusOK, out)
		return
	}
	b, err := reportPDF(&out)
	if err != nil {
		e.log.Error("truework emulator: render PDF", "err", err)
		writeAPIError(w, http.StatusInternalServerError, "Could not render the report")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// reportOut renders a report (§1.6). Type "employment" reports carry no
// salary, earnings or paystubs.
func reportOut(rep *emReport) emReportOut {
	j, p := rep.job, rep.person
	out := emReportOut{
		ID: rep.id, Created: stamp(rep.created), Completed: stamp(rep.created),
		CurrentAsOf: rep.created.UTC().Format(time.DateOnly), CompletedByMethod: "credentials",
		VerificationRequest: map[string]any{"id": rep.vrID, "created": stamp(rep.vrCreated), "type": rep.typ},
		Employer:            emEmployerOut{Name: j.Employer, Address: nil, GovernmentIDs: []any{}},
		Employee: emEmployeeOut{
			FirstName: p.FirstName, LastName: p.LastName, SSN: maskSSN(p.SSN),
			Status:    emValue{j.Status, j.StatusRaw},
			HiredDate: j.Start, OriginalHiredDate: j.Start,
			TerminationDate: strPtr(j.End), OnLeaveDate: strPtr(j.OnLeave),
			Positions: []emPositionOut{{Title: j.Title, StartDate: j.Start, EndDate: strPtr(j.End),
				EmploymentType: emValue{j.EmploymentTyp, j.EmploymentRaw}}},
			Earnings: []emEarningsOut{},
		},
		Paystubs: []emPaystubOut{}, Accounts: []any{}, Eligibilities: []any{}, Disputes: []any{},
		ApplicantDocuments: []any{},
	}
	if j.StatusDetail != "" {
		out.Employee.StatusDetail = &emValue{j.StatusDetail, j.StatusRaw}
	}
	if rep.typ != "employment-income" {
		return out
	}
	sal := &emSalaryOut{
		PayFrequency: emValue{j.PayFrequency, j.PayFrequency},
		HoursPerWeek: strconv.FormatFloat(j.HoursPerWeek, 'f', -1, 64),
	}
	sal.PayRate.Amount = j.PayRate
	sal.PayRate.Unit = emValue{j.PayUnit, j.PayUnit}
	out.Employee.Salary = sal

	history := j.payHistory(rep.created)
	if len(history) > 0 {
		// Two years of earnings: the year of the latest paystub and the one before.
		last := history[0].PayDate.Year()
		for _, y := range []int{last, last - 1} {
			var total int64
			for _, h := range history {
				if h.PayDate.Year() == y {
					total += h.Gross
				}
			}
			a := fmtAmount(total)
			out.Employee.Earnings = append(out.Employee.Earnings, emEarningsOut{
				Year: y, Base: a, Overtime: "0.00", Commission: "0.00", Bonus: "0.00", Other: "0.00", Total: a,
			})
		}
	}
	for i, h := range history {
		if i == 8 { // eight paystubs, newest first
			break
		}
		g := fmtAmount(h.Gross)
		out.Paystubs = append(out.Paystubs, emPaystubOut{
			ID: newID(12), ReferenceID: "PS-" + h.PayDate.Format("20060102"),
			PayDate: h.PayDate.Format(time.DateOnly), PeriodStart: h.PeriodStart.Format(time.DateOnly),
			PeriodEnd: h.PeriodEnd.Format(time.DateOnly), PayPeriodHours: strconv.FormatFloat(h.Hours, 'f', 2, 64),
			Gross: g, Net: fmtAmount(h.Net), Base: g, Overtime: "0.00", Commission: "0.00", Bonus: "0.00", Other: "0.00",
		})
	}
	return out
}
