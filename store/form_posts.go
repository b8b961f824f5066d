package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// Form tokens (issue 13 item 7): a state-changing form carries a one-time
// token, so a post sent twice (a double click, a browser retrying after a
// timeout) acts once. The first post of a token claims it; when it succeeds
// its result (where it led) is recorded; a second post of the token is sent
// there instead of acting again. Tokens are kept per user, as a hash.

// formPostKeep is how long a used token is remembered: far longer than any
// retry of a post, short enough that the table stays small.
const formPostKeep = 24 * time.Hour

func formPostHash(userID int64, token string) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(userID, 10) + ":" + token))
	return hex.EncodeToString(sum[:])
}

// ClaimFormPost records the first post of token by the user. first is true
// for that post; for a later one, result is where the first post led, or
// "" while it is still running (or failed without releasing the token).
func (s *Store) ClaimFormPost(ctx context.Context, userID int64, token string) (first bool, result string, err error) {
	hash := formPostHash(userID, token)
	now := s.Now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM form_posts WHERE created_at < ?`, fmtTime(now.Add(-formPostKeep))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO form_posts (token_hash, user_id, result, created_at) VALUES (?, ?, '', ?)
			ON CONFLICT (token_hash) DO NOTHING`, hash, userID, fmtTime(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			first = true
			return nil
		}
		err = tx.QueryRowContext(ctx, `SELECT result FROM form_posts WHERE token_hash = ? AND user_id = ?`, hash, userID).Scan(&result)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrConflict
		}
		return err
	})
	return first, result, wrap("ClaimFormPost", err)
}

// FinishFormPost records where the first post of token led.
func (s *Store) FinishFormPost(ctx context.Context, userID int64, token, result string) error {
	_, err := s.execWrite(ctx, `UPDATE form_posts SET result = ? WHERE token_hash = ? AND user_id = ?`,
		result, formPostHash(userID, token), userID)
	return wrap("FinishFormPost", err)
}

// ReleaseFormPost forgets token: its post did not act (a form problem, a
// refusal), so sending it again is a new try.
func (s *Store) ReleaseFormPost(ctx context.Context, userID int64, token string) error {
	_, err := s.execWrite(ctx, `DELETE FROM form_posts WHERE token_hash = ? AND user_id = ?`, formPostHash(userID, token), userID)
	return wrap("ReleaseFormPost", err)
}
