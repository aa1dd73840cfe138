-- Up Migration
-- Post-call survey: 1 满意, 2 基本满意, 3 不满意; null = not asked or no key pressed.
alter table calls add column survey_score smallint check (survey_score between 1 and 3);

-- Down Migration
alter table calls drop column survey_score;
