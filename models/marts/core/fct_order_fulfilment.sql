{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
    )
}}

with

{% if is_incremental() %}
changed_orders as (

    -- The driving input: the orders with a version loaded since the watermark.
    select order_id from {{ ref('snap_orders') }}
    where loaded_at > {{ incremental_watermark() }}

),
{% endif %}

order_history as (

    select * from {{ ref('snap_orders') }}
    {% if is_incremental() %}
    -- every version of those orders: the times each status was reached
    where order_id in (select changed_orders.order_id from changed_orders)
    {% endif %}

),

status_reached as (

    select
        order_id,
        min(ordered_at) as ordered_at,
        min(case when order_status = 'paid' then dbt_valid_from end) as paid_at,
        min(case when order_status = 'shipped' then dbt_valid_from end) as shipped_at,
        min(case when order_status = 'delivered' then dbt_valid_from end) as delivered_at,
        min(case when order_status = 'returned' then dbt_valid_from end) as returned_at,
        min(case when order_status = 'cancelled' then dbt_valid_from end) as cancelled_at,
        max(loaded_at) as source_loaded_at
    from order_history
    group by order_id

),

final as (

    select
        order_id,
        ordered_at,
        paid_at,
        shipped_at,
        delivered_at,
        returned_at,
        cancelled_at,
        cast(
            {{ dbt.datediff('ordered_at', 'delivered_at', 'minute') }} / 60.0 as decimal(18, 2)
        ) as hours_to_delivery,
        source_loaded_at
    from status_reached

)

select * from final
