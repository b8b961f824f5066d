package views

import (
	"fmt"
	"time"

	"caseverify/store"
)

// IntakeUpload is the CSV upload page's state.
type IntakeUpload struct {
	Error string // why the last file was refused
}

// IntakeView is a held CSV file's page: its preview, or the import's
// progress, or its result.
type IntakeView struct {
	Intake  *store.Intake
	Preview *store.IntakePreview // nil while importing, after the import, or when the hold expired
	// Problems are the preview's problems shown (at most MaxProblems).
	Problems []store.IntakeProblem
	// Importing: the import is under way; Done of Total rows handled
	// (Total 0: the progress is not known in this process).
	Importing   bool
	Done, Total int
	Mode        string
	Error       string // why the import was refused
}

// MaxProblems is how many row problems the preview lists.
const MaxProblems = 200

// IntakeURL is a held file's page.
func IntakeURL(id string) string { return "/imports/" + id }

// Percent is the import's progress in whole percent.
func (v IntakeView) Percent() int {
	if v.Total == 0 {
		return 0
	}
	return v.Done * 100 / v.Total
}

// Result says what the import did, in one sentence.
func (v IntakeView) Result() string {
	in := v.Intake
	if in.CreatedCases == 0 && in.AddedMembers == 0 {
		s := "Nothing changed: every row is already in the portal."
		if in.Unchanged == 0 {
			s = "Nothing was imported."
		}
		if in.Skipped > 0 {
			s += fmt.Sprintf(" %s with problems skipped.", Plural(in.Skipped, "row", "rows"))
		}
		return s
	}
	s := fmt.Sprintf("Added %s and %s.", Plural(in.CreatedCases, "case", "cases"), Plural(in.AddedMembers, "member", "members"))
	if in.Unchanged > 0 {
		s += fmt.Sprintf(" %s already in the portal, left unchanged.", Plural(in.Unchanged, "row was", "rows were"))
	}
	if in.Skipped > 0 {
		s += fmt.Sprintf(" %s with problems skipped.", Plural(in.Skipped, "row", "rows"))
	}
	return s
}

// noun is one or many, by n.
func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ColumnLabel is how the preview names a column: as the file does.
func ColumnLabel(name string) string { return name }

// BulkForm is the bulk send form's state.
type BulkForm struct {
	Members     []MemberView // masked
	CaseNumbers map[int64]string
	Selected    map[int64]bool
	Providers   []ProviderChoice
	Provider    string
	Products    []string
	Channel     string
	ImportID    string // the form came from an imported batch
	Problems    map[string]string
}

// BulkFormOrder orders the bulk send form's problems.
var BulkFormOrder = []string{"members", "provider", "products", "ssn", "channel"}

// BulkRunView is a bulk send's page.
type BulkRunView struct {
	Run      *store.RenewalRun
	Provider string // the provider's label
	Items    []store.RunItemRow
	Now      time.Time
}

// Live says the page keeps asking for itself.
func (v BulkRunView) Live() bool { return v.Run.Status == "running" }

// BulkLabel is a bulk send item's status in words.
func BulkLabel(status string) string {
	switch status {
	case "pending":
		return "Waiting"
	case "working":
		return "Sending"
	case "checking":
		return "Checking with the provider"
	case "new_link":
		return "Sent"
	case "skipped":
		return "Skipped"
	case "failed":
		return "Failed"
	}
	return status
}

func bulkTag(status string) string {
	switch status {
	case "new_link":
		return "usa-tag cv-tag cv-tag--completed"
	case "pending", "working", "checking":
		return "usa-tag cv-tag cv-tag--in_progress"
	case "skipped":
		return "usa-tag cv-tag cv-tag--action_required"
	}
	return "usa-tag cv-tag cv-tag--failed"
}
