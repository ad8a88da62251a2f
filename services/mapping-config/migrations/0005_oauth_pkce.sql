-- PKCE (S256) on the Salesforce OAuth flow: each state keeps the code verifier its authorize
-- URL's challenge was made from, encrypted like the tokens (purpose `pkce`), until the
-- callback exchanges the code with it. States made before this migration have none and can no
-- longer be completed (they live ten minutes).
ALTER TABLE oauth_states
    ADD COLUMN code_verifier_ct bytea,
    ADD COLUMN code_verifier_key_version integer;
