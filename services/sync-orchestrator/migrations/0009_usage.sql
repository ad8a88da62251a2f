-- The API usage each integration's last cycle saw (Salesforce's daily calls, monday's
-- complexity in the current minute), for `sync status`.
ALTER TABLE schedule
    ADD COLUMN salesforce_used  bigint NOT NULL DEFAULT 0,
    ADD COLUMN salesforce_limit bigint NOT NULL DEFAULT 0,
    ADD COLUMN monday_used      bigint NOT NULL DEFAULT 0,
    ADD COLUMN monday_limit     bigint NOT NULL DEFAULT 0,
    ADD COLUMN usage_at         timestamptz;
