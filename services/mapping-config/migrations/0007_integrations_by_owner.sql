-- The console lists an account's integrations by owner ("mine") and by state, a page at a
-- time, newest first: one index for each, in the list's order.
CREATE INDEX integrations_by_account_lower_owner ON integrations (account, lower(owner), created_at DESC, id);
CREATE INDEX integrations_by_account_state ON integrations (account, state, created_at DESC, id);
