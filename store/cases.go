package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Case is an agency's case: a household applying for a program.
type Case struct {
	ID             int64
	AgencyID       int64
	Number         string
	Program        string
	AssignedUserID int64
	AssignedName   string
	RecertDue      string // YYYY-MM-DD, may be empty
	Status         CaseStatus
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Filled by Cases (the list): the primary applicant's name and the count.
	PrimaryName string
	MemberCount int
}

// CaseInput is what a caseworker types to create or edit a case.
type CaseInput struct {
	Number         string
	Program        string
	AssignedUserID int64
	RecertDue      string
}

var caseNumberRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,39}$`)

func (in *CaseInput) normalize() ValidationError {
	p := ValidationError{}
	in.Number = strings.TrimSpace(in.Number)
	switch {
	case in.Number == "":
		p["case_number"] = "Enter the agency's case number."
	case !caseNumberRE.MatchString(in.Number):
		p["case_number"] = "Use up to 40 letters, numbers, spaces, dots, dashes or slashes."
	}
	if !isOption(Programs, in.Program) {
		p["program"] = "Choose the program."
	}
	in.RecertDue = strings.TrimSpace(in.RecertDue)
	if in.RecertDue != "" {
		if _, err := time.Parse("2006-01-02", in.RecertDue); err != nil {
			p["recert_due"] = "Enter the date as YYYY-MM-DD, for example 2027-03-31."
		}
	}
	return p
}

// CreateCase adds a case to an agency. The case number is unique within the
// agency: a duplicate returns a ValidationError on case_number.
func (s *Store) CreateCase(ctx context.Context, agencyID, createdBy int64, in CaseInput) (*Case, error) {
	if p := in.normalize(); len(p) > 0 {
		return nil, p
	}
	now := s.Now()
	c := &Case{AgencyID: agencyID, Number: in.Number, Program: in.Program, AssignedUserID: in.AssignedUserID,
		RecertDue: in.RecertDue, Status: CaseNew, CreatedAt: now, UpdatedAt: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAssignee(ctx, tx, agencyID, in.AssignedUserID); err != nil {
			return wrap("CreateCase", err)
		}
		var err error
		c.ID, err = insertCase(ctx, tx, agencyID, createdBy, in, now)
		return wrap("CreateCase", err)
	})
	if errors.Is(err, ErrConflict) {
		return nil, ValidationError{"case_number": "Case " + in.Number + " already exists in this agency. Search for it instead."}
	}
	return c, wrap("CreateCase", err)
}

// UpdateCase changes a case's program, worker and recertification date.
// The case number can change too, and stays unique.
func (s *Store) UpdateCase(ctx context.Context, agencyID, caseID int64, in CaseInput) error {
	if p := in.normalize(); len(p) > 0 {
		return p
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAssignee(ctx, tx, agencyID, in.AssignedUserID); err != nil {
			return wrap("UpdateCase", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE cases SET case_number = ?, program = ?, assigned_user_id = ?, recert_due = ?,
			updated_at = ? WHERE agency_id = ? AND id = ?`, in.Number, in.Program, nullID(in.AssignedUserID),
			nullString(in.RecertDue), fmtTime(s.Now()), agencyID, caseID)
		if err != nil {
			return wrap("UpdateCase", formatError(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if errors.Is(err, ErrConflict) {
		return ValidationError{"case_number": "Case " + in.Number + " already exists in this agency."}
	}
	return wrap("UpdateCase", err)
}

// insertCase inserts a normalized case (CreateCase, the CSV intake).
func insertCase(ctx context.Context, tx *sql.Tx, agencyID, createdBy int64, in CaseInput, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO cases (agency_id, case_number, program, assigned_user_id, recert_due,
		created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		agencyID, in.Number, in.Program, nullID(in.AssignedUserID), nullString(in.RecertDue), createdBy,
		fmtTime(now), fmtTime(now)).Scan(&id)
	if err != nil {
		return 0, wrap("insertCase", formatError(err))
	}
	return id, nil
}

func checkAssignee(ctx context.Context, tx *sql.Tx, agencyID, userID int64) error {
	if userID == 0 {
		return nil
	}
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE agency_id = ? AND id = ? AND disabled_at IS NULL`, agencyID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return ValidationError{"assigned_user_id": "Choose a worker of this agency."}
	}
	return wrap("checkAssignee", err)
}

const caseColumns = `c.id, c.agency_id, c.case_number, c.program, COALESCE(c.assigned_user_id, 0), COALESCE(u.name, ''),
	COALESCE(c.recert_due, ''), c.status, c.created_at, c.updated_at`

func scanCase(row interface{ Scan(...any) error }, extra ...any) (*Case, error) {
	var c Case
	var status, created, updated string
	dest := append([]any{&c.ID, &c.AgencyID, &c.Number, &c.Program, &c.AssignedUserID, &c.AssignedName,
		&c.RecertDue, &status, &created, &updated}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, wrap("scanCase", formatError(err))
	}
	c.Status = CaseStatus(status)
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return &c, nil
}

// Case returns one case of an agency, or ErrNotFound (also for another
// agency's case: the caller cannot tell the difference).
func (s *Store) Case(ctx context.Context, agencyID, caseID int64) (*Case, error) {
	return scanCase(s.read.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM cases c
		LEFT JOIN users u ON u.id = c.assigned_user_id WHERE c.agency_id = ? AND c.id = ?`, agencyID, caseID))
}

