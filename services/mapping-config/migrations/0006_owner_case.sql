-- A user's connections are listed by their email compared without case (one comparison in
-- every service: tandem_service::same_email), so the index is on lower(owner).
CREATE INDEX connections_by_account_lower_owner ON connections (account, lower(owner), created_at DESC, id);
DROP INDEX connections_by_account_owner;
