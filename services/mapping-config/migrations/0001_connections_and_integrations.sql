-- Connections (tokens encrypted at rest) and integrations, in schema `config`.
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
    -- AES-256-GCM: nonce || ciphertext, associated data = connection id + key version.
    key_version         integer,
    access_token_ct     bytea,
    refresh_token_ct    bytea,
    -- Bumped on every token refresh, so concurrent refreshers can tell they lost.
    token_generation    bigint      NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_by_account_owner ON connections (account, owner, created_at DESC, id);

-- Single-use OAuth states, bound to the requesting user, expiring.
CREATE TABLE oauth_states (
    state_hash    bytea PRIMARY KEY,
    connection_id uuid        NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    requested_by  text        NOT NULL,
    redirect_uri  text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

CREATE TABLE integrations (
    id           uuid PRIMARY KEY,
    account      text        NOT NULL,
    owner        text        NOT NULL,
    -- The IntegrationSpec as JSON (proto3 JSON mapping).
    spec         jsonb       NOT NULL,
    state        smallint    NOT NULL,
    state_reason text        NOT NULL DEFAULT '',
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integrations_by_account_owner ON integrations (account, owner, created_at DESC, id);
CREATE INDEX integrations_active ON integrations (state) WHERE state = 1;
