{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
        dist='anonymous_id',
        sort=['session_date'],
        cluster_by=['session_date'],
    )
}}

{#- Sessions: a visitor's (anonymous id's) events split where more than var('session_inactivity_minutes')
    pass without one, or where an event brings a new campaign. Incremental by anonymous id: a run rebuilds
    the anonymous ids it touches (new events, a changed order, an erasure), each from its first session
    the new events can reach; their other sessions are kept as built, restitched. -#}
{%- set inactivity = var('session_inactivity_minutes') %}
{%- set touched_rows = ref('int_orders__touched') %}
{%- set customers = ref('stg_shop__customers') %}

with

events as (

    -- Bots never make sessions (dq_bot_traffic_daily counts them).
    select * from {{ ref('stg_clickstream__events') }}
    where not is_bot

),

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
built as (

    select * from {{ this }}

),

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
        from events
        where loaded_at > {{ incremental_watermark() }}
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
    from built
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
            from built
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
    from built
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

    select events.*
    from events
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
    -- the earliest rebuild point bounds the scan, so the old events' row groups are skipped unread
    where events.occurred_at >= (select min(reopened.rebuild_from) from reopened)
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

campaign_events as (

    -- The events bringing campaign parameters, each with the campaign of the one before it in its visit.
    select
        event_id,
        campaign,
        lag(campaign) over (
            partition by anonymous_id, visit_index
            order by occurred_at, event_id
        ) as previous_campaign
    from visits
    where campaign is not null

),

starts as (

    -- A session starts a visit, or starts where an event brings a campaign other than the visit's last one.
    select
        visits.*,
        case
            when visits.is_gap_start = 1 then 1
            when campaign_events.event_id is null then 0
            when campaign_events.previous_campaign is null then 1
            when campaign_events.previous_campaign <> campaign_events.campaign then 1
            else 0
        end as is_session_start
    from visits
    left join campaign_events
        on visits.event_id = campaign_events.event_id

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

landings as (

    -- Each session's first event: where and how the visitor arrived.
    select
        numbered.anonymous_id,
        numbered.session_index,
        numbered.event_id as landing_event_id,
        numbered.page_path as landing_page,
        numbered.referrer,
        numbered.utm_source,
        numbered.utm_medium,
        numbered.utm_campaign,
        numbered.device,
        numbered.country,
        {{ session_channel(
            'numbered.utm_source', 'numbered.utm_medium', 'numbered.referrer', 'utm_mediums.channel'
        ) }} as channel
    from numbered
    left join utm_mediums
        on numbered.utm_medium = utm_mediums.utm_medium
    where numbered.is_session_start = 1

),

endings as (

    select
        anonymous_id,
        session_index,
        event_id as last_event_id
    from numbered
    where is_session_end = 1

),

activity as (

    select
        anonymous_id,
        session_index,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
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
        {{ dbt.hash("landings.anonymous_id || '|' || landings.landing_event_id") }} as session_id,
        landings.anonymous_id,
        activity.started_at,
        landings.landing_event_id as first_event_id,
        activity.ended_at,
        endings.last_event_id,
        landings.landing_page,
        landings.referrer,
        landings.utm_source,
        landings.utm_medium,
        landings.utm_campaign,
        landings.channel,
        landings.device,
        landings.country,
        activity.events,
        activity.page_views,
        activity.product_views,
        activity.add_to_carts,
        activity.checkouts,
        activity.source_loaded_at
    from landings
    inner join activity
        on
            landings.anonymous_id = activity.anonymous_id
            and landings.session_index = activity.session_index
    inner join endings
        on
            landings.anonymous_id = endings.anonymous_id
            and landings.session_index = endings.session_index

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
