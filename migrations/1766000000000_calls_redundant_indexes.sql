-- Up Migration

-- Every call record is written three to five times while the call lasts, and most of those updates cannot be HOT
-- (agent_id and ended_at are indexed): each one updates every index of calls. These two are prefixes of the keyset
-- indexes of 1764400300000_call_summary (same leading columns, same order), which serve every query they served.
drop index if exists calls_caller_idx;
drop index if exists calls_agent_idx;

-- Down Migration
create index if not exists calls_agent_idx on calls(agent_id, started_at desc);
create index if not exists calls_caller_idx on calls(caller_number, started_at desc);
