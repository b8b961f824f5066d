-- +goose Up
-- Case search at 100,000 members (issue 17): every part of the search is an
-- indexed lookup instead of one scan of the agency's members.
--
-- member_words holds each word of a member's lowercased name (split on
-- spaces and hyphens, as store.nameWords does); a name search is a prefix
-- range on (agency_id, word). The store keeps it in step in writeMember;
-- deleting a member deletes its words.
CREATE TABLE member_words (
    agency_id INTEGER NOT NULL,
    word      TEXT NOT NULL,
    member_id INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    case_id   INTEGER NOT NULL
);
-- case_id in the index: a name search reads the index alone.
CREATE UNIQUE INDEX member_words_word ON member_words(agency_id, word, member_id, case_id);
CREATE INDEX member_words_member ON member_words(member_id);

INSERT OR IGNORE INTO member_words (agency_id, word, member_id, case_id)
WITH RECURSIVE split(member_id, agency_id, case_id, word, rest) AS (
    SELECT id, agency_id, case_id, '', replace(name_search, '-', ' ') || ' ' FROM members
    UNION ALL
    SELECT member_id, agency_id, case_id, substr(rest, 1, instr(rest, ' ') - 1), substr(rest, instr(rest, ' ') + 1)
    FROM split WHERE rest != ''
)
SELECT agency_id, word, member_id, case_id FROM split WHERE word != '';

-- Case number prefix search, case-insensitive as before.
CREATE INDEX cases_agency_number_nocase ON cases(agency_id, case_number COLLATE NOCASE);

-- +goose Down
DROP INDEX cases_agency_number_nocase;
DROP TABLE member_words;
