package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// CSV intake: a file of cases and household members, one member a row, is
// held on the server (sealed), previewed with every row checked by the same
// rules as the case and member forms (CaseInput and MemberInput.normalize),
// then imported in one transaction or by its valid rows only. Importing is
// idempotent on the case number and the member (name and date of birth):
// what is already there is left as it is.

// Intake limits: a bigger file is refused before anything is kept.
const (
	IntakeMaxBytes = 5 << 20
	IntakeMaxRows  = 20000
	// intakeBatch is how many rows one transaction writes when importing
	// the valid rows only (and how often the progress moves).
	intakeBatch = 500
	// intakeHold is how long an uploaded file is kept for its preview and
	// import; after that its contents are wiped (the summary stays).
	intakeHold = 24 * time.Hour
	// intakeStale is how long an import may say "importing" before it is
	// taken for dead (the process stopped) and may be run again.
	intakeStale = 10 * time.Minute
)

// IntakeColumn is a column the intake reads.
type IntakeColumn struct {
	Name     string
	Required bool
	Help     string
}

// IntakeColumns are the columns of an intake file, in the order the README
// and the upload page list them. The first row names them, in any order.
var IntakeColumns = []IntakeColumn{
	{"case_number", true, "The agency's case number. Rows with the same number are one household."},
	{"program", false, "snap, medicaid, tanf, wic, chip, housing, liheap or childcare. Empty: the agency's default program."},
	{"recert_due", false, "Recertification date, YYYY-MM-DD (or MM/DD/YYYY)."},
	{"first_name", true, "The member's first name."},
	{"last_name", true, "The member's last name."},
	{"relationship", false, "self, spouse, partner, child, parent, sibling, relative or other. Empty: self for a new case's first row, other after it."},
	{"date_of_birth", false, "YYYY-MM-DD (or MM/DD/YYYY)."},
	{"email", false, "Email address."},
	{"phone", false, "Mobile number, e.g. (555) 201-0123 or +1 555 201 0123."},
	{"language", false, "en, es, zh, vi, ko, tl, ru, ar, ht, fr or pt (or the language's name). Empty: en."},
}

// intakeAliases are other spellings of the column names spreadsheets use.
var intakeAliases = map[string]string{
	"case": "case_number", "case_no": "case_number", "recertification_date": "recert_due", "recert_date": "recert_due",
	"dob": "date_of_birth", "birth_date": "date_of_birth", "mobile": "phone", "mobile_phone": "phone", "first": "first_name",
	"last": "last_name", "email_address": "email", "preferred_language": "language",
}

// IntakeFileError says why a whole file was refused (wrong headers, not
// UTF-8, too big): nothing of it is kept.
type IntakeFileError string

func (e IntakeFileError) Error() string { return string(e) }

// IntakeRow is one row of a file: its line, the case and member it names,
// and what is wrong with it, by column name.
type IntakeRow struct {
	Line     int
	Case     CaseInput
	Member   MemberInput
	Problems ValidationError
}

// IntakeProblem is one problem of a row, for the preview.
type IntakeProblem struct {
	Line    int
	Column  string
	Message string
}

