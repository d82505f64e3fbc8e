-- Feed completeness: one row per feed x county x month, derived from what arrived.
-- status: on_time | late (first loaded delivery after the contract's deadline day of the
-- following month, end of day, Beijing time) | resubmitted (more than one version loaded)
-- | missing (no current delivery, or the current delivery has no row for the county).
create table if not exists ops.feeds (
    feed text primary key,
    name_zh text not null,
    department text not null,
    department_zh text not null,
    grain text not null,
    deadline_day integer not null check (deadline_day between 1 and 28)
);

create table if not exists ops.load_counties (
    load_id bigint not null references ops.loads (load_id) on delete cascade,
    county_code text not null,
    detail_rows integer not null,
    primary key (load_id, county_code)
);

create or replace view ops.feed_completeness as
with months as (
    select generate_series(
        (select coalesce(min(feed_month), date '2021-01-01') from ops.loads),
        (select coalesce(max(feed_month), date '2021-01-01') from ops.loads),
        interval '1 month'
    )::date as feed_month
),
deliveries as (
    select
        feed,
        feed_month,
        min(received_at) filter (where status = 'loaded') as first_received_at,
        count(*) filter (where status = 'loaded') as versions_loaded,
        count(*) filter (where status = 'quarantined') as versions_quarantined,
        max(load_id) filter (where is_current) as current_load_id
    from ops.loads
    group by feed, feed_month
),
grid as (
    select
        f.feed,
        f.department,
        m.feed_month,
        c.county_code,
        ((m.feed_month + interval '1 month' + f.deadline_day * interval '1 day')::timestamp
            at time zone 'Asia/Shanghai') as deadline_at
    from ops.feeds as f
    cross join months as m
    cross join (select unnest(%(counties)s::text []) as county_code) as c
)
select
    grid.feed,
    grid.department,
    grid.county_code,
    grid.feed_month,
    grid.deadline_at,
    d.first_received_at,
    coalesce(d.versions_loaded, 0) as versions_loaded,
    coalesce(d.versions_quarantined, 0) as versions_quarantined,
    coalesce(lc.detail_rows, 0) as detail_rows,
    case
        when d.current_load_id is null or coalesce(lc.detail_rows, 0) = 0 then 'missing'
        when d.versions_loaded > 1 then 'resubmitted'
        when d.first_received_at > grid.deadline_at then 'late'
        else 'on_time'
    end as status
from grid
left join deliveries as d on d.feed = grid.feed and d.feed_month = grid.feed_month
left join ops.load_counties as lc on lc.load_id = d.current_load_id and lc.county_code = grid.county_code;

comment on view ops.feed_completeness is
    'Department x county x month: on_time, late, missing or resubmitted, against each contract''s deadline day.';
