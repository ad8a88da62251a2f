-- When the cycles of each integration last compared its links with monday: monday's polls
-- never return a deleted or archived item, so a slower sweep finds them.
ALTER TABLE schedule ADD COLUMN swept_at timestamptz;
