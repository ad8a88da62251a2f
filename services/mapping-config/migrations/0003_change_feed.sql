-- The change feed (ListIntegrations with changed_since) reads integrations in order of change.
CREATE INDEX integrations_by_change ON integrations (updated_at, id);
