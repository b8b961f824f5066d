package store

import (
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Errors returned by the store. Handlers map them to pages: ErrNotFound to
// 404 (the same page for another agency's ids), ErrConflict to a form message.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: conflict")
)

// BusyError says the database stayed busy past the store's bound
// (Options.Wait): nothing of this write was committed; the same request
// may be tried again, after about Wait.
type BusyError struct {
	Wait time.Duration
	Err  error
}

func (e *BusyError) Error() string {
	return "store: database busy past " + e.Wait.String() + ": " + strings.TrimPrefix(e.Err.Error(), "store: ")
}

func (e *BusyError) Unwrap() error { return e.Err }

// ValidationError says which fields of an input are wrong, in words a
// caseworker understands. The key is the form field name.
type ValidationError map[string]string

// Error implements error.
func (v ValidationError) Error() string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	return "store: invalid " + strings.Join(keys, ", ")
}

// formatError maps driver errors onto the store's sentinels.
func formatError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrConstraint &&
		(se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey) {
		return ErrConflict
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return ErrConflict
	}
	return err
}

// opError says which store operation failed. It wraps the cause, so
// errors.Is(err, ErrNotFound), errors.As(err, &ValidationError{}) and the
// driver's errors still match through it.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	// One "store:" prefix however deep: "store: SaveReport: scanCase: not found".
	return "store: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "store: ")
}

func (e *opError) Unwrap() error { return e.err }

// wrap names the operation an error came from; nil stays nil, and an error
// already named by the same operation (returned by a closure inside it) is
// not named twice.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if oe, ok := err.(*opError); ok && oe.op == op {
		return err
	}
	return &opError{op: op, err: err}
}
