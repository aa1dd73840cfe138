-- Up Migration

-- What the agent's notes concluded about a call: its category and whether it was resolved on the phone.
alter table calls add column category_id int references categories(id);
alter table calls add column resolved_on_phone boolean;

-- Keyset pagination of call history: (started_at, id) in both orders used by the API.
create index calls_caller_number_keyset_idx on calls(caller_number, started_at desc, id desc);
create index calls_agent_keyset_idx on calls(agent_id, started_at desc, id desc);

-- Screen pop: open cases of a caller found by contact phone as well as by caller id.
create index cases_contact_phone_idx on cases(contact_phone, created_at desc) where contact_phone is not null;

-- Down Migration
drop index cases_contact_phone_idx;
drop index calls_agent_keyset_idx;
drop index calls_caller_number_keyset_idx;
alter table calls drop column resolved_on_phone;
alter table calls drop column category_id;
