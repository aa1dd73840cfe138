-- Up Migration

-- Work orders (工单): lifecycle, dispatch, SLA clock, callback. See DESIGN §4.
alter table cases add column dispatch_no int not null default 0;
alter table cases add column dispatched_at timestamptz;
alter table cases add column dispatched_by int references users(id);
alter table cases add column signed_at timestamptz;
alter table cases add column signed_by int references users(id);
alter table cases add column resolved_at timestamptz;
alter table cases add column resolved_by int references users(id);
alter table cases add column reply text;
alter table cases add column return_reason text;
alter table cases add column sla_policy_id int;
alter table cases add column sla_started_at timestamptz;
alter table cases add column sign_deadline timestamptz;
alter table cases add column resolve_deadline timestamptz;
-- Bumped on every change of the deadlines: SLA timers carry it, stale timers are ignored.
alter table cases add column deadline_version int not null default 0;
alter table cases add column warning_level text check (warning_level in ('yellow', 'red'));
alter table cases add column extension_until timestamptz;
alter table cases add column extension_reason text;
alter table cases add column extension_count int not null default 0;
alter table cases add column merged_into bigint references cases(id);
alter table cases add column closed_at timestamptz;
alter table cases add column satisfaction text check (satisfaction in ('satisfied', 'basically_satisfied', 'unsatisfied'));
alter table cases add column reopen_count int not null default 0;
alter table cases add constraint cases_status_check check (status in (
  'draft', 'dispatched', 'signed', 'in_progress', 'resolved', 'callback', 'closed',
  'returned', 'extension_requested', 'reopened', 'merged'));

create index cases_status_idx on cases(status, updated_at desc);
create index cases_open_deadline_idx on cases(resolve_deadline)
  where status in ('dispatched', 'reopened', 'signed', 'in_progress', 'extension_requested');

-- The call(s) a case came from (cases.call_id keeps the first one).
create table case_calls (
  case_id bigint not null references cases(id) on delete cascade,
  call_id uuid not null references calls(id),
  added_at timestamptz not null default now(),
  primary key (case_id, call_id)
);
create index case_calls_call_idx on case_calls(call_id);

-- Every transition of a case (and progress notes), appended in the transaction that made it.
create table case_events (
  id          bigserial primary key,
  case_id     bigint not null references cases(id) on delete cascade,
  at          timestamptz not null default now(),
  actor_id    int references users(id),
  action      text not null,
  from_status text,
  to_status   text not null,
  note        text,
  detail      jsonb
);
create index case_events_case_idx on case_events(case_id, id);

-- Per-day counter of tracking numbers 114-YYYYMMDD-NNNNNN (day in China time). The row lock serialises issuers.
create table case_counters (
  day  date primary key,
  last int not null
);

-- Transactional outbox: BullMQ jobs to add, written with the change that causes them and relayed afterwards.
create table outbox (
  id         bigserial primary key,
  queue      text not null check (queue ~ '^[A-Za-z0-9_-]+$'),
  job_name   text not null,
  job_id     text not null check (job_id !~ ':' and job_id !~ '^[0-9]+$'),
  data       jsonb not null,
  priority   int not null check (priority between 1 and 2097152),
  run_at     timestamptz,
  created_at timestamptz not null default now(),
  sent_at    timestamptz,
  attempts   int not null default 0,
  last_error text
);
create index outbox_pending_idx on outbox(id) where sent_at is null;

-- SLA limits by urgency and category (configurable). The matching row with the lowest priority wins;
-- category_code matches the case's category or its parent. Limits are clock minutes or working days.
create table sla_policies (
  id                   serial primary key,
  name                 text not null,
  urgency              text check (urgency in ('normal', 'urgent')),
  category_code        text,
  priority             int not null default 100,
  sign_minutes         numeric check (sign_minutes > 0),
  sign_working_days    int check (sign_working_days > 0),
  resolve_minutes      numeric check (resolve_minutes > 0),
  resolve_working_days int check (resolve_working_days > 0),
  -- 督办: issued this fraction of the resolve limit after the deadline if still unresolved (0 = at the deadline).
  supervise_after      numeric not null default 0 check (supervise_after >= 0),
  active               boolean not null default true,
  check ((sign_minutes is null) <> (sign_working_days is null)),
  check ((resolve_minutes is null) <> (resolve_working_days is null))
);
alter table cases add constraint cases_sla_policy_fk foreign key (sla_policy_id) references sla_policies(id);

insert into sla_policies (name, urgency, category_code, priority, sign_minutes, sign_working_days, resolve_minutes, resolve_working_days) values
  ('紧急工单：30 分钟内签收，2 小时内办结', 'urgent', null, 10, 30, null, 120, null),
  ('监督投诉：13 个工作日内办结', 'normal', 'complaint', 50, null, 1, null, 13),
  ('咨询求助：3 个工作日内办结', null, null, 1000, null, 1, null, 3);

