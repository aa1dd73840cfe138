-- Up Migration

-- The dispatcher's work queue (待派单) suggests a department from past dispatches of the same category (and place):
-- those lookups read dispatched cases by category.
create index cases_category_dispatched_idx on cases(category_id, department_id) where dispatch_no > 0;
-- The queue itself: every case waiting for a department, most urgent and oldest first.
create index cases_waiting_idx on cases(created_at, id) where status in ('draft', 'returned');

-- Down Migration
drop index cases_waiting_idx;
drop index cases_category_dispatched_idx;
