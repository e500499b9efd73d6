{{ config(unique_key='event_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the events loaded since the watermark, and those of customers erased since then.
    {{ keys_loaded_or_erased(source('clickstream', 'events'), 'event_id') }}

),
{% endif %}

source as (

    select * from {{ source('clickstream', 'events') }}
    {% if is_incremental() %}
    -- Every delivered copy of those events, so the first copy loaded is kept on every run.
    where event_id in (select changed_keys.event_id from changed_keys)
    {% endif %}

),

erased_customers as (

    select distinct customer_id from {{ source('shop', 'customers') }}
    where is_deleted

),

first_copies as (

    -- An event delivered twice is one event: the copy loaded first.
    select *
    from (
        select
            *,
            row_number() over (
                partition by event_id
                order by _loaded_at, _source_file, _source_row_number
            ) as copy_rank
        from source
    ) as copies
    where copy_rank = 1

),

final as (

    select
        first_copies.event_id,
        first_copies.anonymous_id,
        -- An erased customer's events stay, unlinked from them.
        case when erased_customers.customer_id is null then first_copies.customer_id end as customer_id,
        lower(trim(first_copies.event_type)) as event_type,
        first_copies.occurred_at,
        {{ utc_date('first_copies.occurred_at') }} as event_date,
        first_copies.page_path,
        nullif(trim(first_copies.referrer), '') as referrer,
        first_copies.product_id,
        first_copies.order_id,
        nullif(trim(first_copies.utm_source), '') as utm_source,
        lower(nullif(trim(first_copies.utm_medium), '')) as utm_medium,
        nullif(trim(first_copies.utm_campaign), '') as utm_campaign,
        coalesce(lower(trim(first_copies.device)), 'unknown') as device,
        upper(first_copies.country) as country,
        first_copies.user_agent,
        {{ is_bot_user_agent('first_copies.user_agent') }} as is_bot,
        first_copies._loaded_at as loaded_at
    from first_copies
    left join erased_customers
        on first_copies.customer_id = erased_customers.customer_id

)

select * from final
