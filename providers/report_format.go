package providers

import (
	"encoding/json"
	"fmt"
)

// ReportFormat is the version of the stored report format that EncodeReport
// writes. Format 0 (reports saved before the version existed) has the same
// JSON names as format 1, so both read the same way.
const ReportFormat = 1

// EncodeReport is the stored form of a report: its JSON, stamped with
// ReportFormat.
func EncodeReport(r *Report) ([]byte, error) {
	c := *r
	c.Format = ReportFormat
	return json.Marshal(&c)
}

// DecodeReport reads a stored report of any format this code knows. A report
// written by a newer format is refused rather than read half blank.
func DecodeReport(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("providers: decode report: %w", err)
	}
	if r.Format < 0 || r.Format > ReportFormat {
		return nil, fmt.Errorf("providers: decode report: format %d is newer than this portal reads (%d)", r.Format, ReportFormat)
	}
	r.Format = ReportFormat
	return &r, nil
}
