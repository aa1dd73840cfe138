-- Up Migration
-- Every claim (签收下一件) that signed a ticket, with the client's Idempotency-Key when it sent one: a retried claim
-- (same key, or no key within CLAIM_RETRY_WINDOW_SEC while the ticket is still untouched) answers the ticket it
-- already signed instead of signing a second one.
create table ticket_claims (
  id         bigserial primary key,
  user_id    int not null references users(id),
  idem_key   text check (length(idem_key) between 1 and 200),
  case_id    bigint not null references cases(id) on delete cascade,
  created_at timestamptz not null default now()
);
create unique index ticket_claims_key_uq on ticket_claims(user_id, idem_key) where idem_key is not null;
create index ticket_claims_user_idx on ticket_claims(user_id, id desc);

-- Down Migration
drop table ticket_claims;
