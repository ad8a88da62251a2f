-- Runs and per-record events of run-history, in schema `history`.
CREATE TABLE runs (
    id                   uuid PRIMARY KEY,
    integration_id       text        NOT NULL,
    account              text        NOT NULL,
    owner                text        NOT NULL,
    trigger              smallint    NOT NULL,
    status               smallint    NOT NULL,
    started_at           timestamptz NOT NULL DEFAULT now(),
    finished_at          timestamptz,
    read_count           bigint      NOT NULL DEFAULT 0,
    created_count        bigint      NOT NULL DEFAULT 0,
    updated_count        bigint      NOT NULL DEFAULT 0,
    skipped_count        bigint      NOT NULL DEFAULT 0,
    failed_count         bigint      NOT NULL DEFAULT 0,
    conflict_count       bigint      NOT NULL DEFAULT 0,
    salesforce_api_calls bigint      NOT NULL DEFAULT 0,
    monday_api_calls     bigint      NOT NULL DEFAULT 0,
    error                text        NOT NULL DEFAULT ''
);
-- ListRuns by integration, newest first, keyset on (started_at, id).
CREATE INDEX runs_by_integration ON runs (integration_id, started_at DESC, id DESC);
-- Retention purge scans by age.
CREATE INDEX runs_by_started_at ON runs (started_at);

-- No foreign key to runs: the purge deletes events in small batches first, then runs.
CREATE TABLE events (
    run_id           uuid        NOT NULL,
    seq              bigint      GENERATED ALWAYS AS IDENTITY,
    key              text        NOT NULL,
    source_side      smallint    NOT NULL,
    source_record_id text        NOT NULL DEFAULT '',
    target_record_id text        NOT NULL DEFAULT '',
    action           smallint    NOT NULL,
    reason           text        NOT NULL DEFAULT '',
    changes          jsonb       NOT NULL DEFAULT '[]'::jsonb,
    errors           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    at               timestamptz NOT NULL DEFAULT now(),
    -- A retried append with the same key never doubles a row.
    PRIMARY KEY (run_id, key)
);
-- ListEvents of one run, newest first, keyset on seq.
CREATE INDEX events_by_run ON events (run_id, seq DESC);
-- ListEvents filtered by record id within a run.
CREATE INDEX events_by_source_record ON events (run_id, source_record_id) WHERE source_record_id <> '';
CREATE INDEX events_by_target_record ON events (run_id, target_record_id) WHERE target_record_id <> '';
