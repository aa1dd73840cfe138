-- Up Migration

-- Password sign-in (issue 12) and disabling users (issue 11). PostgreSQL holds every fact that decides whether a
-- person may get in: the argon2id hash, the lockout counters, the disabled flag and the session epoch. Sessions
-- themselves live in Redis (derived): bumping session_epoch ends every session of a user at once, in every process.
alter table users
  add column password_hash        text,
  add column must_change_password boolean not null default false,
  add column password_changed_at  timestamptz,
  add column failed_signins       int not null default 0,
  add column locked_until         timestamptz,
  add column last_signin_at       timestamptz,
  add column session_epoch        int not null default 0,
  add column disabled_at          timestamptz,
  add column disabled_by          int references users(id) on delete set null,
  -- the subject ("sub") of the city's identity platform (OpenID Connect) this user is linked to
  add column oidc_subject         text unique;

-- Who signed in, failed, was locked, reset, disabled or enabled (and by whom): the security audit trail.
create table auth_events (
  id       bigserial primary key,
  user_id  int references users(id) on delete cascade,
  username text not null,
  kind     text not null check (kind in ('signin', 'signin_failed', 'locked', 'signout', 'signout_all', 'password_changed',
                                         'password_reset', 'disabled', 'enabled', 'oidc_signin')),
  actor_id int references users(id) on delete set null,
  ip       text,
  at       timestamptz not null default now()
);
create index auth_events_user_idx on auth_events(user_id, at desc);

-- Down Migration

drop table auth_events;
alter table users
  drop column password_hash, drop column must_change_password, drop column password_changed_at,
  drop column failed_signins, drop column locked_until, drop column last_signin_at, drop column session_epoch,
  drop column disabled_at, drop column disabled_by, drop column oidc_subject;
