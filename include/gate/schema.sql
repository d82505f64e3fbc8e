-- Data-quality history and the publication log, owned by the transformer role,
-- readable by auditors (make psql ROLE=auditor).
create table if not exists dq.rule_runs (
    rule_run_id bigserial primary key,
    run_id text not null,
    month_start date not null,
    rule_id text not null,
    kind text not null,
    relation text not null,
    severity text not null check (severity in ('fail', 'warn')),
    status text not null check (status in ('passed', 'failed', 'error')),
    unexpected_count integer not null,
    owner text,
    description_zh text not null,
    description_en text not null,
    error text,
    checked_at timestamptz not null default now()
);
create index if not exists rule_runs_by_month on dq.rule_runs (month_start, rule_id);

create table if not exists dq.rule_failures (
    rule_run_id bigint not null references dq.rule_runs (rule_run_id) on delete cascade,
    county_code text,
    month_start date,
    measure text,
    declared numeric,
    computed numeric,
    difference numeric,
    row_detail jsonb not null
);

create table if not exists dq.publications (
    publication_id bigserial primary key,
    run_id text not null,
    month_start date not null,
    status text not null check (status in ('published', 'held_back')),
    marts text [] not null,
    source_files jsonb not null,
    rules_passed integer not null,
    rules_failed integer not null,
    reason text,
    decided_at timestamptz not null default now()
);

comment on table dq.rule_runs is 'One row per rule per gate run: what was checked, for which month, and the outcome.';
comment on table dq.rule_failures is 'The offending rows of a failed rule: county, month, measure, declared and computed values.';
comment on table dq.publications is 'Every gate decision: which marts were published (or held back), from which files, after which checks.';

-- Since issue 5: partial publication (a failing department holds back only its own marts).
alter table dq.publications add column if not exists held_back text [] not null default '{}';
alter table dq.publications add column if not exists rule_results jsonb not null default '{}';
alter table dq.publications drop constraint if exists publications_status_check;
alter table dq.publications add constraint publications_status_check
    check (status in ('published', 'partial', 'held_back'));
comment on column dq.publications.marts is 'The marts whose month was published (replaced) by this decision.';
comment on column dq.publications.held_back is 'The marts a failed fail-rule taints (by dbt lineage): their published month stays as it was.';

-- Since issue 10: each offending row says which side is blamed, and why (in Chinese and English).
alter table dq.rule_failures add column if not exists blame text;
alter table dq.rule_failures add column if not exists explanation_zh text;
alter table dq.rule_failures add column if not exists explanation_en text;
alter table dq.rule_failures drop constraint if exists rule_failures_blame_check;
alter table dq.rule_failures add constraint rule_failures_blame_check
    check (blame in ('declared', 'computed', 'figures'));
comment on column dq.rule_failures.blame is
'declared: the declared figure is the suspect (the computed side passes its own checks); computed: the computed side fails its own checks too, so its mart is held back; figures: declared figures that cannot all be true together.';
alter table dq.publications add column if not exists flagged jsonb not null default '{}';
comment on column dq.publications.flagged is 'Marts published with a warning flag: mart -> the findings (rule ids) that concern it.';

-- Since issue 11: every execution of the gate has an id of its own. A rerun of a month, or a run cleared
-- and run again under the scheduler, keeps its Airflow run id; the gate run and the try number tell them apart.
create table if not exists dq.gate_runs (
    gate_run_id bigserial primary key,
    run_id text not null,
    try_number integer,
    month_start date not null,
    started_at timestamptz not null default now()
);
comment on table dq.gate_runs is 'One row per execution of the gate''s validation: the Airflow run id and try number it ran under.';
alter table dq.gate_runs add column if not exists candidate_checksums jsonb;
comment on column dq.gate_runs.candidate_checksums is 'Each candidate mart''s month as the checks read it (rows, md5): publication refuses a mart whose candidate changed since.';
alter table dq.rule_runs add column if not exists gate_run_id bigint references dq.gate_runs (gate_run_id);
create index if not exists rule_runs_by_gate_run on dq.rule_runs (gate_run_id);
alter table dq.publications add column if not exists gate_run_id bigint references dq.gate_runs (gate_run_id);
alter table dq.publications add column if not exists try_number integer;
comment on column dq.rule_runs.gate_run_id is 'The gate run (dq.gate_runs) that checked this rule.';
comment on column dq.publications.gate_run_id is 'The gate run whose checks this decision rests on.';
comment on column dq.publications.try_number is 'The Airflow try number of the publish task that made the decision.';
-- History from before: one gate run per Airflow run id and month (what could be told apart then).
with missing as (
    select run_id, month_start, min(checked_at) as started_at from dq.rule_runs
    where gate_run_id is null group by run_id, month_start
), made as (
    insert into dq.gate_runs (run_id, month_start, started_at)
    select run_id, month_start, started_at from missing
    returning gate_run_id, run_id, month_start
)
update dq.rule_runs as r set gate_run_id = made.gate_run_id
from made where r.gate_run_id is null and r.run_id = made.run_id and r.month_start = made.month_start;
update dq.publications as p set gate_run_id = (
    select max(g.gate_run_id) from dq.gate_runs as g
    where g.run_id = p.run_id and g.month_start = p.month_start and g.started_at <= p.decided_at
) where p.gate_run_id is null;

-- Since issue 14: a warning is not a failure. rules_failed counts the fail rules that failed (or errored),
-- rules_warned the warn rules that did. A decision recorded before counted both in rules_failed: it is split
-- here by the rule ids its rule_results kept (the sum stays what was recorded); one from before rule_results
-- (issue 5) keeps its count, with rules_warned null.
alter table dq.publications add column if not exists rules_warned integer;
update dq.publications
set rules_failed = jsonb_array_length(rule_results -> 'failed'),
    rules_warned = jsonb_array_length(rule_results -> 'warned')
where
    rules_warned is null
    and jsonb_typeof(rule_results -> 'failed') = 'array'
    and jsonb_typeof(rule_results -> 'warned') = 'array'
    and rules_failed = jsonb_array_length(rule_results -> 'failed') + jsonb_array_length(rule_results -> 'warned');
comment on column dq.publications.rules_passed is 'The rules (and dbt tests) of the gate run that passed.';
comment on column dq.publications.rules_failed is
'The fail rules that failed or errored: they hold back the marts they taint. Before issue 14 (a row whose rules_warned is null) it counted the warnings too.';
comment on column dq.publications.rules_warned is
'The warn rules that failed or errored: warnings, which hold nothing back. Null on a decision recorded before issue 14 that rule_results cannot split.';
