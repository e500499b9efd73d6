{{
    config(
        materialized='incremental',
        unique_key='order_item_id',
        incremental_strategy='delete+insert',
        dist='order_id',
        sort=['ordered_date'],
        cluster_by=['ordered_date'],
    )
}}

{#- The incremental scope's input, named outside the incremental branch so dbt records the dependency on
    every parse (a ref() only inside {% if is_incremental() %} is not seen). -#}
{%- set touched_rows = ref('int_orders__touched') %}

with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('int_orders__converted') }}

),

{% if is_incremental() %}
touched_rows as (

    select * from {{ touched_rows }}

),

touched as (

    -- The driving input: the orders with a row loaded since the watermark. Lines are rebuilt by order.
    select distinct order_id
    from touched_rows
    where loaded_at > {{ incremental_watermark() }}

),
{% endif %}

final as (

    select
        order_items.order_item_id,
        order_items.order_id,
        orders.customer_id,
        order_items.product_id,
        orders.ordered_date,
        orders.currency,
        order_items.quantity,
        order_items.unit_price,
        order_items.discount_amount,
        order_items.line_amount,
        {{ to_reporting_currency('order_items.line_amount', 'orders.reporting_rate') }} as line_amount_reporting,
        greatest(
            order_items.loaded_at,
            orders.loaded_at,
            coalesce(orders.rate_loaded_at, orders.loaded_at)
        ) as source_loaded_at
    from order_items
    -- An order line whose order has not landed yet waits for it: lines carry the order's date and currency.
    inner join orders
        on order_items.order_id = orders.order_id
    {% if is_incremental() %}
    -- keys are issued in order: the range lets the scan skip the row groups of old loads unread
    where
        order_items.order_id in (select touched.order_id from touched)
        and order_items.order_id >= (select min(touched.order_id) from touched)
    {% endif %}

)

select * from final