// CaseByNumber returns the agency's case with exactly this number (ignoring
// case and surrounding spaces, as staff type it), or ErrNotFound. Unlike the
// search in Cases, it is not a prefix match cut to a page, so the case is
// found however many others share its prefix. Should two numbers differ only
// in case, the exact spelling wins.
func (s *Store) CaseByNumber(ctx context.Context, agencyID int64, number string) (*Case, error) {
	number = strings.TrimSpace(number)
	if number == "" {
		return nil, ErrNotFound
	}
	return scanCase(s.read.QueryRowContext(ctx, `SELECT `+caseColumns+` FROM cases c
		LEFT JOIN users u ON u.id = c.assigned_user_id
		WHERE c.agency_id = ? AND `+s.d.nocaseCmp("c.case_number", "=")+`
		ORDER BY c.case_number = ? DESC, c.id LIMIT 1`, agencyID, number, number))
}

// DeleteEmptyCase removes a case that has no members and no orders, and
// returns ErrConflict otherwise. It undoes a case a screen opened for a
// request that then failed (the contact center), so nothing half-made stays;
// a case with any history is never removed.
func (s *Store) DeleteEmptyCase(ctx context.Context, agencyID, caseID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM cases WHERE agency_id = ? AND id = ?`, agencyID, caseID).Scan(&one); err != nil {
			return wrap("DeleteEmptyCase", formatError(err))
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE agency_id = ? AND id = ?
			AND NOT EXISTS (SELECT 1 FROM members WHERE case_id = cases.id)
			AND NOT EXISTS (SELECT 1 FROM orders WHERE case_id = cases.id)
			AND NOT EXISTS (SELECT 1 FROM case_notes WHERE case_id = cases.id)`, agencyID, caseID)
		if err != nil {
			return wrap("DeleteEmptyCase", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrConflict
		}
		return nil
	})
}

// CaseFilter selects cases for the list. Zero values mean "any".
type CaseFilter struct {
	Query          string // case number, member name, email or phone
	Status         CaseStatus
	AssignedUserID int64
	// ByIDs keeps only the cases in IDs (a filter computed outside SQL:
	// the community engagement result).
	ByIDs bool
	IDs   []int64
	// After continues the list after this position (CaseCursor of the
	// previous page's last case): keyset paging, so any page is an index
	// seek, and cases updated meanwhile neither repeat on the next page nor
	// push it along. Page is then the page's number for display. A search
	// (Query) ignores it: it never reaches past SearchCountLimit matches.
	After   string
	Page    int // from 1; without After, the page is found by skipping index entries
	PerPage int
}

// SearchCountLimit is where a search stops counting its matches: a search
// never counts the whole agency; the list says "more than" beyond it.
const SearchCountLimit = 500

// CaseCursor is the position of c in the case list (newest updated_at
// first, then highest id): what CaseFilter.After takes. It names no person
// (a time and an id), and every query also scopes by agency, so a cursor
// from elsewhere only ever selects the caller's own cases.
func CaseCursor(c *Case) string {
	return fmtTime(c.UpdatedAt) + "~" + strconv.FormatInt(c.ID, 10)
}

// IsCaseCursor says whether s is a CaseCursor (what a URL may carry).
func IsCaseCursor(s string) bool {
	_, _, ok := parseCaseCursor(s)
	return ok
}

// parseCaseCursor reads a CaseCursor; ok is false for anything else (the
// list then starts from the top).
func parseCaseCursor(s string) (updatedAt string, id int64, ok bool) {
	at, idText, found := strings.Cut(s, "~")
	if !found {
		return "", 0, false
	}
	t, err := time.Parse(timeLayout, at)
	if err != nil {
		return "", 0, false
	}
	id, err = strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return "", 0, false
	}
	return fmtTime(t), id, true
}