var usDate = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})$`)

// isoDate turns a spreadsheet's MM/DD/YYYY into YYYY-MM-DD; anything else
// is left for the form's rule to judge.
func isoDate(s string) string {
	s = strings.TrimSpace(s)
	if m := usDate.FindStringSubmatch(s); m != nil {
		return fmt.Sprintf("%s-%02s-%02s", m[3], m[1], m[2])
	}
	return s
}

// optionValue accepts an option's value or its label (any case): "Spanish"
// or "es".
func optionValue(opts []Option, s string) string {
	s = strings.TrimSpace(s)
	for _, o := range opts {
		label, _, _ := strings.Cut(o.Label, " (")
		if strings.EqualFold(s, o.Value) || strings.EqualFold(s, label) || strings.EqualFold(s, o.Label) {
			return o.Value
		}
	}
	return strings.ToLower(s)
}

// ParseIntake reads a file and checks every row with the forms' rules
// (CaseInput and MemberInput.normalize), and the rows against each other:
// one case number has one program and due date, and a member is in the file
// once. A file-level problem is an IntakeFileError.
func ParseIntake(data []byte, defaultProgram string, now time.Time) ([]*IntakeRow, error) {
	if len(data) > IntakeMaxBytes {
		return nil, IntakeFileError(fmt.Sprintf("The file is larger than %d MB. Split it into smaller files.", IntakeMaxBytes>>20))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Excel's "CSV UTF-8" starts with a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, IntakeFileError("The file is empty.")
	}
	if !utf8.Valid(data) {
		return nil, IntakeFileError("The file is not UTF-8 text. In the spreadsheet, save it as \"CSV UTF-8\" and upload it again.")
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // a short row is that row's problem, not the file's
	header, err := r.Read()
	if err != nil {
		return nil, IntakeFileError("The first line is not CSV: " + csvWhy(err))
	}
	cols, err := intakeHeader(header)
	if err != nil {
		return nil, wrap("ParseIntake", err)
	}
	var rows []*IntakeRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, IntakeFileError(csvWhy(err))
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue
		}
		if len(rows) == IntakeMaxRows {
			return nil, IntakeFileError(fmt.Sprintf("The file has more than %d rows. Split it into smaller files.", IntakeMaxRows))
		}
		row := &IntakeRow{Line: line, Problems: ValidationError{}}
		if len(rec) != len(header) {
			row.Problems["case_number"] = fmt.Sprintf("This row has %d values; the first row names %d columns.", len(rec), len(header))
			rows = append(rows, row)
			continue
		}
		v := func(name string) string {
			if i, ok := cols[name]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		row.Case = CaseInput{Number: v("case_number"), Program: optionValue(Programs, v("program")), RecertDue: isoDate(v("recert_due"))}
		if row.Case.Program == "" {
			row.Case.Program = defaultProgram
		}
		row.Member = MemberInput{FirstName: v("first_name"), LastName: v("last_name"), Relationship: optionValue(Relationships, v("relationship")),
			Email: v("email"), Phone: v("phone"), DateOfBirth: isoDate(v("date_of_birth")), Language: optionValue(Languages, v("language"))}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, IntakeFileError("The file has a header but no rows.")
	}
	checkIntakeRows(rows, now)
	return rows, nil
}

func csvWhy(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d is not valid CSV (%v). Check its quotes.", pe.StartLine, pe.Err)
	}
	return "it could not be read."
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// intakeHeader maps the column names of the first row to their positions:
// every name must be one the intake reads, once, and the required ones
// must be there.
func intakeHeader(header []string) (map[string]int, error) {
	known := func(n string) bool {
		return slices.ContainsFunc(IntakeColumns, func(c IntakeColumn) bool { return c.Name == n })
	}
	var names []string
	for _, c := range IntakeColumns {
		names = append(names, c.Name)
	}
	cols := map[string]int{}
	for i, h := range header {
		n := strings.ToLower(strings.TrimSpace(h))
		n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
		if a, ok := intakeAliases[n]; ok {
			n = a
		}
		switch {
		case n == "":
			return nil, IntakeFileError(fmt.Sprintf("Column %d of the first row has no name. The first row must name the columns: %s.", i+1, strings.Join(names, ", ")))
		case !known(n):
			return nil, IntakeFileError(fmt.Sprintf("The column %q is not one the portal reads. The columns are: %s.", truncate(h, 40), strings.Join(names, ", ")))
		}
		if _, dup := cols[n]; dup {
			return nil, IntakeFileError(fmt.Sprintf("The column %s is named twice in the first row.", n))
		}
		cols[n] = i
	}
	for _, c := range IntakeColumns {
		if _, ok := cols[c.Name]; c.Required && !ok {
			return nil, IntakeFileError(fmt.Sprintf("The first row has no %s column. The first row must name the columns: %s.", c.Name, strings.Join(names, ", ")))
		}
	}
	return cols, nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// checkIntakeRows applies the forms' rules to each row, then the rules
// between rows. A blank relationship is "self" on a case's first row and
// "other" after it.
func checkIntakeRows(rows []*IntakeRow, now time.Time) {
	firstOfCase := map[string]*IntakeRow{}
	seen := map[string]int{}
	for _, row := range rows {
		if len(row.Problems) > 0 {
			continue // the row's shape is wrong: its values mean nothing
		}
		key := strings.ToLower(strings.TrimSpace(row.Case.Number))
		first, known := firstOfCase[key]
		if row.Member.Relationship == "" {
			row.Member.Relationship = "other"
			if !known {
				row.Member.Relationship = "self"
			}
		}
		for k, v := range row.Case.normalize() {
			row.Problems[k] = v
		}
		for k, v := range row.Member.normalize(now) {
			row.Problems[k] = v
		}
		if row.Problems["case_number"] != "" {
			continue
		}
		if !known {
			firstOfCase[key] = row
		} else {
			if row.Case.Program != first.Case.Program && row.Problems["program"] == "" {
				row.Problems["program"] = fmt.Sprintf("Case %s has another program on line %d.", first.Case.Number, first.Line)
			}
			if row.Case.RecertDue != first.Case.RecertDue && row.Problems["recert_due"] == "" {
				row.Problems["recert_due"] = fmt.Sprintf("Case %s has another recertification date on line %d.", first.Case.Number, first.Line)
			}
		}
		if row.Problems["first_name"] == "" && row.Problems["last_name"] == "" && row.Problems["date_of_birth"] == "" {
			mk := intakeMemberKey(key, row.Member)
			if l, dup := seen[mk]; dup {
				row.Problems["first_name"] = fmt.Sprintf("The same member (name and date of birth) is on line %d.", l)
			} else {
				seen[mk] = row.Line
			}
		}
	}
}

// intakeMemberKey identifies a member within a case for idempotency: the
// name as stored for search and the date of birth.
func intakeMemberKey(caseKey string, m MemberInput) string {
	return caseKey + "\x00" + strings.ToLower(m.FirstName+" "+m.LastName) + "\x00" + m.DateOfBirth
}

// RowProblems lists the rows' problems in line order, columns in the
// file's documented order.
func RowProblems(rows []*IntakeRow) []IntakeProblem {
	var out []IntakeProblem
	for _, row := range rows {
		for _, c := range append(IntakeColumns, IntakeColumn{Name: "assigned_user_id"}, IntakeColumn{Name: "ssn_last4"}) {
			if msg, ok := row.Problems[c.Name]; ok {
				out = append(out, IntakeProblem{Line: row.Line, Column: c.Name, Message: msg})
			}
		}
	}
	return out
}

// Intake is an uploaded file held for its preview and import, and the
// result of its last import.
type Intake struct {
	ID           string
	AgencyID     int64
	UserID       int64
	Rows         int
	Status       string // held, importing, imported, failed
	Mode         string // all, valid
	CreatedCases int
	AddedMembers int
	Unchanged    int
	Skipped      int
	Error        string
	CreatedAt    time.Time
	StartedAt    time.Time
	FinishedAt   time.Time
	data         []byte
}

// Expired says the file's contents were wiped (the hold ended).
func (in *Intake) Expired() bool { return len(in.data) == 0 }

func newIntakeID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func intakeAAD(id string) string { return "csv_imports.data:" + id }

// HoldIntake checks a file (ParseIntake: a file-level problem refuses it
// and keeps nothing) and holds it, sealed, for agency and user, for a day
// (PurgeIntakes).
func (s *Store) HoldIntake(ctx context.Context, agencyID, userID int64, data []byte) (*Intake, error) {
	set, err := s.Settings(ctx, agencyID)
	if err != nil {
		return nil, wrap("HoldIntake", err)
	}
	rows, err := ParseIntake(data, set.DefaultProgram, s.Now())
	if err != nil {
		return nil, wrap("HoldIntake", err)
	}
	now := s.Now()
	in := &Intake{ID: newIntakeID(), AgencyID: agencyID, UserID: userID, Rows: len(rows), Status: "held", CreatedAt: now, data: data}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO csv_imports (id, agency_id, user_id, data_enc, row_count, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			in.ID, agencyID, userID, s.crypt.Seal(string(data), intakeAAD(in.ID)), len(rows), fmtTime(now))
		return wrap("HoldIntake", err)
	})
	if err != nil {
		return nil, wrap("HoldIntake", err)
	}
	return in, nil
}

// PurgeIntakes wipes the contents of uploaded files held longer than a day
// (they hold personal data); the import's summary and batch stay. The
// retention sweep runs it hourly.
func (s *Store) PurgeIntakes(ctx context.Context) (int64, error) {
	res, err := s.execWrite(ctx, `UPDATE csv_imports SET data_enc = ? WHERE created_at < ? AND length(data_enc) > 0
		AND status != 'importing'`, []byte{}, fmtTime(s.Now().Add(-intakeHold)))
	if err != nil {
		return 0, wrap("PurgeIntakes", err)
	}
	return res.RowsAffected()
}

// Intake returns a held file of the agency's user, or ErrNotFound (also for
// another user's or agency's).
func (s *Store) Intake(ctx context.Context, agencyID, userID int64, id string) (*Intake, error) {
	var in Intake
	var enc []byte
	var created string
	var started, finished sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT id, agency_id, user_id, data_enc, row_count, status, mode, created_cases, added_members,
		unchanged, skipped, error, created_at, started_at, finished_at FROM csv_imports WHERE agency_id = ? AND user_id = ? AND id = ?`,
		agencyID, userID, id).Scan(&in.ID, &in.AgencyID, &in.UserID, &enc, &in.Rows, &in.Status, &in.Mode, &in.CreatedCases,
		&in.AddedMembers, &in.Unchanged, &in.Skipped, &in.Error, &created, &started, &finished)
	if err != nil {
		return nil, wrap("Intake", formatError(err))
	}
	in.CreatedAt, in.StartedAt, in.FinishedAt = parseTime(created), parseNullTime(started), parseNullTime(finished)
	if len(enc) > 0 {
		plain, err := s.crypt.Open(enc, intakeAAD(in.ID))
		if err != nil {
			return nil, wrap("Intake", err)
		}
		in.data = []byte(plain)
	}
	return &in, nil
}

