package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Member is one person in a case's household. Email, phone, date of birth and
// SSN last 4 are stored encrypted and returned decrypted: the views mask them
// until a caseworker reveals them, and each reveal is audited.
type Member struct {
	ID           int64
	AgencyID     int64
	CaseID       int64
	Position     int // 1 is the primary applicant
	FirstName    string
	LastName     string
	Relationship string
	Email        string
	Phone        string // E.164
	DateOfBirth  string // YYYY-MM-DD
	SSNLast4     string
	Language     string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// FullName is "First Last".
func (m *Member) FullName() string { return m.FirstName + " " + m.LastName }

// IsPrimary reports whether m is the case's primary applicant.
func (m *Member) IsPrimary() bool { return m.Position == 1 }

// MemberInput is what a caseworker types for a member.
type MemberInput struct {
	FirstName    string
	LastName     string
	Relationship string
	Email        string
	Phone        string
	DateOfBirth  string
	SSNLast4     string
	Language     string
}

// errPhoneForm is shown to the caseworker as is.
//
//lint:ignore ST1005 a sentence for people, not an error to wrap
var errPhoneForm = errors.New("Enter a phone number like (555) 201-0123 or +1 555 201 0123.")

// NormalizePhone returns a phone number in E.164. Ten US digits get +1.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var digits strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '+':
		default:
			return "", errPhoneForm
		}
	}
	d := digits.String()
	switch {
	case plus && len(d) >= 8 && len(d) <= 15 && d[0] != '0':
		return "+" + d, nil
	case !plus && len(d) == 10 && d[0] >= '2':
		return "+1" + d, nil
	case !plus && len(d) == 11 && d[0] == '1' && d[1] >= '2':
		return "+" + d, nil
	}
	return "", errPhoneForm
}

func cleanName(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func (in *MemberInput) normalize(now time.Time) ValidationError {
	p := ValidationError{}
	in.FirstName, in.LastName = cleanName(in.FirstName), cleanName(in.LastName)
	if in.FirstName == "" {
		p["first_name"] = "Enter the first name."
	} else if utf8.RuneCountInString(in.FirstName) > 100 {
		p["first_name"] = "Use at most 100 characters."
	}
	if in.LastName == "" {
		p["last_name"] = "Enter the last name."
	} else if utf8.RuneCountInString(in.LastName) > 100 {
		p["last_name"] = "Use at most 100 characters."
	}
	if !isOption(Relationships, in.Relationship) {
		p["relationship"] = "Choose the relationship to the applicant."
	}
	if in.Email = strings.TrimSpace(in.Email); in.Email != "" {
		e, err := NormalizeEmail(in.Email)
		if err != nil {
			p["email"] = err.Error()
		} else {
			in.Email = e
		}
	}
	if in.Phone = strings.TrimSpace(in.Phone); in.Phone != "" {
		ph, err := NormalizePhone(in.Phone)
		if err != nil {
			p["phone"] = err.Error()
		} else {
			in.Phone = ph
		}
	}
	if in.DateOfBirth = strings.TrimSpace(in.DateOfBirth); in.DateOfBirth != "" {
		d, err := time.Parse("2006-01-02", in.DateOfBirth)
		switch {
		case err != nil:
			p["date_of_birth"] = "Enter the date of birth as YYYY-MM-DD, for example 1988-04-17."
		case d.After(now):
			p["date_of_birth"] = "The date of birth cannot be in the future."
		case d.Year() < 1900:
			p["date_of_birth"] = "Enter a date of birth after 1900."
		}
	}
	if in.SSNLast4 = strings.TrimSpace(in.SSNLast4); in.SSNLast4 != "" {
		if len(in.SSNLast4) != 4 || strings.Trim(in.SSNLast4, "0123456789") != "" {
			p["ssn_last4"] = "Enter exactly 4 digits: the last 4 of the Social Security number."
		}
	}
	if in.Language == "" {
		in.Language = "en"
	}
	if !isOption(Languages, in.Language) {
		p["language"] = "Choose a language."
	}
	return p
}

// CheckMember validates a member's details without storing anything (for
// screens that must check before they create the case).
func (s *Store) CheckMember(in MemberInput) ValidationError {
	return in.normalize(s.Now())
}

// AddMember adds a member to a case; the first member becomes the primary
// applicant. It returns a ValidationError for bad input.
func (s *Store) AddMember(ctx context.Context, agencyID, caseID int64, in MemberInput) (*Member, error) {
	now := s.Now()
	if p := in.normalize(now); len(p) > 0 {
		return nil, p
	}
	m := &Member{AgencyID: agencyID, CaseID: caseID, CreatedAt: now, UpdatedAt: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var pos int
		err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(m.position), 0) + 1 FROM cases c LEFT JOIN members m ON m.case_id = c.id
			WHERE c.agency_id = ? AND c.id = ? GROUP BY c.id`, agencyID, caseID).Scan(&pos)
		if err != nil {
			return wrap("AddMember", formatError(err))
		}
		if m.ID, err = s.insertMember(ctx, tx, agencyID, caseID, pos, in, now); err != nil {
			return wrap("AddMember", err)
		}
		m.Position = pos
		return touchCase(ctx, tx, agencyID, caseID, now)
	})
	if err != nil {
		return nil, wrap("AddMember", err)
	}
	fillMember(m, in)
	return m, nil
}

// UpdateMember replaces a member's details.
func (s *Store) UpdateMember(ctx context.Context, agencyID, caseID, memberID int64, in MemberInput) error {
	now := s.Now()
	if p := in.normalize(now); len(p) > 0 {
		return p
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM members WHERE agency_id = ? AND case_id = ? AND id = ?`,
			agencyID, caseID, memberID).Scan(&one); err != nil {
			return wrap("UpdateMember", formatError(err))
		}
		if err := s.writeMember(ctx, tx, memberID, in, now); err != nil {
			return wrap("UpdateMember", err)
		}
		return touchCase(ctx, tx, agencyID, caseID, now)
	})
}

