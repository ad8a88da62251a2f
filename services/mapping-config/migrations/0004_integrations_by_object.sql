-- The Salesforce object each integration syncs, copied out of the spec so that "which active
-- integrations sync this object of this org" (every Salesforce change event asks it) is an
-- index lookup. Rows written before this migration are filled in at start-up
-- (store::integrations::fill_objects): the spec is protobuf, not readable in SQL.
ALTER TABLE integrations ADD COLUMN salesforce_object text NOT NULL DEFAULT '';
CREATE INDEX integrations_active_by_object ON integrations (salesforce_object) WHERE state = 1;