// IntakePreview is what an import of a held file would do now: its rows'
// problems, and among the valid rows the cases and members it would add
// and those already in the portal.
type IntakePreview struct {
	Rows        []*IntakeRow
	Problems    []IntakeProblem
	ProblemRows int
	NewCases    int
	NewMembers  int
	Unchanged   int
}

// Valid counts the rows without a problem.
func (p *IntakePreview) Valid() int { return len(p.Rows) - p.ProblemRows }

// PreviewIntake checks a held file's rows and matches the valid ones with
// the agency's cases and members. It writes nothing.
func (s *Store) PreviewIntake(ctx context.Context, in *Intake) (*IntakePreview, error) {
	if in.Expired() {
		return nil, ErrNotFound
	}
	set, err := s.Settings(ctx, in.AgencyID)
	if err != nil {
		return nil, wrap("PreviewIntake", err)
	}
	rows, err := ParseIntake(in.data, set.DefaultProgram, s.Now())
	if err != nil {
		return nil, wrap("PreviewIntake", err)
	}
	p := &IntakePreview{Rows: rows, Problems: RowProblems(rows)}
	valid := validRows(rows)
	p.ProblemRows = len(rows) - len(valid)
	st, err := s.matchIntake(ctx, s.read, in.AgencyID, valid)
	if err != nil {
		return nil, wrap("PreviewIntake", err)
	}
	newCases := map[string]bool{}
	for _, row := range valid {
		ck := strings.ToLower(row.Case.Number)
		if _, ok := st.cases[ck]; !ok {
			newCases[ck] = true
		}
		if _, ok := st.members[intakeMemberKey(ck, row.Member)]; ok {
			p.Unchanged++
		} else {
			p.NewMembers++
		}
	}
	p.NewCases = len(newCases)
	return p, nil
}

