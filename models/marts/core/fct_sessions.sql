{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
        dist='anonymous_id',
        sort=['session_date'],
    )
}}

{#- No cluster_by: Snowflake keeps rows in load order, which follows session_date closely. (The Snowflake
    emulator cannot build a clustered table under a contract when its SQL uses date functions: it describes
    the query in DuckDB's dialect untranslated.) -#}

{#- Sessions: a visitor's (anonymous id's) events split where more than var('session_inactivity_minutes')
    pass without one, or where an event brings a new campaign. Incremental by anonymous id: a run rebuilds
    the anonymous ids it touches (new events, a changed order, an erasure), each from its first session
    the new events can reach; their other sessions are kept as built, restitched. -#}
{%- set inactivity = var('session_inactivity_minutes') %}
{%- set touched_rows = ref('int_orders__touched') %}
{%- set events = ref('stg_clickstream__events') %}
{%- set customers = ref('stg_shop__customers') %}

with

identities as (

    select * from {{ ref('int_clickstream__identities') }}
    where customer_id is not null

),

orders as (

    select * from {{ ref('int_orders__converted') }}

),

utm_mediums as (

    select * from {{ ref('utm_mediums') }}

),

{% if is_incremental() %}
new_events as (

    -- The driving input: per anonymous id, the first (by time, then id) of its events loaded since the
    -- watermark.
    select
        anonymous_id,
        occurred_at as first_new_at,
        event_id as first_new_event_id
    from (
        select
            anonymous_id,
            occurred_at,
            event_id,
            row_number() over (partition by anonymous_id order by occurred_at, event_id) as new_rank
        from {{ events }}
        where
            loaded_at > {{ incremental_watermark() }}
            and not is_bot
    ) as loaded
    where new_rank = 1

),

touched_orders as (

    -- Orders whose amounts may have changed (or landed): their sessions' revenue is summed again.
    select distinct order_id
    from {{ touched_rows }}
    where
        loaded_at > {{ incremental_watermark() }}
        and row_kind in ('order', 'order_rate')

),

touched as (

    select anonymous_id from new_events

    union

    select anonymous_id
    from {{ ref('int_orders__completions') }}
    where order_id in (select touched_orders.order_id from touched_orders)

    union

    -- Sessions stitched to a customer who asked for erasure since the watermark lose the link.
    select built.anonymous_id
    from {{ this }} as built
    inner join {{ customers }} as customers
        on built.customer_id = customers.customer_id
    where
        customers.is_erased
        and customers.loaded_at > {{ incremental_watermark() }}

),

reopened as (

    -- Where each anonymous id with new events is sessionized again from (a time and an event id): its
    -- first built session that ends within the inactivity window before its first new event (or later),
    -- else that event. Its sessions before that ended more than the window earlier: no new event can join
    -- them, and every later session is reached too.
    select
        anonymous_id,
        rebuild_from,
        rebuild_from_event_id
    from (
        select
            anonymous_id,
            rebuild_from,
            rebuild_from_event_id,
            row_number() over (
                partition by anonymous_id
                order by rebuild_from, rebuild_from_event_id
            ) as point_rank
        from (
            select
                anonymous_id,
                first_new_at as rebuild_from,
                first_new_event_id as rebuild_from_event_id
            from new_events

            union all

            select
                built.anonymous_id,
                built.started_at as rebuild_from,
                built.first_event_id as rebuild_from_event_id
            from {{ this }} as built
            inner join new_events
                on
                    built.anonymous_id = new_events.anonymous_id
                    and built.ended_at >= {{ dbt.dateadd('minute', -inactivity, 'new_events.first_new_at') }}
        ) as points
    ) as ranked_points
    where point_rank = 1

),

kept as (

    -- The touched anonymous ids' sessions that stand as built.
    select
        built.session_id,
        built.anonymous_id,
        built.started_at,
        built.first_event_id,
        built.ended_at,
        built.last_event_id,
        built.landing_page,
        built.referrer,
        built.utm_source,
        built.utm_medium,
        built.utm_campaign,
        built.channel,
        built.device,
        built.country,
        built.events,
        built.page_views,
        built.product_views,
        built.add_to_carts,
        built.checkouts,
        built.source_loaded_at
    from {{ this }} as built
    left join reopened
        on built.anonymous_id = reopened.anonymous_id
    where
        built.anonymous_id in (select touched.anonymous_id from touched)
        and (
            reopened.anonymous_id is null
            or built.started_at < reopened.rebuild_from
            or (
                built.started_at = reopened.rebuild_from
                and built.first_event_id < reopened.rebuild_from_event_id
            )
        )

),
{% endif %}

scoped_events as (

    -- Bots never make sessions (dq_bot_traffic_daily counts them).
    select events.*
    from {{ events }} as events
    {% if is_incremental() %}
    inner join reopened
        on
            events.anonymous_id = reopened.anonymous_id
            and (
                events.occurred_at > reopened.rebuild_from
                or (
                    events.occurred_at = reopened.rebuild_from
                    and events.event_id >= reopened.rebuild_from_event_id
                )
            )
    {% endif %}
    where
        not events.is_bot
    {% if is_incremental() %}
        -- the earliest rebuild point bounds the scan, so the old events' row groups are skipped unread
        and events.occurred_at >= (select min(reopened.rebuild_from) from reopened)
    {% endif %}

),

gaps as (

    -- Events in order (by time, then id: client clocks tie and drift), each with the one before it.
    select
        *,
        lag(occurred_at) over (
            partition by anonymous_id
            order by occurred_at, event_id
        ) as previous_at,
        case
            when utm_source is not null or utm_medium is not null or utm_campaign is not null
                then coalesce(utm_source, '') || '|' || coalesce(utm_medium, '') || '|' || coalesce(utm_campaign, '')
        end as campaign
    from scoped_events

),

visits as (

    -- A visit: events without an inactivity gap between them.
    select
        *,
        sum(is_gap_start) over (
            partition by anonymous_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as visit_index
    from (
        select
            *,
            case
                when previous_at is null then 1
                when occurred_at > {{ dbt.dateadd('minute', inactivity, 'previous_at') }} then 1
                else 0
            end as is_gap_start
        from gaps
    ) as gapped

),

starts as (

    -- A session starts a visit, or starts where an event brings a campaign other than the last one its
    -- visit brought: partitioned by whether a row has a campaign, lag gives a campaign row the campaign of
    -- the visit's previous campaign row.
    select
        *,
        case
            when is_gap_start = 1 then 1
            when campaign is null then 0
            when previous_campaign is null then 1
            when previous_campaign <> campaign then 1
            else 0
        end as is_session_start
    from (
        select
            *,
            lag(campaign) over (
                partition by anonymous_id, visit_index, campaign is null
                order by occurred_at, event_id
            ) as previous_campaign
        from visits
    ) as campaigned

),

numbered as (

    select
        *,
        sum(is_session_start) over (
            partition by anonymous_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_index,
        -- the next event starts a session (or there is none): this one ends its session
        coalesce(lead(is_session_start) over (
            partition by anonymous_id
            order by occurred_at, event_id
        ), 1) as is_session_end
    from starts

),

aggregated as (

    -- One pass over the events: the landing attributes are the session start's, the last event id the
    -- session end's (one event each).
    select
        anonymous_id,
        min(occurred_at) as started_at,
        max(case when is_session_start = 1 then event_id end) as first_event_id,
        max(occurred_at) as ended_at,
        max(case when is_session_end = 1 then event_id end) as last_event_id,
        max(case when is_session_start = 1 then page_path end) as landing_page,
        max(case when is_session_start = 1 then referrer end) as referrer,
        max(case when is_session_start = 1 then utm_source end) as utm_source,
        max(case when is_session_start = 1 then utm_medium end) as utm_medium,
        max(case when is_session_start = 1 then utm_campaign end) as utm_campaign,
        max(case when is_session_start = 1 then device end) as device,
        max(case when is_session_start = 1 then country end) as country,
        count(*) as events,
        sum(case when event_type = 'page_view' then 1 else 0 end) as page_views,
        sum(case when event_type = 'product_view' then 1 else 0 end) as product_views,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
        sum(case when event_type = 'checkout_started' then 1 else 0 end) as checkouts,
        max(loaded_at) as source_loaded_at
    from numbered
    group by anonymous_id, session_index

),

sessionized as (

    select
        {{ dbt.hash("aggregated.anonymous_id || '|' || aggregated.first_event_id") }} as session_id,
        aggregated.anonymous_id,
        aggregated.started_at,
        aggregated.first_event_id,
        aggregated.ended_at,
        aggregated.last_event_id,
        aggregated.landing_page,
        aggregated.referrer,
        aggregated.utm_source,
        aggregated.utm_medium,
        aggregated.utm_campaign,
        {{ session_channel(
            'aggregated.utm_source', 'aggregated.utm_medium', 'aggregated.referrer', 'utm_mediums.channel'
        ) }} as channel,
        aggregated.device,
        aggregated.country,
        aggregated.events,
        aggregated.page_views,
        aggregated.product_views,
        aggregated.add_to_carts,
        aggregated.checkouts,
        aggregated.source_loaded_at
    from aggregated
    left join utm_mediums
        on aggregated.utm_medium = utm_mediums.utm_medium

),

sessions as (

    select * from sessionized
    {% if is_incremental() %}
    union all
    select * from kept
    {% endif %}

),

completions as (

    select * from {{ ref('int_orders__completions') }}
    {% if is_incremental() %}
    where anonymous_id in (select touched.anonymous_id from touched)
    {% endif %}

),

session_orders as (

    select
        sessions.session_id,
        cast(count(*) as integer) as orders,
        min(completions.order_id) as order_id,
        sum(case when orders.is_valid_order then orders.total_amount_reporting else 0 end) as revenue
    from sessions
    inner join completions
        on
            sessions.anonymous_id = completions.anonymous_id
            and {{ holds_event('sessions', 'completions.completed_at', 'completions.event_id') }}
    left join orders
        on completions.order_id = orders.order_id
    group by sessions.session_id

),

final as (

    select
        sessions.session_id,
        sessions.anonymous_id,
        identities.customer_id,
        cast(row_number() over (
            partition by sessions.anonymous_id
            order by sessions.started_at, sessions.first_event_id
        ) as integer) as session_number,
        sessions.started_at,
        sessions.first_event_id,
        sessions.ended_at,
        sessions.last_event_id,
        {{ utc_date('sessions.started_at') }} as session_date,
        cast({{ dbt.datediff('sessions.started_at', 'sessions.ended_at', 'second') }} as bigint) as duration_seconds,
        sessions.landing_page,
        sessions.referrer,
        sessions.utm_source,
        sessions.utm_medium,
        sessions.utm_campaign,
        sessions.channel,
        sessions.device,
        sessions.country,
        cast(sessions.events as integer) as events,
        cast(sessions.page_views as integer) as page_views,
        cast(sessions.product_views as integer) as product_views,
        cast(sessions.add_to_carts as integer) as add_to_carts,
        cast(sessions.checkouts as integer) as checkouts,
        coalesce(session_orders.orders, 0) > 0 as is_converted,
        coalesce(session_orders.orders, 0) as orders,
        session_orders.order_id,
        cast(coalesce(session_orders.revenue, 0) as decimal(18, 2)) as revenue,
        sessions.source_loaded_at
    from sessions
    left join identities
        on sessions.anonymous_id = identities.anonymous_id
    left join session_orders
        on sessions.session_id = session_orders.session_id

)

select * from final
