-- Salesforce change event subscriptions, one per org and object, shared by every integration
-- on that object. The replica streaming one holds its lease (a Redis lock renewed while it
-- streams); `epoch` is bumped on each acquisition and fences every position write, so a holder
-- that lost its lease cannot move the position. `replay_id` is the position after the last
-- batch whose changes were handed over to the coalescing buffer: a new holder resumes after it.
CREATE TABLE change_streams (
    org_id      text        NOT NULL,
    object      text        NOT NULL,
    replay_id   bytea,
    epoch       bigint      NOT NULL DEFAULT 0,
    holder      text        NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, object)
);