// caseFilterSQL is f's conditions on cases c (besides the search).
func (s *Store) caseFilterSQL(agencyID int64, f CaseFilter) (string, []any, error) {
	where := []string{"c.agency_id = ?"}
	args := []any{agencyID}
	if f.Status != "" {
		where = append(where, "c.status = ?")
		args = append(args, string(f.Status))
	}
	if f.AssignedUserID != 0 {
		where = append(where, "c.assigned_user_id = ?")
		args = append(args, f.AssignedUserID)
	}
	if f.ByIDs {
		ids, err := json.Marshal(f.IDs)
		if err != nil {
			return "", nil, err
		}
		where = append(where, "c.id IN ("+s.d.jsonInts()+")")
		args = append(args, string(ids))
	}
	return strings.Join(where, " AND "), args, nil
}

// The list's order, newest first, and the keyset conditions on it: one
// index, cases(agency_id, updated_at, id), serves all three.
const (
	caseOrderDesc = ` ORDER BY c.updated_at DESC, c.id DESC`
	caseOrderAsc  = ` ORDER BY c.updated_at, c.id`
	caseOlderThan = ` AND (c.updated_at, c.id) < (?, ?)`
	caseNewerThan = ` AND (c.updated_at, c.id) > (?, ?)`
)

// Cases lists an agency's cases matching f, most recently updated first,
// and the total number of matches. For a search (f.Query) the total stops
// at SearchCountLimit + 1.
//
// At 100,000 members every part is an indexed lookup: a search is the union
// of separate lookups (case number prefix, name word prefix in
// member_words, exact email and phone through their blind indexes), and a
// page is chosen on the (agency_id, updated_at, id) index alone before its
// cases are read: a seek after f.After, or for a page by number, index
// entries skipped, not rows.
func (s *Store) Cases(ctx context.Context, agencyID int64, f CaseFilter) ([]*Case, int, error) {
	if f.PerPage <= 0 || f.PerPage > 100 {
		f.PerPage = 25
	}
	if f.Page < 1 {
		f.Page = 1
	}
	w, args, err := s.caseFilterSQL(agencyID, f)
	if err != nil {
		return nil, 0, wrap("Cases", err)
	}
	q := strings.TrimSpace(f.Query)
	const rowsSQL = `SELECT ` + caseColumns + `,
		COALESCE((SELECT m.first_name || ' ' || m.last_name FROM members m WHERE m.case_id = c.id ORDER BY m.position LIMIT 1), ''),
		(SELECT count(*) FROM members m WHERE m.case_id = c.id)
		FROM cases c LEFT JOIN users u ON u.id = c.assigned_user_id
		WHERE `
	var rows *sql.Rows
	var total int
	if q != "" {
		var ids []int64
		if ids, err = s.searchIDs(ctx, agencyID, q, w, args); err != nil {
			return nil, 0, wrap("Cases", err)
		}
		total = len(ids)
		from := (f.Page - 1) * f.PerPage
		if from >= len(ids) {
			return nil, total, nil
		}
		page, _ := json.Marshal(ids[from:min(from+f.PerPage, len(ids))]) // int64s: cannot fail
		rows, err = s.lists.QueryContext(ctx, rowsSQL+`c.agency_id = ? AND c.id IN (`+s.d.jsonInts()+`)`+caseOrderDesc,
			agencyID, string(page))
	} else {
		// Counted in the list's order so that it is read off the list's
		// index alone: PostgreSQL otherwise scans the table (it costs the
		// two alike; on the bench's 30,000 cases the index took 4 ms and
		// the table 10, issue 17).
		if err := s.lists.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM cases c WHERE `+w+caseOrderAsc+`) n`, args...).Scan(&total); err != nil {
			return nil, 0, wrap("Cases", err)
		}
		// The page is chosen on the index alone, then its rows are read:
		// a seek after the cursor, or index entries skipped from the
		// nearer end of the list (page 1,000 of 1,200 skips 5,000 entries
		// from the oldest case, not 25,000 from the newest). total and the
		// page are two statements: a case added between them shifts a page
		// by number by one, as it would between two requests.
		page, pageArgs := `SELECT c.id FROM cases c WHERE `+w, args
		order, limit, offset := caseOrderDesc, f.PerPage, (f.Page-1)*f.PerPage
		if at, id, ok := parseCaseCursor(f.After); ok {
			page, pageArgs, offset = page+caseOlderThan, append(slices.Clone(args), at, id), 0
		} else if fromEnd := total - offset - f.PerPage; offset > 0 && fromEnd < offset {
			order, limit, offset = caseOrderAsc, f.PerPage+min(fromEnd, 0), max(fromEnd, 0)
		}
		if limit <= 0 {
			return nil, total, nil
		}
		rows, err = s.lists.QueryContext(ctx, rowsSQL+`c.id IN (`+page+order+` LIMIT ? OFFSET ?)`+caseOrderDesc,
			append(pageArgs, limit, offset)...)
	}
	if err != nil {
		return nil, 0, wrap("Cases", err)
	}
	defer rows.Close()
	var out []*Case
	for rows.Next() {
		var name string
		var count int
		c, err := scanCase(rows, &name, &count)
		if err != nil {
			return nil, 0, wrap("Cases", err)
		}
		c.PrimaryName, c.MemberCount = name, count
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// searchIDs is the ids of the agency's cases a search q finds among those
// passing w (caseFilterSQL's conditions on cases c, with args), in the
// list's order, at most SearchCountLimit + 1 of them: the count and every
// page of the search from one query, so the matches are gathered once per
// request (on PostgreSQL a common last name's 10,000 hits took a hash built
// twice, once for the count and once for the page: issue 17).
//
// A few hits are sorted; with many (a common last name) walking the list's
// index in order and keeping the hits stops after SearchCountLimit + 1
// cases. Which is which is told by the hits themselves, before any case is
// read: counting the first SearchCountLimit + 1 index entries is cheap.
func (s *Store) searchIDs(ctx context.Context, agencyID int64, q, w string, args []any) ([]int64, error) {
	parts, hitArgs := s.searchHits(agencyID, q)
	var many bool
	if err := s.lists.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) > %d FROM (SELECT 1 FROM (%s) h LIMIT %d) n`,
		SearchCountLimit, strings.Join(parts, " UNION ALL "), SearchCountLimit+1), hitArgs...).Scan(&many); err != nil {
		return nil, err
	}
	// Each case once to sort (UNION); an IN test needs no dedupe (UNION
	// ALL). A search starts from its hits (CROSS JOIN keeps that order:
	// SQLite would otherwise check every case of the agency against them).
	sql := `SELECT c.id FROM (` + strings.Join(parts, " UNION ") + `) h ` + s.d.crossJoin() + ` cases c ON c.id = h.id WHERE ` + w
	sqlArgs := append(slices.Clone(hitArgs), args...)
	if many {
		sql = `SELECT c.id FROM cases c WHERE ` + w + ` AND ` + s.d.inHits("c.id", strings.Join(parts, " UNION ALL "))
		sqlArgs = append(slices.Clone(args), hitArgs...)
	}
	return scanIDs(s.lists.QueryContext(ctx, sql+caseOrderDesc+fmt.Sprintf(` LIMIT %d`, SearchCountLimit+1), sqlArgs...))
}

