package views

import (
	"fmt"
	"net/url"

	"caseverify/store"
)

// CaseList is the case list page's state.
type CaseList struct {
	Filter  store.CaseFilter
	Cases   []*store.Case
	Total   int
	Workers []*store.User
	// Searched is true when the list answers a search (POST): the query is
	// then carried in the form, never in a URL.
	Searched bool
	// Engagement is the community engagement filter ("met", "not_met",
	// "not_enough_data"); EngagementShown offers it.
	Engagement      string
	EngagementShown bool
	// Starts maps the page numbers the pager links to where each starts
	// (store.CaseFilter.After; "" for the first page): the list pages by
	// keyset (UseStarts). Nil on a search, which pages by number.
	Starts map[int]string
}

// Pages returns the number of pages. A search counts at most
// store.SearchCountLimit matches, so its pages stop there.
func (l CaseList) Pages() int {
	return (min(l.Total, l.countLimit()) + l.perPage() - 1) / l.perPage()
}

func (l CaseList) perPage() int {
	if l.Filter.PerPage <= 0 {
		return 25
	}
	return l.Filter.PerPage
}

func (l CaseList) countLimit() int {
	if l.Searched {
		return store.SearchCountLimit
	}
	return l.Total
}

// Page is the current page, from 1.
func (l CaseList) Page() int { return max(l.Filter.Page, 1) }

// PagerWindow is how many pages the pager shows each side of the current
// one (besides the first and the last): the pager stays small at any size.
const PagerWindow = 2

// UseStarts numbers the keyset starts of the pages around the current one
// (store.CasePageStarts, asked for PagerWindow+1 each side so that a single
// page left out beside the window can be shown instead of "…"): the list's
// pager then links each page it shows by where it starts.
func (l *CaseList) UseStarts(ps store.CasePageStarts) {
	cur := l.Page()
	l.Starts = map[int]string{1: ""}
	for k, after := range ps.Before {
		if after == "" || cur-k-1 <= 1 {
			break
		}
		l.Starts[cur-k-1] = after
	}
	for k, after := range ps.After {
		l.Starts[cur+k+1] = after
	}
	if ps.Last != "" {
		l.Starts[l.Pages()] = ps.Last
	}
	if cur > 1 {
		l.Starts[cur] = l.Filter.After
	}
}

// HasPage says whether the pager can link page n: on a keyset list, only a
// page whose start is known.
func (l CaseList) HasPage(n int) bool {
	if n < 1 || n > l.Pages() {
		return false
	}
	if l.Starts == nil {
		return true
	}
	_, ok := l.Starts[n]
	return ok
}

// PagerItems lists the page numbers the pager shows, in order: the first,
// the window around the current page, the last; a 0 stands for the pages
// left out between two of them.
func (l CaseList) PagerItems() []int {
	last, cur := l.Pages(), l.Page()
	shown := []int{1}
	for n := max(2, cur-PagerWindow); n <= min(last, cur+PagerWindow); n++ {
		if l.HasPage(n) || n == cur {
			shown = append(shown, n)
		}
	}
	if last > shown[len(shown)-1] && l.HasPage(last) {
		shown = append(shown, last)
	}
	var out []int
	for i, n := range shown {
		if i > 0 && n == shown[i-1]+2 && l.HasPage(n-1) {
			out = append(out, n-1) // one page left out: show it, not "…"
		} else if i > 0 && n > shown[i-1]+1 {
			out = append(out, 0)
		}
		out = append(out, n)
	}
	return out
}

// GoToPage offers a page number box: on a long list the window does not
// reach a deep page, and a caseworker who knows roughly where to look (the
// oldest cases are at the end) types its number. Such a page is found by
// skipping index entries; the pager's links from it are keyset again.
func (l CaseList) GoToPage() bool {
	return !l.Searched && l.Pages() > 2*PagerWindow+3
}

// PageURL returns the GET URL of page n with the current filters. Only
// status, worker, the page and where it starts go in URLs: they are not
// personal data.
func (l CaseList) PageURL(n int) string {
	v := l.filterValues()
	if n > 1 {
		v.Set("page", fmt.Sprint(n))
		if after := l.Starts[n]; after != "" {
			v.Set("after", after)
		}
	}
	if len(v) == 0 {
		return "/cases"
	}
	return "/cases?" + v.Encode()
}

