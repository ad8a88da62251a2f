-- Connections (tokens encrypted at rest), OAuth states, integrations and the audit log, in
-- schema `config`.
CREATE TABLE connections (
    id                  uuid PRIMARY KEY,
    account             text        NOT NULL,
    owner               text        NOT NULL,
    kind                smallint    NOT NULL,
    state               smallint    NOT NULL,
    state_reason        text        NOT NULL DEFAULT '',
    subdomain           text        NOT NULL DEFAULT '',
    environment         smallint    NOT NULL DEFAULT 0,
    instance_url        text        NOT NULL DEFAULT '',
    salesforce_org_id   text        NOT NULL DEFAULT '',
    salesforce_user_id  text        NOT NULL DEFAULT '',
    salesforce_username text        NOT NULL DEFAULT '',
    scopes              text[]      NOT NULL DEFAULT '{}',
    monday_account_id   text        NOT NULL DEFAULT '',
    monday_user_email   text        NOT NULL DEFAULT '',
    -- AES-256-GCM: nonce || ciphertext, associated data = connection id + key version +
    -- purpose (access / refresh). NULL once deleted or before the OAuth callback.
    key_version         integer,
    access_token_ct     bytea,
    refresh_token_ct    bytea,
    -- Bumped on every token refresh, so concurrent refreshers can tell they lost.
    token_generation    bigint      NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_by_account_owner ON connections (account, owner, created_at DESC, id);

-- Single-use OAuth states (only their SHA-256 is kept), bound to the requesting user, expiring.
CREATE TABLE oauth_states (
    state_hash    bytea PRIMARY KEY,
    connection_id uuid        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    account       text        NOT NULL,
    requested_by  text        NOT NULL,
    redirect_uri  text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

CREATE TABLE integrations (
    id                       uuid PRIMARY KEY,
    account                  text        NOT NULL,
    owner                    text        NOT NULL,
    -- The IntegrationSpec, protobuf-encoded (the contract's own evolution rules apply).
    spec                     bytea       NOT NULL,
    -- Copied out of the spec for lookups (pausing the integrations of a connection).
    monday_connection_id     uuid,
    salesforce_connection_id uuid,
    state                    smallint    NOT NULL,
    state_reason             text        NOT NULL DEFAULT '',
    version                  bigint      NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrations_by_account ON integrations (account, created_at DESC, id);
CREATE INDEX integrations_active ON integrations (created_at DESC, id) WHERE state = 1;
CREATE INDEX integrations_by_monday_connection ON integrations (monday_connection_id);
CREATE INDEX integrations_by_salesforce_connection ON integrations (salesforce_connection_id);

-- Append-only: who changed what and when, for integrations and connections. It outlives
-- its subject (no foreign key), and UPDATE/DELETE are refused by a trigger.
CREATE TABLE audit_log (
    seq          bigserial PRIMARY KEY,
    subject_id   uuid        NOT NULL,
    subject_kind text        NOT NULL,
    account      text        NOT NULL,
    actor        text        NOT NULL,
    action       text        NOT NULL,
    changes      text[]      NOT NULL DEFAULT '{}',
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_by_subject ON audit_log (subject_id, seq DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
