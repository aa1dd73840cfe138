-- Up Migration

create table departments (
  id           serial primary key,
  code         text not null unique check (code ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name         text not null,
  phone        text,
  sip_endpoint text,
  active       boolean not null default true,
  created_at   timestamptz not null default now()
);

create table categories (
  id         serial primary key,
  code       text not null unique,
  name       text not null,
  parent_id  int references categories(id),
  sort_order int not null default 0,
  active     boolean not null default true
);
create index categories_parent_idx on categories(parent_id);

create table users (
  id            serial primary key,
  username      text not null unique,
  display_name  text not null,
  role          text not null check (role in ('agent', 'dispatcher', 'department_staff', 'supervisor', 'admin')),
  department_id int references departments(id),
  active        boolean not null default true,
  created_at    timestamptz not null default now(),
  check (role <> 'department_staff' or department_id is not null)
);

create table api_tokens (
  id           serial primary key,
  user_id      int not null references users(id) on delete cascade,
  token_hash   bytea not null unique,
  label        text not null default '',
  created_at   timestamptz not null default now(),
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);
create index api_tokens_user_idx on api_tokens(user_id);

create table agents (
  id         serial primary key,
  user_id    int not null unique references users(id) on delete cascade,
  extension  text not null unique check (extension ~ '^[0-9A-Za-z_-]{1,32}$'),
  endpoint   text,
  skills     text[] not null default '{}',
  active     boolean not null default true,
  created_at timestamptz not null default now()
);

-- Login/logout/ready/pause history; the live state itself lives in Redis (shared by all service processes).
create table agent_state_log (
  id       bigserial primary key,
  agent_id int not null references agents(id) on delete cascade,
  state    text not null,
  reason   text,
  at       timestamptz not null default now()
);
create index agent_state_log_agent_idx on agent_state_log(agent_id, at desc);

create table callers (
  id         serial primary key,
  number     text not null unique,
  name       text,
  gender     text check (gender in ('male', 'female', 'unknown')),
  address    text,
  district   text,
  note       text,
  tags       text[] not null default '{}',
  vip        boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table calls (
  id              uuid primary key,
  node_id         text not null,
  channel_id      text not null,
  direction       text not null default 'inbound' check (direction in ('inbound', 'outbound')),
  caller_number   text not null default '',
  caller_name     text,
  caller_id       int references callers(id),
  state           text not null,
  outcome         text check (outcome in ('answered', 'abandoned', 'failed', 'no_agent')),
  skill           text,
  agent_id        int references agents(id),
  agent_channel_id text,
  bridge_id       text,
  offer_count     int not null default 0,
  started_at      timestamptz not null,
  answered_at     timestamptz,
  queued_at       timestamptz,
  offered_at      timestamptz,
  connected_at    timestamptz,
  ended_at        timestamptz,
  wait_ms         int,
  talk_ms         int,
  hangup_by       text check (hangup_by in ('caller', 'agent', 'system')),
  hangup_cause    text,
  recording_name  text,
  created_at      timestamptz not null default now()
);
create index calls_open_idx on calls(node_id) where ended_at is null;
create index calls_caller_idx on calls(caller_number, started_at desc);
create index calls_agent_idx on calls(agent_id, started_at desc);
create index calls_started_idx on calls(started_at desc);

-- Each ring of an agent for a call: who, when, how it ended (answered, no_answer, busy, failed, cancelled).
create table call_offers (
  id          bigserial primary key,
  call_id     uuid not null references calls(id) on delete cascade,
  agent_id    int not null references agents(id),
  channel_id  text,
  offered_at  timestamptz not null,
  ended_at    timestamptz,
  result      text check (result in ('answered', 'no_answer', 'busy', 'failed', 'cancelled'))
);
create index call_offers_call_idx on call_offers(call_id);
create index call_offers_agent_idx on call_offers(agent_id, offered_at desc);

-- State transitions of a call, in order: the audit trail reconciliation and KPIs rely on.
create table call_events (
  id        bigserial primary key,
  call_id   uuid not null references calls(id) on delete cascade,
  at        timestamptz not null default now(),
  from_state text,
  to_state  text not null,
  detail    jsonb
);
create index call_events_call_idx on call_events(call_id, id);

create table call_notes (
  id          bigserial primary key,
  call_id     uuid not null references calls(id) on delete cascade,
  agent_id    int references agents(id),
  author_id   int not null references users(id),
  category_id int references categories(id),
  content     text not null,
  resolved    boolean not null default false,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
create index call_notes_call_idx on call_notes(call_id);
create index call_notes_author_idx on call_notes(author_id, created_at desc);

-- Work orders; issue-level details (SLA, outbox, history) come with their own migration.
create table cases (
  id            bigserial primary key,
  tracking_no   text not null unique,
  channel       text not null check (channel in ('phone', 'web', 'open311')),
  status        text not null,
  caller_id     int references callers(id),
  contact_name  text,
  contact_phone text,
  category_id   int references categories(id),
  department_id int references departments(id),
  urgency       text not null default 'normal' check (urgency in ('normal', 'urgent')),
  title         text not null default '',
  description   text not null,
  call_id       uuid references calls(id),
  created_by    int references users(id),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now()
);
create index cases_caller_idx on cases(caller_id, created_at desc);
create index cases_department_idx on cases(department_id, status);

create table audit_log (
  id        bigserial primary key,
  at        timestamptz not null default now(),
  actor_id  int references users(id),
  action    text not null,
  entity    text not null,
  entity_id text,
  detail    jsonb
);
create index audit_log_entity_idx on audit_log(entity, entity_id);

-- Down Migration
drop table audit_log, cases, call_notes, call_events, call_offers, calls, callers, agent_state_log, agents,
  api_tokens, users, categories, departments;