func (l CaseList) filterValues() url.Values {
	v := url.Values{}
	if l.Filter.Status != "" {
		v.Set("status", string(l.Filter.Status))
	}
	if l.Filter.AssignedUserID != 0 {
		v.Set("worker", fmt.Sprint(l.Filter.AssignedUserID))
	}
	if l.Engagement != "" {
		v.Set("engagement", l.Engagement)
	}
	return v
}

// Showing says "Showing 1–25 of 40 cases" (or "of more than 500 cases"
// for a search that stopped counting).
func (l CaseList) Showing() string {
	if l.Total == 0 {
		return "No cases"
	}
	per := l.perPage()
	from := (l.Page()-1)*per + 1
	to := min(l.Page()*per, l.Total)
	if l.Total > l.countLimit() {
		return fmt.Sprintf("Showing %d–%d of more than %d cases: add to the search to narrow it", from, min(to, l.countLimit()), l.countLimit())
	}
	return fmt.Sprintf("Showing %d–%d of %s", from, to, Plural(l.Total, "case", "cases"))
}

// WorkerChoices lists workers for the filter and forms.
func WorkerChoices(users []*store.User) []Choice {
	out := make([]Choice, 0, len(users))
	for _, u := range users {
		if u.Disabled {
			continue
		}
		out = append(out, Choice{Value: fmt.Sprint(u.ID), Label: u.Name})
	}
	return out
}

// CaseForm is the create/edit case form's state.
type CaseForm struct {
	ID             int64 // 0 when creating
	Number         string
	Program        string
	AssignedUserID string
	RecertDue      string
	Problems       map[string]string
	Workers        []*store.User
}

// CaseFormOrder is the order of the fields for the error summary.
var CaseFormOrder = []string{"case_number", "program", "assigned_user_id", "recert_due"}

// Action is where the form posts.
func (f CaseForm) Action() string {
	if f.ID == 0 {
		return "/cases"
	}
	return fmt.Sprintf("/cases/%d", f.ID)
}

// CaseView is the case page's state.
type CaseView struct {
	Case     *store.Case
	Members  []MemberView // at most one of them Revealed
	Notes    []*store.Note
	NoteForm NoteForm
	Orders   map[int64][]OrderRow // by member id, newest first
	RollUp   RollUp
	// Household says a provider can verify several members together.
	Household bool
	// Viewers is "Who looked at this case", for roles that read the audit log.
	Viewers []*store.CaseViewer
	// Engagement is the community engagement section (Medicaid cases,
	// when the agency shows the check).
	Engagement *CaseEngagementView
}

// NoteForm is the add-note form's state.
type NoteForm struct {
	Body  string
	Error string
}

// MemberForm is the add/edit member form's state.
type MemberForm struct {
	CaseID       int64
	CaseNumber   string
	ID           int64 // 0 when adding
	FirstName    string
	LastName     string
	Relationship string
	Email        string
	Phone        string
	DateOfBirth  string
	SSNLast4     string
	Language     string
	Problems     map[string]string
	First        bool // the case has no member yet: this one is the primary applicant
}

// MemberFormOrder is the order of the fields for the error summary.
var MemberFormOrder = []string{"first_name", "last_name", "relationship", "email", "phone", "date_of_birth", "ssn_last4", "language"}

// Action is where the form posts.
func (f MemberForm) Action() string {
	if f.ID == 0 {
		return fmt.Sprintf("/cases/%d/members", f.CaseID)
	}
	return fmt.Sprintf("/cases/%d/members/%d", f.CaseID, f.ID)
}

func caseURL(id int64) string { return fmt.Sprintf("/cases/%d", id) }

func memberURL(caseID, memberID int64, suffix string) string {
	return fmt.Sprintf("/cases/%d/members/%d%s", caseID, memberID, suffix)
}

func statusTagClass(s store.CaseStatus) string {
	return "usa-tag cv-tag cv-tag--" + string(s)
}
