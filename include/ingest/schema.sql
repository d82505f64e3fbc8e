-- Bookkeeping of the ingestion step, owned by the loader role.
create table if not exists ops.loads (
    load_id bigserial primary key,
    feed text not null,
    feed_month date not null,
    version integer not null,
    file_name text not null,
    file_sha256 text not null,
    file_bytes bigint not null,
    encoding text,
    status text not null check (status in ('loaded', 'quarantined')),
    is_current boolean not null default false,
    detail_rows integer not null default 0,
    control_rows integer not null default 0,
    rejected_rows integer not null default 0,
    received_at timestamptz not null,
    loaded_at timestamptz not null default now(),
    run_id text,
    unique (feed, feed_month, file_sha256)
);
create unique index if not exists loads_one_current on ops.loads (feed, feed_month) where is_current;

create table if not exists ops.findings (
    finding_id bigserial primary key,
    load_id bigint not null references ops.loads (load_id) on delete cascade,
    feed text not null,
    feed_month date,
    file_name text not null,
    file_sha256 text not null,
    sheet text,
    row_number integer,
    column_name text,
    rule text not null,
    severity text not null check (severity in ('error', 'warn', 'info')),
    expected text not null,
    found text not null,
    message text not null,
    created_at timestamptz not null default now()
);
create index if not exists findings_by_load on ops.findings (load_id);

-- What the landing folder held that was not loaded, and why: no load row, because nothing was read (a symlink,
-- a file over the size cap, a folder no contract names, a month not this run's, two conflicting deliveries, no
-- disk space). ``scope`` is the folder surveyed (a feed, or '' for the landing folder itself); a rerun of the
-- month replaces a scope's rows.
create table if not exists ops.landing_findings (
    finding_id bigserial primary key,
    run_month date not null,
    scope text not null,
    feed text,
    feed_month date,
    file_name text not null,
    file_sha256 text,
    file_bytes bigint,
    rule text not null,
    severity text not null check (severity in ('error', 'warn', 'info')),
    expected text not null,
    found text not null,
    message text not null,
    run_id text,
    created_at timestamptz not null default now()
);
create index if not exists landing_findings_by_month on ops.landing_findings (run_month, scope);

comment on table ops.loads is 'One row per delivered file (or CSV pair) per feed and month; version counts resubmissions.';
comment on table ops.findings is 'Every problem found while ingesting a file: where, what was expected, what was found.';
comment on table ops.landing_findings is 'Every file of the landing folder a run did not load, and why.';
