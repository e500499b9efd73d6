{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        incremental_strategy='delete+insert',
    )
}}

{#- Identity stitching: each anonymous id that ever signed in, and the customer who signed in on it last.
    The erasures' input is named outside the incremental branch, so dbt records the dependency. -#}
{%- set customers = ref('stg_shop__customers') %}

with

events as (

    select * from {{ ref('stg_clickstream__events') }}

),

{% if is_incremental() %}
customers as (

    select * from {{ customers }}

),

built as (

    select * from {{ this }}

),

scope as (

    -- The driving input: anonymous ids with a signed-in event loaded since the watermark, and those stitched
    -- to a customer whose erasure loaded since then (with when it loaded).
    select
        anonymous_id,
        max(loaded_at) as changed_at
    from events
    where
        loaded_at > {{ incremental_watermark('loaded_at') }}
        and customer_id is not null
        and not is_bot
    group by anonymous_id

    union all

    select
        built.anonymous_id,
        customers.loaded_at as changed_at
    from built
    inner join customers
        on built.customer_id = customers.customer_id
    where
        customers.is_erased
        and customers.loaded_at > {{ incremental_watermark('loaded_at') }}

),
{% endif %}

signed_in as (

    select
        events.anonymous_id,
        events.customer_id,
        events.occurred_at,
        events.event_id,
        events.loaded_at
    from events
    where
        events.customer_id is not null
        and not events.is_bot
    {% if is_incremental() %}
        and events.anonymous_id in (select scope.anonymous_id from scope)
    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by anonymous_id
            order by occurred_at desc, event_id desc
        ) as sign_in_rank,
        min(occurred_at) over (partition by anonymous_id) as first_identified_at,
        max(loaded_at) over (partition by anonymous_id) as last_loaded_at
    from signed_in

),

identified as (

    select
        anonymous_id,
        customer_id,
        first_identified_at,
        occurred_at as last_identified_at,
        last_loaded_at as loaded_at
    from ranked
    where sign_in_rank = 1

),

final as (

    select * from identified
    {% if is_incremental() %}

    union all

    -- An anonymous id whose only customer was erased keeps a row without one, so the erased link is gone.
    select
        scope.anonymous_id,
        null as customer_id,
        null as first_identified_at,
        null as last_identified_at,
        max(scope.changed_at) as loaded_at
    from scope
    where scope.anonymous_id not in (select identified.anonymous_id from identified)
    group by scope.anonymous_id
    {% endif %}

)

select * from final