func validRows(rows []*IntakeRow) []*IntakeRow {
	var out []*IntakeRow
	for _, r := range rows {
		if len(r.Problems) == 0 {
			out = append(out, r)
		}
	}
	return out
}

// intakeState is what an import knows of the agency's cases and members:
// by lower-cased case number, by member key, and each case's last
// position.
type intakeState struct {
	cases   map[string]int64
	members map[string]int64
	lastPos map[int64]int
	touched map[int64]bool
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// matchIntake finds the rows' cases (by number, ignoring case as staff
// type it; the exact spelling wins) and their members (name and date of
// birth).
func (s *Store) matchIntake(ctx context.Context, q querier, agencyID int64, rows []*IntakeRow) (*intakeState, error) {
	st := &intakeState{cases: map[string]int64{}, members: map[string]int64{}, lastPos: map[int64]int{}, touched: map[int64]bool{}}
	var numbers []string
	for _, r := range rows {
		numbers = append(numbers, r.Case.Number)
	}
	js, err := json.Marshal(numbers)
	if err != nil {
		return nil, wrap("matchIntake", err)
	}
	cr, err := q.QueryContext(ctx, `SELECT id, case_number FROM cases WHERE agency_id = ?
		AND lower(case_number) IN (SELECT lower(value) FROM (`+s.d.jsonTexts()+`) t) ORDER BY id`, agencyID, string(js))
	if err != nil {
		return nil, wrap("matchIntake", err)
	}
	exact := map[string]bool{}
	var ids []int64
	for cr.Next() {
		var id int64
		var num string
		if err := cr.Scan(&id, &num); err != nil {
			cr.Close()
			return nil, wrap("matchIntake", err)
		}
		k := strings.ToLower(num)
		isExact := slices.Contains(numbers, num)
		if _, have := st.cases[k]; !have || (isExact && !exact[k]) {
			st.cases[k], exact[k] = id, isExact
		}
		ids = append(ids, id)
	}
	cr.Close()
	if err := cr.Err(); err != nil {
		return nil, wrap("matchIntake", err)
	}
	caseKey := map[int64]string{}
	for k, id := range st.cases {
		caseKey[id] = k
	}
	jsIDs, err := json.Marshal(ids)
	if err != nil {
		return nil, wrap("matchIntake", err)
	}
	mr, err := q.QueryContext(ctx, `SELECT id, case_id, position, name_search, dob_enc FROM members WHERE agency_id = ?
		AND case_id IN (`+s.d.jsonInts()+`)`, agencyID, string(jsIDs))
	if err != nil {
		return nil, wrap("matchIntake", err)
	}
	defer mr.Close()
	for mr.Next() {
		var id, caseID int64
		var pos int
		var name string
		var dob []byte
		if err := mr.Scan(&id, &caseID, &pos, &name, &dob); err != nil {
			return nil, wrap("matchIntake", err)
		}
		st.lastPos[caseID] = max(st.lastPos[caseID], pos)
		k, ok := caseKey[caseID]
		if !ok {
			continue // a case matched only by another spelling
		}
		d, err := s.crypt.Open(dob, aad("members", "dob", id))
		if err != nil {
			return nil, wrap("matchIntake", err)
		}
		st.members[k+"\x00"+name+"\x00"+d] = id
	}
	return st, mr.Err()
}

// IntakeCounts is what an import did.
type IntakeCounts struct {
	CreatedCases, AddedMembers, Unchanged, Skipped int
}

// ErrIntakeBusy says the file is being imported already.
var ErrIntakeBusy = errors.New("store: the file is being imported")

// ImportIntake imports a held file: mode "all" writes every row in one
// transaction and refuses (a ValidationError on "mode", nothing written)
// when any row has a problem; mode "valid" writes the valid rows, a batch
// per transaction, and skips the others. Cases and members already there
// are left unchanged, so importing the same file again changes nothing.
// progress is called with the rows handled so far. Every member the file
// names is remembered as the file's batch (IntakeMemberIDs).
func (s *Store) ImportIntake(ctx context.Context, agencyID, userID int64, id, mode string, progress func(done, total int)) (*IntakeCounts, error) {
	if mode != "all" && mode != "valid" {
		return nil, ValidationError{"mode": "Choose how to import."}
	}
	in, err := s.Intake(ctx, agencyID, userID, id)
	if err != nil {
		return nil, wrap("ImportIntake", err)
	}
	p, err := s.PreviewIntake(ctx, in)
	if err != nil {
		return nil, wrap("ImportIntake", err)
	}
	if mode == "all" && p.ProblemRows > 0 {
		return nil, ValidationError{"mode": fmt.Sprintf("%d rows have problems, so the file cannot be imported in one piece. Correct the file and upload it again, or import the valid rows only.", p.ProblemRows)}
	}
	now := s.Now()
	res, err := s.execWrite(ctx, `UPDATE csv_imports SET status = 'importing', mode = ?, started_at = ?, finished_at = NULL, error = ''
		WHERE agency_id = ? AND user_id = ? AND id = ? AND (status != 'importing' OR started_at < ?)`,
		mode, fmtTime(now), agencyID, userID, id, fmtTime(now.Add(-intakeStale)))
	if err != nil {
		return nil, wrap("ImportIntake", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrIntakeBusy
	}
	valid := validRows(p.Rows)
	counts := &IntakeCounts{Skipped: p.ProblemRows}
	total := len(p.Rows)
	done := p.ProblemRows
	report := func() {
		if progress != nil {
			progress(done, total)
		}
	}
	report()
	if mode == "all" {
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			done = p.ProblemRows // a transaction run again (PostgreSQL) starts over
			st, err := s.matchIntake(ctx, tx, agencyID, valid)
			if err != nil {
				return wrap("ImportIntake", err)
			}
			c := &IntakeCounts{}
			for b := 0; b < len(valid); b += intakeBatch {
				batch := valid[b:min(b+intakeBatch, len(valid))]
				if err := s.importRows(ctx, tx, agencyID, userID, id, batch, st, c); err != nil {
					return wrap("ImportIntake", err)
				}
				done += len(batch)
				report()
			}
			counts.CreatedCases, counts.AddedMembers, counts.Unchanged = c.CreatedCases, c.AddedMembers, c.Unchanged
			return touchCases(ctx, tx, agencyID, st, s.Now())
		})
	} else {
		for b := 0; b < len(valid) && err == nil; b += intakeBatch {
			batch := valid[b:min(b+intakeBatch, len(valid))]
			err = s.inTx(ctx, func(tx *sql.Tx) error {
				// Matched in the batch's own transaction: another import
				// committed meanwhile is seen, and nothing is added twice.
				st, err := s.matchIntake(ctx, tx, agencyID, batch)
				if err != nil {
					return wrap("ImportIntake", err)
				}
				if err := s.importRows(ctx, tx, agencyID, userID, id, batch, st, counts); err != nil {
					return wrap("ImportIntake", err)
				}
				return touchCases(ctx, tx, agencyID, st, s.Now())
			})
			if err == nil {
				done += len(batch)
				report()
			}
		}
	}
	fin := context.WithoutCancel(ctx)
	if err != nil {
		err = wrap("ImportIntake", err)
		if _, uerr := s.execWrite(fin, `UPDATE csv_imports SET status = 'failed', error = ?, created_cases = ?, added_members = ?,
			unchanged = ?, skipped = ?, finished_at = ? WHERE id = ?`, "The import stopped before the end; rows already written stay (import the file again to finish: nothing is added twice).",
			counts.CreatedCases, counts.AddedMembers, counts.Unchanged, counts.Skipped, fmtTime(s.Now()), id); uerr != nil {
			return nil, errors.Join(err, uerr)
		}
		return nil, wrap("ImportIntake", err)
	}
	_, err = s.execWrite(fin, `UPDATE csv_imports SET status = 'imported', created_cases = ?, added_members = ?, unchanged = ?,
		skipped = ?, finished_at = ? WHERE id = ?`, counts.CreatedCases, counts.AddedMembers, counts.Unchanged, counts.Skipped, fmtTime(s.Now()), id)
	return counts, wrap("ImportIntake", err)
}

