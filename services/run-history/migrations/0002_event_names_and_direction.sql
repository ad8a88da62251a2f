-- Events carry both records' display names and the side a change went to (its direction).
ALTER TABLE events
    ADD COLUMN source_name text     NOT NULL DEFAULT '',
    ADD COLUMN target_name text     NOT NULL DEFAULT '',
    ADD COLUMN target_side smallint NOT NULL DEFAULT 0;