// scanIDs reads the one integer column of a query's rows (called with the
// query's results: scanIDs(db.QueryContext(...))) and closes them.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CasePageStarts says where the pages around a page of the case list
// start, for a pager that shows a window of pages and the last one: each
// is the CaseFilter.After that opens it ("" opens the first page).
type CasePageStarts struct {
	Before []string // the pages before the current one, nearest first; ends at the first page
	After  []string // the pages after it, nearest first, as many as exist
	Last   string   // the last page ("" when the list has one page)
}

// CasePageStarts finds, for the list page holding cases (a page of Cases
// with filter f, not a search, total its total), where up to window pages
// on each side and the last page start. Each is one index seek from the
// page's first or last case or from the list's end, however deep.
func (s *Store) CasePageStarts(ctx context.Context, agencyID int64, f CaseFilter, cases []*Case, total, window int) (CasePageStarts, error) {
	var out CasePageStarts
	if f.PerPage <= 0 || f.PerPage > 100 {
		f.PerPage = 25
	}
	if len(cases) == 0 || f.Query != "" {
		return out, nil
	}
	w, args, err := s.caseFilterSQL(agencyID, f)
	if err != nil {
		return out, wrap("CasePageStarts", err)
	}
	per := f.PerPage
	positions := func(sql string, args []any) ([]string, error) {
		rows, err := s.lists.QueryContext(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c Case
			var at string
			if err := rows.Scan(&at, &c.ID); err != nil {
				return nil, err
			}
			c.UpdatedAt = parseTime(at)
			out = append(out, CaseCursor(&c))
		}
		return out, rows.Err()
	}
	first, last := cases[0], cases[len(cases)-1]
	// Before: the cases newer than the page's first, nearest first. Page
	// cur-k opens after the last case of page cur-k-1: the (k*per+1)th of
	// them; fewer than that, and page cur-k is the first.
	newer, err := positions(`SELECT c.updated_at, c.id FROM cases c WHERE `+w+caseNewerThan+caseOrderAsc+` LIMIT ?`,
		append(slices.Clone(args), fmtTime(first.UpdatedAt), first.ID, window*per+1))
	if err != nil {
		return out, wrap("CasePageStarts", err)
	}
	for k := 1; k <= window && len(newer) > 0; k++ {
		if k*per >= len(newer) {
			out.Before = append(out.Before, "")
			break
		}
		out.Before = append(out.Before, newer[k*per])
	}
	// After: page cur+1 opens after this page's last case; page cur+k
	// after the (k-1)*per-th case older than it, if a case follows that.
	older, err := positions(`SELECT c.updated_at, c.id FROM cases c WHERE `+w+caseOlderThan+caseOrderDesc+` LIMIT ?`,
		append(slices.Clone(args), fmtTime(last.UpdatedAt), last.ID, (window-1)*per+1))
	if err != nil {
		return out, wrap("CasePageStarts", err)
	}
	if len(older) > 0 {
		out.After = append(out.After, CaseCursor(last))
	}
	for k := 2; k <= window && (k-1)*per < len(older); k++ {
		out.After = append(out.After, older[(k-1)*per-1])
	}
	// Last: it holds the oldest total-(pages-1)*per cases and opens after
	// the case just newer than them, found from the list's other end.
	if pages := (total + per - 1) / per; pages > 1 {
		end, err := positions(`SELECT c.updated_at, c.id FROM cases c WHERE `+w+caseOrderAsc+` LIMIT 1 OFFSET ?`,
			append(slices.Clone(args), total-(pages-1)*per))
		if err != nil {
			return out, wrap("CasePageStarts", err)
		}
		if len(end) == 1 {
			out.Last = end[0]
		}
	}
	return out, nil
}

