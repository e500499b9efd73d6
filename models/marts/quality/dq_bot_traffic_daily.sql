{{
    config(
        materialized='incremental',
        unique_key='date_day',
        incremental_strategy='delete+insert',
    )
}}

with

{% if is_incremental() %}
changed_days as (

    -- The driving input: the days with an event loaded since the watermark.
    select distinct event_date from {{ ref('stg_clickstream__events') }}
    where loaded_at > {{ incremental_watermark() }}

),
{% endif %}

events as (

    select * from {{ ref('stg_clickstream__events') }}
    {% if is_incremental() %}
    -- every event of those days
    where event_date in (select changed_days.event_date from changed_days)
    {% endif %}

),

final as (

    select
        event_date as date_day,
        cast(count(*) as bigint) as events,
        cast(sum(case when is_bot then 1 else 0 end) as bigint) as bot_events,
        cast(count(distinct case when is_bot then anonymous_id end) as bigint) as bot_visitors,
        cast(sum(case when is_bot then 1 else 0 end) * 1.0 / count(*) as decimal(18, 4)) as bot_event_share,
        max(loaded_at) as source_loaded_at
    from events
    group by event_date

)

select * from final
