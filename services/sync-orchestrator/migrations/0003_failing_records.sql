-- Records whose last attempt failed (a value that could not be converted, a write the remote
-- refused): every following cycle retries those that are due, with a backoff per record,
-- until they succeed or no longer need to cross. A change of the integration's settings
-- (its version) makes them all due at once: a fixed mapping is tried on the next cycle.
CREATE TABLE failing_records (
    integration_id   text        NOT NULL,
    side             smallint    NOT NULL,
    record_id        text        NOT NULL,
    attempts         integer     NOT NULL,
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL,
    last_error       text        NOT NULL DEFAULT '',
    settings_version bigint      NOT NULL,
    lease_epoch      bigint      NOT NULL,
    PRIMARY KEY (integration_id, side, record_id)
);
CREATE INDEX failing_records_due ON failing_records (integration_id, next_attempt_at);
