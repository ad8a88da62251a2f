-- What a run is about to write to a linked pair, recorded (under the fence) before it sends
-- the write: should the run fail before it commits, the next run recognises its own write
-- when it reads it back (the value equals what was sent) instead of mistaking it for a
-- user's newer change. Cleared when the pair's shadow is next stored.
ALTER TABLE links ADD COLUMN pending_shadow jsonb;