// insertMember inserts a normalized member at a position (AddMember, the
// CSV intake): the row first, then its details, whose ciphertexts are bound
// to the row id.
func (s *Store) insertMember(ctx context.Context, tx *sql.Tx, agencyID, caseID int64, pos int, in MemberInput, now time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO members (agency_id, case_id, position, first_name, last_name, name_search,
		relationship, language, created_at, updated_at) VALUES (?, ?, ?, '', '', '', '', 'en', ?, ?) RETURNING id`,
		agencyID, caseID, pos, fmtTime(now), fmtTime(now)).Scan(&id)
	if err != nil {
		return 0, wrap("insertMember", err)
	}
	return id, s.writeMember(ctx, tx, id, in, now)
}

// writeMember stores a normalized input on an existing row. Ciphertexts are
// bound to the row id, which is why AddMember inserts first.
func (s *Store) writeMember(ctx context.Context, tx *sql.Tx, id int64, in MemberInput, now time.Time) error {
	c := s.crypt
	_, err := tx.ExecContext(ctx, `UPDATE members SET first_name = ?, last_name = ?, name_search = ?, relationship = ?,
		email_enc = ?, email_idx = ?, phone_enc = ?, phone_idx = ?, dob_enc = ?, ssn4_enc = ?, language = ?, updated_at = ?
		WHERE id = ?`,
		in.FirstName, in.LastName, strings.ToLower(in.FirstName+" "+in.LastName), in.Relationship,
		c.Seal(in.Email, aad("members", "email", id)), nullString(c.Index("email", in.Email)),
		c.Seal(in.Phone, aad("members", "phone", id)), nullString(c.Index("phone", in.Phone)),
		c.Seal(in.DateOfBirth, aad("members", "dob", id)), c.Seal(in.SSNLast4, aad("members", "ssn4", id)),
		in.Language, fmtTime(now), id)
	if err != nil {
		return wrap("writeMember", err)
	}
	return wrap("writeMember", writeNameWords(ctx, tx, id, in.FirstName+" "+in.LastName))
}

// writeNameWords replaces a member's entries in member_words, the index the
// case search looks names up in (a prefix of any word of the name).
func writeNameWords(ctx context.Context, tx *sql.Tx, memberID int64, name string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM member_words WHERE member_id = ?`, memberID); err != nil {
		return wrap("writeNameWords", err)
	}
	for _, w := range nameWords(name) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO member_words (agency_id, word, member_id, case_id)
			SELECT agency_id, ?, id, case_id FROM members WHERE id = ? ON CONFLICT DO NOTHING`, w, memberID); err != nil {
			return wrap("writeNameWords", err)
		}
	}
	return nil
}

// nameWords splits a name (or a name search) into lowercased words, on
// spaces and hyphens; migration 00018 splits stored names the same way.
func nameWords(name string) []string {
	return strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == '-' || unicode.IsSpace(r) })
}

func fillMember(m *Member, in MemberInput) {
	m.FirstName, m.LastName, m.Relationship = in.FirstName, in.LastName, in.Relationship
	m.Email, m.Phone, m.DateOfBirth, m.SSNLast4, m.Language = in.Email, in.Phone, in.DateOfBirth, in.SSNLast4, in.Language
}

// RemoveMember deletes a member from a case. Positions close up, so the next
// member becomes primary if the primary is removed. A member with
// verifications on record is kept (ErrConflict): the history must stay.
func (s *Store) RemoveMember(ctx context.Context, agencyID, caseID, memberID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var pos int
		if err := tx.QueryRowContext(ctx, `SELECT position FROM members WHERE agency_id = ? AND case_id = ? AND id = ?`,
			agencyID, caseID, memberID).Scan(&pos); err != nil {
			return wrap("RemoveMember", formatError(err))
		}
		if n, err := countOrders(ctx, tx, agencyID, memberID); err != nil {
			return wrap("RemoveMember", err)
		} else if n > 0 {
			return ErrConflict
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM members WHERE id = ?`, memberID); err != nil {
			return wrap("RemoveMember", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE members SET position = position - 1 WHERE case_id = ? AND position > ?`, caseID, pos); err != nil {
			return wrap("RemoveMember", err)
		}
		return touchCase(ctx, tx, agencyID, caseID, s.Now())
	})
}

const memberColumns = `id, agency_id, case_id, position, first_name, last_name, relationship, email_enc, phone_enc, dob_enc,
	ssn4_enc, language, created_at, updated_at`

func (s *Store) scanMember(row interface{ Scan(...any) error }) (*Member, error) {
	var m Member
	var email, phone, dob, ssn4 []byte
	var created, updated string
	if err := row.Scan(&m.ID, &m.AgencyID, &m.CaseID, &m.Position, &m.FirstName, &m.LastName, &m.Relationship,
		&email, &phone, &dob, &ssn4, &m.Language, &created, &updated); err != nil {
		return nil, wrap("scanMember", formatError(err))
	}
	var errs [4]error
	m.Email, errs[0] = s.crypt.Open(email, aad("members", "email", m.ID))
	m.Phone, errs[1] = s.crypt.Open(phone, aad("members", "phone", m.ID))
	m.DateOfBirth, errs[2] = s.crypt.Open(dob, aad("members", "dob", m.ID))
	m.SSNLast4, errs[3] = s.crypt.Open(ssn4, aad("members", "ssn4", m.ID))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, wrap("scanMember", err)
	}
	m.CreatedAt, m.UpdatedAt = parseTime(created), parseTime(updated)
	return &m, nil
}

// Members lists a case's household, primary applicant first.
func (s *Store) Members(ctx context.Context, agencyID, caseID int64) ([]*Member, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE agency_id = ? AND case_id = ?
		ORDER BY position`, agencyID, caseID)
	if err != nil {
		return nil, wrap("Members", err)
	}
	defer rows.Close()
	var out []*Member
	for rows.Next() {
		m, err := s.scanMember(rows)
		if err != nil {
			return nil, wrap("Members", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Member returns one member of one of the agency's cases.
func (s *Store) Member(ctx context.Context, agencyID, caseID, memberID int64) (*Member, error) {
	return s.scanMember(s.read.QueryRowContext(ctx, `SELECT `+memberColumns+` FROM members
		WHERE agency_id = ? AND case_id = ? AND id = ?`, agencyID, caseID, memberID))
}

func countOrders(ctx context.Context, tx *sql.Tx, agencyID, memberID int64) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE agency_id = ? AND member_id = ?`, agencyID, memberID).Scan(&n)
	return n, wrap("countOrders", err)
}
