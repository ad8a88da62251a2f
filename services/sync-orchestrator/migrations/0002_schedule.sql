-- When each integration last ran, so that any replica's scheduler knows what is due.
CREATE TABLE schedule (
    integration_id text PRIMARY KEY,
    last_run_at    timestamptz NOT NULL,
    last_run_id    text        NOT NULL DEFAULT '',
    last_status    smallint    NOT NULL DEFAULT 0,
    lease_epoch    bigint      NOT NULL
);
