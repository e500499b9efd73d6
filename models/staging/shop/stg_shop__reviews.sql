{{ config(unique_key='review_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the reviews loaded since the watermark, and those of customers erased since then.
    {{ keys_loaded_or_erased(source('shop', 'reviews'), 'review_id') }}

),
{% endif %}

source as (

    select * from {{ source('shop', 'reviews') }}
    {% if is_incremental() %}
    -- Every raw version of those keys, so the latest is chosen among all of them.
    where review_id in (select changed_keys.review_id from changed_keys)
    {% endif %}

),

erased_customers as (

    select distinct customer_id from {{ source('shop', 'customers') }}
    where is_deleted

),

latest as (

    {{ latest_row_per_key('source', 'review_id') }}

),

final as (

    select
        latest.review_id,
        latest.order_id,
        latest.product_id,
        latest.customer_id,
        latest.rating,
        -- The text may name its writer: it goes with an erasure.
        case when erased_customers.customer_id is null then latest.title end as title,
        case when erased_customers.customer_id is null then latest.body end as body,
        latest.created_at,
        {{ utc_date('latest.created_at') }} as created_date,
        latest.answered_at,
        coalesce(latest.is_deleted, false) as is_deleted,
        latest.updated_at,
        latest._loaded_at as loaded_at
    from latest
    left join erased_customers
        on latest.customer_id = erased_customers.customer_id

)

select * from final
