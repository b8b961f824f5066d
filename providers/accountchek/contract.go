package accountchek

// Contract holds the paths and field names of AccountChek's Verifier API that
// its documents leave UNCONFIRMED (spec.md §4.2, §8.4: only public demo code
// or inference gives them), in one place, so that an agency that learns the
// real value overrides it with ACCOUNTCHEK_CONTRACT (a JSON object of these
// field names) without a release. A Config field of the same name, when
// set, wins. Paths contain {orderId} and, for one report, {reportId}.
type Contract struct {
	// VOAStatusPath is VOA "Check Status" (GET).
	VOAStatusPath string
	// VOIEReportsPath lists VOIE reports, newest first (GET).
	VOIEReportsPath string
	// VOIEReportPath is one VOIE report, JSON or PDF by Accept (GET).
	VOIEReportPath string
	// VOARefreshPath and VOIERefreshPath are "Generate Report" (POST).
	VOARefreshPath  string
	VOIERefreshPath string
	// VOIEReportIDField is the VOIE status answer's report id field.
	VOIEReportIDField string
	// ReferenceLookupParam filters GET /v1/accountchekorders by
	// referenceNumber before a create is retried.
	ReferenceLookupParam string
}

// apply copies the contract's values into cfg's empty fields; New then
// fills what is still empty with the defaults and checks every path.
func (c Contract) apply(cfg *Config) {
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&cfg.VOAStatusPath, c.VOAStatusPath}, {&cfg.VOIEReportsPath, c.VOIEReportsPath},
		{&cfg.VOIEReportPath, c.VOIEReportPath}, {&cfg.VOARefreshPath, c.VOARefreshPath},
		{&cfg.VOIERefreshPath, c.VOIERefreshPath}, {&cfg.VOIEReportIDField, c.VOIEReportIDField},
		{&cfg.ReferenceLookupParam, c.ReferenceLookupParam},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
}
