-- An import in progress, a page at a time: where its next page starts on the source side, so
-- an import that stopped (process killed, remote outage) resumes from the last page it
-- committed. Written with each page's links, under the lease fence; removed when the import
-- read its last page.
CREATE TABLE import_progress (
    integration_id text PRIMARY KEY,
    -- `Side as i16` of the side read.
    source smallint NOT NULL,
    page_token text NOT NULL,
    pages integer NOT NULL DEFAULT 0,
    records bigint NOT NULL DEFAULT 0,
    -- How many records the source held when the import started (0: unknown).
    total bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
