{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        dist='customer_id',
        sort=['ordered_date'],
        cluster_by=['ordered_date'],
    )
}}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

{% if is_incremental() %}
touched_customers as (

    -- Orders of a customer are numbered among all that customer's orders: rebuild them all.
    select distinct customer_id
    from orders
    where order_id in ({{ touched_orders(this) }})

),

scope as (

    select orders.*
    from orders
    inner join touched_customers
        on orders.customer_id = touched_customers.customer_id

),
{% else %}
scope as (

    select * from orders

),
{% endif %}

items_per_order as (

    select
        order_id,
        cast(count(*) as integer) as line_count,
        cast(sum(quantity) as bigint) as item_count,
        max(loaded_at) as loaded_at
    from order_items
    {% if is_incremental() %}
    -- only the orders rebuilt: the lines of the whole history need not be summed every day
    where order_id in (select scope.order_id from scope)
    {% endif %}
    group by order_id

),

payments_per_order as (

    select
        order_id,
        cast(count(*) as integer) as payment_attempts,
        sum(case when is_captured then amount else 0 end) as paid_amount,
        sum(case when is_captured then amount_reporting else 0 end) as paid_amount_reporting,
        sum(refunded_amount) as refunded_amount,
        sum(refunded_amount_reporting) as refunded_amount_reporting,
        max(loaded_at) as loaded_at
    from payments
    {% if is_incremental() %}
    where order_id in (select scope.order_id from scope)
    {% endif %}
    group by order_id

),

sequenced as (

    select
        scope.*,
        cast(row_number() over (
            partition by scope.customer_id
            order by scope.ordered_at, scope.order_id
        ) as integer) as customer_order_number
    from scope

),

final as (

    select
        sequenced.order_id,
        sequenced.customer_id,
        sequenced.ordered_at,
        sequenced.ordered_date,
        sequenced.order_status,
        sequenced.is_valid_order,
        sequenced.channel,
        sequenced.currency,
        sequenced.subtotal_amount,
        sequenced.discount_amount,
        sequenced.shipping_amount,
        sequenced.tax_amount,
        sequenced.total_amount,
        sequenced.reporting_rate,
        sequenced.subtotal_amount_reporting,
        sequenced.discount_amount_reporting,
        sequenced.total_amount_reporting,
        coalesce(items_per_order.line_count, 0) as line_count,
        coalesce(items_per_order.item_count, 0) as item_count,
        coalesce(payments_per_order.payment_attempts, 0) as payment_attempts,
        cast(coalesce(payments_per_order.paid_amount, 0) as decimal(18, 2)) as paid_amount,
        cast(coalesce(payments_per_order.paid_amount_reporting, 0) as decimal(18, 2)) as paid_amount_reporting,
        cast(coalesce(payments_per_order.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        cast(coalesce(payments_per_order.refunded_amount_reporting, 0) as decimal(18, 2))
            as refunded_amount_reporting,
        sequenced.customer_order_number,
        sequenced.customer_order_number = 1 as is_first_order,
        sequenced.updated_at,
        greatest(
            sequenced.loaded_at,
            coalesce(items_per_order.loaded_at, sequenced.loaded_at),
            coalesce(payments_per_order.loaded_at, sequenced.loaded_at)
        ) as source_loaded_at
    from sequenced
    left join items_per_order
        on sequenced.order_id = items_per_order.order_id
    left join payments_per_order
        on sequenced.order_id = payments_per_order.order_id

)

select * from final
