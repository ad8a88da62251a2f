-- The due-queue: one row per active integration with when its next run is due, so that a
-- replica's scheduler claims what is due (an index range) instead of asking about every
-- integration every tick. Replicas claim with FOR UPDATE SKIP LOCKED and push the claimed
-- rows' due time forward by the claim's time to live: a replica that dies with a claim leaves
-- its integrations due again within that time.
CREATE TABLE due (
    integration_id text        PRIMARY KEY,
    -- Whose integration it is: claims take turns between accounts.
    account        text        NOT NULL,
    -- The next poll (last run + interval), or a claim's expiry while one is held.
    next_due_at    timestamptz NOT NULL,
    -- Earlier than next_due_at when webhook- or stream-borne changes are waiting in the
    -- coalescing buffer; NULL otherwise. LEAST() ignores NULL.
    wake_at        timestamptz,
    interval_ms    bigint      NOT NULL,
    -- The settings version this row was last scheduled with.
    version        bigint      NOT NULL
);
CREATE INDEX due_by_time ON due ((LEAST(next_due_at, wake_at)));

-- Where each replica's reading of mapping-config's change feed is (one row).
CREATE TABLE due_feed (
    id           boolean     PRIMARY KEY DEFAULT true CHECK (id),
    changed_at   timestamptz NOT NULL
);

-- The run a lease's holder has open in run history: a holder that dies leaves it set, and the
-- replica that takes the lease over closes that run as abandoned.
ALTER TABLE leases ADD COLUMN run_id text NOT NULL DEFAULT '';
