-- A deployment handed to an outside party (self-managed provisioning: the
-- Terraform hand-off through git) waits for its report without a worker or a
-- lease. wait is the engine's record of the hand-off (JSON; '' while the
-- deployment is not waiting); wake_at is when a worker next claims it to
-- check on the outside party (milliseconds since the epoch; 0: only a cancel
-- wakes it).
ALTER TABLE deployments ADD COLUMN wait TEXT NOT NULL DEFAULT '';
ALTER TABLE deployments ADD COLUMN wake_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deployments_waiting ON deployments (wake_at) WHERE wait <> '' AND lease_owner = '';
