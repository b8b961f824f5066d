-- +goose Up
-- Household orders (Payscore screening groups): one order, several members,
-- each with their own link and sub-item (screening).

CREATE TABLE order_members (
    order_id        INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    member_id       INTEGER NOT NULL REFERENCES members(id),
    sub_id          TEXT NOT NULL DEFAULT '',
    link_enc        BLOB,
    short_link_enc  BLOB,
    PRIMARY KEY (order_id, member_id)
);
CREATE INDEX order_members_member ON order_members(member_id);

-- Which member a delivery went to (household orders send one link each).
ALTER TABLE deliveries ADD COLUMN member_id INTEGER REFERENCES members(id);

-- +goose Down
ALTER TABLE deliveries DROP COLUMN member_id;
DROP TABLE order_members;
