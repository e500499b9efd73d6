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

-- touched_orders() reads all three staged feeds and the daily exchange rates on incremental runs:
-- depends_on: {{ ref('stg_payments__payments') }}, {{ ref('stg_shop__orders') }}, {{ ref('int_fx_rates__daily') }}

with

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('int_orders__converted') }}

),

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
    {%- set touched = '(' ~ touched_orders(this) ~ ') as touched' %}
    where {{ in_key_set('order_items.order_id', 'touched.order_id', touched) }}
    {% endif %}

)

select * from final
