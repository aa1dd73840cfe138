-- Up Migration
-- One-key transfer (一键转接) of a connected call to a department or to 110, blind or three-way (三方通话).
create table call_transfers (
  id            bigserial primary key,
  call_id       uuid not null references calls(id) on delete cascade,
  mode          text not null check (mode in ('blind', 'three_way')),
  target_type   text not null check (target_type in ('department', 'number', 'police')),
  department_id int references departments(id),
  target        text not null,
  dial_string   text not null,
  channel_id    text not null,
  requested_by  int references users(id),
  started_at    timestamptz not null,
  answered_at   timestamptz,
  ended_at      timestamptz,
  result        text check (result in ('answered', 'no_answer', 'busy', 'failed', 'cancelled'))
);
create index call_transfers_call_idx on call_transfers(call_id);

-- 110 linkage: the call is flagged for the record and the KPIs.
alter table calls add column emergency boolean not null default false;

-- Down Migration
alter table calls drop column emergency;
drop table call_transfers;