// searchHits is the SQL (and its arguments) of the ids of the agency's
// cases a search q finds, as lookups to join by UNION (or UNION ALL). One search box for everything a caseworker might
// know: the start of the case number, the start of words of a member's name
// (every word typed must start a word of the same member's name), or a
// member's exact email or phone (matched through the blind indexes; those
// fields are encrypted). Each is its own indexed lookup; a UNION joins them.
func (s *Store) searchHits(agencyID int64, q string) ([]string, []any) {
	parts := []string{`SELECT id FROM cases WHERE agency_id = ? AND ` + s.d.nocaseCmp("case_number", ">=") + ` AND ` + s.d.nocaseCmp("case_number", "<")}
	args := []any{agencyID, q, prefixEnd(q)}
	if words := nameWords(q); len(words) > 0 && len(words) <= 4 {
		sql := `SELECT w0.case_id FROM member_words w0`
		var conds []string
		for i, word := range words {
			if i > 0 {
				sql += fmt.Sprintf(` JOIN member_words w%d ON w%d.member_id = w0.member_id`, i, i)
			}
			conds = append(conds, fmt.Sprintf(`w%d.agency_id = ? AND w%d.word >= ? AND w%d.word < ?`, i, i, i))
			args = append(args, agencyID, word, prefixEnd(word))
		}
		parts = append(parts, sql+` WHERE `+strings.Join(conds, " AND "))
	}
	if email, err := NormalizeEmail(q); err == nil {
		parts = append(parts, `SELECT case_id FROM members WHERE agency_id = ? AND email_idx = ?`)
		args = append(args, agencyID, s.crypt.Index("email", email))
	}
	if phone, err := NormalizePhone(q); err == nil {
		parts = append(parts, `SELECT case_id FROM members WHERE agency_id = ? AND phone_idx = ?`)
		args = append(args, agencyID, s.crypt.Index("phone", phone))
	}
	return parts, args
}

// prefixEnd is the least string above every string that starts with p:
// "p <= x < prefixEnd(p)" is a prefix match an index can range over.
func prefixEnd(p string) string { return p + "\U0010FFFF" }

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// touchCase marks a case updated (lists sort by it).
func touchCase(ctx context.Context, tx *sql.Tx, agencyID, caseID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE cases SET updated_at = ? WHERE agency_id = ? AND id = ?`, fmtTime(now), agencyID, caseID)
	return wrap("touchCase", err)
}
