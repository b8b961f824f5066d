-- +goose Up
-- The case roll-up now counts outcomes (store.RollUp): a case whose current
-- verifications have all ended but one was rejected or needs review is
-- "action required", not "completed". Recompute the cases stored before.
UPDATE cases SET status = 'action_required'
WHERE status = 'completed' AND EXISTS (
    SELECT 1 FROM orders o
    WHERE o.case_id = cases.id AND o.agency_id = cases.agency_id AND o.provider_order_id IS NOT NULL
      AND o.status = 'completed' AND o.outcome IN ('fail', 'review')
      AND o.id NOT IN (SELECT refresh_of FROM orders WHERE refresh_of IS NOT NULL AND case_id = cases.id));

-- +goose Down
-- Nothing to undo: the next change to such a case recomputes its status.
SELECT 1;
