-- Sync state, in schema `sync`. Every write of a run first takes a share lock on its lease
-- row and checks the epoch it holds, so a holder whose lease was taken over commits nothing.
CREATE TABLE leases (
    integration_id text PRIMARY KEY,
    -- Incremented on each acquisition; writes carry `WHERE lease_epoch = $epoch`.
    epoch          bigint      NOT NULL DEFAULT 0,
    holder         text        NOT NULL DEFAULT '',
    expires_at     timestamptz NOT NULL DEFAULT now()
);

-- Per integration and side: changes up to here are applied and recorded.
CREATE TABLE watermarks (
    integration_id text        NOT NULL,
    side           smallint    NOT NULL,
    watermark      timestamptz,
    -- (id, modified_at) pairs seen inside the overlap window.
    seen           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    lease_epoch    bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, side)
);

-- A linked pair and its shadow: the values both sides last agreed on.
CREATE TABLE links (
    integration_id   text        NOT NULL,
    salesforce_id    text        NOT NULL,
    monday_item_id   text        NOT NULL,
    shadow           jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- Set when either record was deleted or archived: deletions are never propagated.
    unlinked_at      timestamptz,
    unlinked_reason  text        NOT NULL DEFAULT '',
    lease_epoch      bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, salesforce_id),
    UNIQUE (integration_id, monday_item_id)
);

-- A create is recorded as an intent before it is sent, with its idempotency key, so a crash
-- between the remote write and the link never creates a duplicate.
CREATE TABLE create_intents (
    integration_id   text        NOT NULL,
    idempotency_key  text        NOT NULL,
    target_side      smallint    NOT NULL,
    source_record_id text        NOT NULL,
    target_record_id text,
    lease_epoch      bigint      NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (integration_id, idempotency_key)
);