-- Public holidays and make-up working days (调休) in China. kind: holiday (day off) or workday (worked weekend).
create table holidays (
  day         date primary key,
  kind        text not null check (kind in ('holiday', 'workday')),
  name        text not null,
  provisional boolean not null default false
);

-- 2026: 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04).
insert into holidays (day, kind, name)
select d::date, 'holiday', n from (values
  ('2026-01-01', '元旦'), ('2026-01-02', '元旦'), ('2026-01-03', '元旦'),
  ('2026-02-15', '春节'), ('2026-02-16', '春节'), ('2026-02-17', '春节'), ('2026-02-18', '春节'), ('2026-02-19', '春节'),
  ('2026-02-20', '春节'), ('2026-02-21', '春节'), ('2026-02-22', '春节'), ('2026-02-23', '春节'),
  ('2026-04-04', '清明节'), ('2026-04-05', '清明节'), ('2026-04-06', '清明节'),
  ('2026-05-01', '劳动节'), ('2026-05-02', '劳动节'), ('2026-05-03', '劳动节'), ('2026-05-04', '劳动节'), ('2026-05-05', '劳动节'),
  ('2026-06-19', '端午节'), ('2026-06-20', '端午节'), ('2026-06-21', '端午节'),
  ('2026-09-25', '中秋节'), ('2026-09-26', '中秋节'), ('2026-09-27', '中秋节'),
  ('2026-10-01', '国庆节'), ('2026-10-02', '国庆节'), ('2026-10-03', '国庆节'), ('2026-10-04', '国庆节'),
  ('2026-10-05', '国庆节'), ('2026-10-06', '国庆节'), ('2026-10-07', '国庆节')
) v(d, n);
insert into holidays (day, kind, name)
select d::date, 'workday', n from (values
  ('2026-01-04', '元旦调休上班'), ('2026-02-14', '春节调休上班'), ('2026-02-28', '春节调休上班'),
  ('2026-05-09', '劳动节调休上班'), ('2026-09-20', '国庆节调休上班'), ('2026-10-10', '国庆节调休上班')
) v(d, n);

-- 2027: the State Council publishes the arrangement (with 调休) late in 2026. Until then: the statutory days of
-- 《全国年节及纪念日放假办法》 on their 2027 dates, marked provisional; replace them when the notice is out.
insert into holidays (day, kind, name, provisional)
select d::date, 'holiday', n, true from (values
  ('2027-01-01', '元旦'),
  ('2027-02-05', '春节（除夕）'), ('2027-02-06', '春节'), ('2027-02-07', '春节'), ('2027-02-08', '春节'),
  ('2027-04-05', '清明节'),
  ('2027-05-01', '劳动节'), ('2027-05-02', '劳动节'),
  ('2027-06-09', '端午节'),
  ('2027-09-15', '中秋节'),
  ('2027-10-01', '国庆节'), ('2027-10-02', '国庆节'), ('2027-10-03', '国庆节')
) v(d, n);

-- Warnings and notices for the department inbox: yellow (75 % of the limit), red (overdue), supervise (督办),
-- sign_overdue (not signed in time). One per case, kind and deadline version (timers may fire twice).
create table case_notices (
  id               bigserial primary key,
  case_id          bigint not null references cases(id) on delete cascade,
  department_id    int references departments(id),
  kind             text not null check (kind in ('yellow', 'red', 'supervise', 'sign_overdue')),
  deadline_version int not null,
  message          text not null,
  created_at       timestamptz not null default now(),
  read_at          timestamptz,
  unique (case_id, kind, deadline_version)
);
create index case_notices_department_idx on case_notices(department_id, created_at desc);

-- Callback (回访) outcomes, one row per callback.
create table case_callbacks (
  id           bigserial primary key,
  case_id      bigint not null references cases(id) on delete cascade,
  agent_user_id int not null references users(id),
  solved       boolean not null,
  satisfaction text not null check (satisfaction in ('satisfied', 'basically_satisfied', 'unsatisfied')),
  note         text,
  created_at   timestamptz not null default now()
);
create index case_callbacks_case_idx on case_callbacks(case_id, id);

-- Down Migration
drop table case_callbacks, case_notices, holidays;
alter table cases drop constraint cases_sla_policy_fk;
drop table sla_policies, outbox, case_counters, case_events, case_calls;
drop index cases_open_deadline_idx;
drop index cases_status_idx;
alter table cases drop constraint cases_status_check;
alter table cases drop column dispatch_no, drop column dispatched_at, drop column dispatched_by, drop column signed_at,
  drop column signed_by, drop column resolved_at, drop column resolved_by, drop column reply, drop column return_reason,
  drop column sla_policy_id, drop column sla_started_at, drop column sign_deadline, drop column resolve_deadline,
  drop column deadline_version, drop column warning_level, drop column extension_until, drop column extension_reason,
  drop column extension_count, drop column merged_into, drop column closed_at, drop column satisfaction,
  drop column reopen_count;
