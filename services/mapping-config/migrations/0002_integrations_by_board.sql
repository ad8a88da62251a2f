-- The board each integration syncs, copied out of the spec so that "which active integrations
-- sync this board" (every monday webhook asks it) is an index lookup. Rows written before this
-- migration keep '' until their next update (nothing was deployed before it).
ALTER TABLE integrations ADD COLUMN board_id text NOT NULL DEFAULT '';
CREATE INDEX integrations_active_by_board ON integrations (board_id) WHERE state = 1;
