{{
    config(
        materialized='incremental',
        unique_key='date_day',
        incremental_strategy='delete+insert',
    )
}}

with

calendar as (

    select * from {{ ref('dim_date') }}

),

order_day_range as (

    select
        min(ordered_date) as first_day,
        max(ordered_date) as last_day
    from {{ ref('fct_orders') }}

),

{% if is_incremental() %}
-- The scope CTEs read the facts themselves, each for a few columns: a CTE read more than once is
-- materialised whole by some engines (DuckDB), which would copy the facts on every run.
changed_orders as (

    select
        customer_id,
        min(ordered_at) as first_changed_at
    from {{ ref('fct_orders') }}
    where
        source_loaded_at > {{ incremental_watermark() }}
        and not is_guest_order
    group by customer_id

),

touched_days as (

    -- The driving input: the days of orders and payments loaded since the watermark, and of every later
    -- order of the same customers (an order arriving late can change which of them is a first order).
    select ordered_date as date_day
    from {{ ref('fct_orders') }}
    where source_loaded_at > {{ incremental_watermark() }}
    union
    select fct_orders.ordered_date as date_day
    from {{ ref('fct_orders') }} as fct_orders
    inner join changed_orders
        on
            fct_orders.customer_id = changed_orders.customer_id
            and fct_orders.ordered_at >= changed_orders.first_changed_at
    union
    select created_date as date_day
    from {{ ref('fct_payments') }}
    where source_loaded_at > {{ incremental_watermark() }}
    union
    -- days the model does not hold yet (a day without orders included)
    select calendar.date_day
    from calendar
    inner join order_day_range
        on calendar.date_day between order_day_range.first_day and order_day_range.last_day
    where calendar.date_day not in (select date_day from {{ this }})

),
{% endif %}

orders as (

    select * from {{ ref('fct_orders') }}
    {% if is_incremental() %}
    where ordered_date in (select touched_days.date_day from touched_days)
    {% endif %}

),

payments as (

    select * from {{ ref('fct_payments') }}
    {% if is_incremental() %}
    where created_date in (select touched_days.date_day from touched_days)
    {% endif %}

),

orders_per_day as (

    select
        ordered_date as date_day,
        count(*) as orders_placed,
        cast(sum(case when is_valid_order then 1 else 0 end) as bigint) as valid_orders,
        sum(case when is_valid_order then total_amount_reporting else 0 end) as gross_revenue,
        sum(case when is_valid_order then discount_amount_reporting else 0 end) as discounts,
        sum(refunded_amount_reporting) as refunds,
        sum(paid_amount_reporting) as paid_revenue,
        cast(sum(case when is_valid_order then item_count else 0 end) as bigint) as units_sold,
        cast(sum(case when is_valid_order and is_guest_order then 1 else 0 end) as bigint) as guest_orders,
        -- Guest checkouts are no customer: they count in orders and revenue, not here.
        count(distinct case when is_first_order then customer_id end) as new_customers,
        count(distinct case when not is_first_order and not is_guest_order then customer_id end)
            as returning_customers,
        count(distinct case when not is_guest_order then customer_id end) as active_customers,
        max(source_loaded_at) as source_loaded_at
    from orders
    group by ordered_date

),

payments_per_day as (

    select
        created_date as date_day,
        count(*) as payment_attempts,
        sum(case when is_captured then 1 else 0 end) as captured_attempts,
        sum(case when is_failed then 1 else 0 end) as failed_attempts,
        max(source_loaded_at) as source_loaded_at
    from payments
    group by created_date

),

days as (

    select calendar.date_day
    from calendar
    inner join order_day_range
        on calendar.date_day between order_day_range.first_day and order_day_range.last_day
    {% if is_incremental() %}
    where calendar.date_day in (select touched_days.date_day from touched_days)
    {% endif %}

),

final as (

    select
        days.date_day,
        coalesce(orders_per_day.orders_placed, 0) as orders_placed,
        coalesce(orders_per_day.valid_orders, 0) as valid_orders,
        cast(coalesce(orders_per_day.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
        cast(coalesce(orders_per_day.discounts, 0) as decimal(18, 2)) as discounts,
        cast(coalesce(orders_per_day.refunds, 0) as decimal(18, 2)) as refunds,
        cast(coalesce(orders_per_day.gross_revenue, 0) - coalesce(orders_per_day.refunds, 0) as decimal(18, 2))
            as net_revenue,
        cast(coalesce(orders_per_day.paid_revenue, 0) as decimal(18, 2)) as paid_revenue,
        cast(
            case
                when orders_per_day.valid_orders > 0
                    then orders_per_day.gross_revenue / orders_per_day.valid_orders
            end as decimal(18, 2)
        ) as average_order_value,
        coalesce(orders_per_day.units_sold, 0) as units_sold,
        coalesce(orders_per_day.guest_orders, 0) as guest_orders,
        coalesce(orders_per_day.new_customers, 0) as new_customers,
        coalesce(orders_per_day.returning_customers, 0) as returning_customers,
        coalesce(orders_per_day.active_customers, 0) as active_customers,
        coalesce(payments_per_day.payment_attempts, 0) as payment_attempts,
        cast(
            case
                when payments_per_day.captured_attempts + payments_per_day.failed_attempts > 0
                    then
                        1.0 * payments_per_day.captured_attempts
                        / (payments_per_day.captured_attempts + payments_per_day.failed_attempts)
            end as decimal(9, 6)
        ) as payment_success_rate,
        cast(
            case
                when orders_per_day.paid_revenue > 0
                    then orders_per_day.refunds / orders_per_day.paid_revenue
            end as decimal(9, 6)
        ) as refund_rate,
        coalesce(
            greatest(orders_per_day.source_loaded_at, payments_per_day.source_loaded_at),
            orders_per_day.source_loaded_at,
            payments_per_day.source_loaded_at
        ) as source_loaded_at
    from days
    left join orders_per_day
        on days.date_day = orders_per_day.date_day
    left join payments_per_day
        on days.date_day = payments_per_day.date_day

)

select * from final