// importRows writes valid rows: a case not there yet is created, a member
// not there yet is added after the case's last member; what is there is
// left unchanged. Every member is linked to the file's batch.
func (s *Store) importRows(ctx context.Context, tx *sql.Tx, agencyID, userID int64, importID string, rows []*IntakeRow, st *intakeState, c *IntakeCounts) error {
	now := s.Now()
	link, err := tx.PrepareContext(ctx, `INSERT INTO csv_import_members (import_id, member_id) VALUES (?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return wrap("importRows", err)
	}
	defer link.Close()
	for _, row := range rows {
		ck := strings.ToLower(row.Case.Number)
		caseID, ok := st.cases[ck]
		if !ok {
			if caseID, err = insertCase(ctx, tx, agencyID, userID, row.Case, now); err != nil {
				return wrap("importRows", err)
			}
			st.cases[ck] = caseID
			c.CreatedCases++
		}
		mk := intakeMemberKey(ck, row.Member)
		memberID, ok := st.members[mk]
		if ok {
			c.Unchanged++
		} else {
			pos := st.lastPos[caseID] + 1
			if memberID, err = s.insertMember(ctx, tx, agencyID, caseID, pos, row.Member, now); err != nil {
				return wrap("importRows", err)
			}
			st.lastPos[caseID], st.members[mk], st.touched[caseID] = pos, memberID, true
			c.AddedMembers++
		}
		if _, err := link.ExecContext(ctx, importID, memberID); err != nil {
			return wrap("importRows", err)
		}
	}
	return nil
}

// touchCases marks the cases that got members as updated.
func touchCases(ctx context.Context, tx *sql.Tx, agencyID int64, st *intakeState, now time.Time) error {
	for id := range st.touched {
		if err := touchCase(ctx, tx, agencyID, id, now); err != nil {
			return wrap("touchCases", err)
		}
	}
	clear(st.touched)
	return nil
}

// IntakeMemberIDs lists the members a file named (its batch), in the file's
// order of import.
func (s *Store) IntakeMemberIDs(ctx context.Context, agencyID, userID int64, id string) ([]int64, error) {
	out, err := scanIDs(s.read.QueryContext(ctx, `SELECT l.member_id FROM csv_import_members l JOIN csv_imports i ON i.id = l.import_id
		JOIN members m ON m.id = l.member_id
		WHERE i.agency_id = ? AND i.user_id = ? AND i.id = ? AND m.agency_id = ? ORDER BY l.`+s.d.rowid(), agencyID, userID, id, agencyID))
	return out, wrap("IntakeMemberIDs", err)
}
