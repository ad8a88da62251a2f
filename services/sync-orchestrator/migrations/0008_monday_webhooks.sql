-- The monday webhooks Tandem registered itself, one per board and event type, shared by every
-- integration on the board (the ingress routes an event to all of them). `connection_id` is
-- the monday connection that created it (and deletes it); `url` where monday posts, so a
-- changed public URL re-registers.
CREATE TABLE monday_webhooks (
    board_id       text        NOT NULL,
    event          text        NOT NULL,
    webhook_id     text        NOT NULL,
    connection_id  text        NOT NULL,
    url            text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, event)
);
