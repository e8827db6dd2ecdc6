-- user get --status S without --batch: the users of that status from an
-- index (then sorted), not every user read through the index on
-- (batch, id) in order to skip the sort. PostgreSQL's planner takes the
-- index on (batch, status) for it already.
CREATE INDEX migration_user_status ON migration_user (status);
