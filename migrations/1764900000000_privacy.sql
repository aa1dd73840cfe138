-- Up Migration

-- Issue 11: residents' personal data stays private.

-- Lookup codes (查询码) are secrets: only a SHA-256 of "<tracking_no>:<code>" is kept, on the case itself so any
-- case (web, Open311, phone) can carry one. Codes issued before (4 digits, plain text on intake_requests) stay valid.
alter table cases add column lookup_code_hash bytea;
update cases c
   set lookup_code_hash = sha256(convert_to(c.tracking_no || ':' || i.lookup_code, 'UTF8'))
  from intake_requests i
 where i.case_id = c.id and i.lookup_code is not null;
alter table intake_requests drop column lookup_code;

-- Lookup attempts, per tracking number and per client address, counted over a sliding window (the lock): a row is
-- written before the secret is compared (so parallel guesses cannot slip past the count) and removed again when
-- the secret was right; what stays are wrong guesses and attempts refused by the lock.
-- Kept in PostgreSQL, not Redis: a lock must survive Redis being flushed or down, and wrong guesses are rare.
create table lookup_failures (
  id    bigserial primary key,
  scope text not null check (scope in ('tracking', 'address')),
  key   text not null,
  at    timestamptz not null default now()
);
create index lookup_failures_key_idx on lookup_failures (scope, key, at);
create index lookup_failures_at_idx on lookup_failures (at);

-- A request's description is published (Open311, public views) only after staff reviewed it: who and when.
alter table cases
  add column description_public_at timestamptz,
  add column description_public_by int references users(id);

-- Down Migration
alter table cases drop column description_public_by, drop column description_public_at;
drop table lookup_failures;
alter table intake_requests add column lookup_code text;
alter table cases drop column lookup_code_hash;
