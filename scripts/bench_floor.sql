-- The benchmark's floor: kpi_daily computed by hand, in one DuckDB script, straight from the raw CSV files
-- of the history ({landing}, up to {last_day}) and the seeds, with the pipeline's semantics: the latest
-- version of each row, statuses from the seeds, each amount converted at its own day's landed rate (the
-- latest on or before it) and rounded to the cent, first orders, guest checkouts in no customer count.
-- No validation, lineage, ledger, tests or intermediate tables: what the engine needs, and no more.
create or replace table floor_kpi_daily as
with

raw_orders as (
    select * from read_csv('{landing}/raw/orders/*/*.csv', filename = true, hive_partitioning = true)
    where "date" <= date '{last_day}'
),

raw_items as (
    select * from read_csv('{landing}/raw/order_items/*/*.csv', filename = true, hive_partitioning = true)
    where "date" <= date '{last_day}'
),

raw_payments as (
    select * from read_csv('{landing}/raw/payments/*/*.csv', filename = true, hive_partitioning = true)
    where "date" <= date '{last_day}'
),

raw_rates as (
    select * from read_csv('{landing}/raw/fx_rates/*/*.csv', filename = true, hive_partitioning = true)
    where "date" <= date '{last_day}'
),

rates as (
    -- reporting in USD: a rate is the dollars per unit; the dollar is 1
    select upper(currency) as currency, cast(rate_date as date) as rate_date,
        cast(usd_per_unit as decimal(18, 8)) as rate
    from raw_rates
    qualify row_number() over (
        partition by upper(currency), cast(rate_date as date)
        order by cast(updated_at as timestamptz) desc, filename desc
    ) = 1
    union all
    select 'USD', date '1900-01-01', 1
),

order_statuses as (
    select order_status, is_valid_order from read_csv('{seeds}/order_statuses.csv')
),

payment_statuses as (
    select payment_status, is_captured, is_failed from read_csv('{seeds}/payment_statuses.csv')
),

orders as (
    select
        o.order_id,
        o.customer_id,
        o.customer_id is null as is_guest,
        s.is_valid_order,
        o.ordered_at,
        o.ordered_date,
        cast(round(cast(o.total_amount as decimal(18, 2)) * r.rate, 2) as decimal(18, 2)) as total_reporting,
        cast(round(cast(o.discount_amount as decimal(18, 2)) * r.rate, 2) as decimal(18, 2)) as discount_reporting
    from (
        select *, cast(timezone('UTC', cast(ordered_at as timestamptz)) as date) as ordered_date
        from raw_orders
        qualify row_number() over (
            partition by order_id order by cast(updated_at as timestamptz) desc, filename desc
        ) = 1
    ) as o
    asof left join rates as r on upper(o.currency) = r.currency and o.ordered_date >= r.rate_date
    left join order_statuses as s on lower(trim(o.order_status)) = s.order_status
),

items_per_order as (
    select order_id, sum(quantity) as item_count
    from (
        select order_id, quantity
        from raw_items
        qualify row_number() over (
            partition by order_item_id order by cast(updated_at as timestamptz) desc, filename desc
        ) = 1
    )
    group by order_id
),

payments as (
    select
        p.order_id,
        s.is_captured,
        s.is_failed,
        p.created_date,
        cast(round(cast(p.amount as decimal(18, 2)) * r.rate, 2) as decimal(18, 2)) as amount_reporting,
        cast(round(cast(coalesce(p.refunded_amount, 0) as decimal(18, 2)) * r.rate, 2) as decimal(18, 2))
            as refunded_reporting
    from (
        select *, cast(timezone('UTC', cast(created_at as timestamptz)) as date) as created_date
        from raw_payments
        qualify row_number() over (
            partition by payment_id order by cast(updated_at as timestamptz) desc, filename desc
        ) = 1
    ) as p
    asof left join rates as r on upper(p.currency) = r.currency and p.created_date >= r.rate_date
    left join payment_statuses as s on lower(trim(p.payment_status)) = s.payment_status
),

payments_per_order as (
    select
        order_id,
        sum(case when is_captured then amount_reporting else 0 end) as paid,
        sum(refunded_reporting) as refunded
    from payments
    group by order_id
),

numbered as (
    select
        orders.*,
        not is_guest and row_number() over (partition by customer_id order by ordered_at, order_id) = 1
            as is_first_order,
        coalesce(items_per_order.item_count, 0) as item_count,
        coalesce(payments_per_order.paid, 0) as paid,
        coalesce(payments_per_order.refunded, 0) as refunded
    from orders
    left join items_per_order using (order_id)
    left join payments_per_order using (order_id)
),

orders_per_day as (
    select
        ordered_date as date_day,
        count(*) as orders_placed,
        cast(sum(case when is_valid_order then 1 else 0 end) as bigint) as valid_orders,
        sum(case when is_valid_order then total_reporting else 0 end) as gross_revenue,
        sum(case when is_valid_order then discount_reporting else 0 end) as discounts,
        sum(refunded) as refunds,
        sum(paid) as paid_revenue,
        cast(sum(case when is_valid_order then item_count else 0 end) as bigint) as units_sold,
        cast(sum(case when is_valid_order and is_guest then 1 else 0 end) as bigint) as guest_orders,
        count(distinct case when is_first_order then customer_id end) as new_customers,
        count(distinct case when not is_first_order and not is_guest then customer_id end) as returning_customers,
        count(distinct case when not is_guest then customer_id end) as active_customers
    from numbered
    group by ordered_date
),

payments_per_day as (
    -- a payment whose order has not landed yet waits for it, as in fct_payments
    select
        payments.created_date as date_day,
        count(*) as payment_attempts,
        sum(case when payments.is_captured then 1 else 0 end) as captured,
        sum(case when payments.is_failed then 1 else 0 end) as failed
    from payments
    semi join orders on payments.order_id = orders.order_id
    group by payments.created_date
),

days as (
    select cast(range as date) as date_day
    from range(
        (select min(date_day) from orders_per_day),
        (select max(date_day) from orders_per_day) + interval 1 day,
        interval 1 day
    )
)

select
    days.date_day,
    coalesce(o.orders_placed, 0) as orders_placed,
    coalesce(o.valid_orders, 0) as valid_orders,
    cast(coalesce(o.gross_revenue, 0) as decimal(18, 2)) as gross_revenue,
    cast(coalesce(o.discounts, 0) as decimal(18, 2)) as discounts,
    cast(coalesce(o.refunds, 0) as decimal(18, 2)) as refunds,
    cast(coalesce(o.gross_revenue, 0) - coalesce(o.refunds, 0) as decimal(18, 2)) as net_revenue,
    cast(coalesce(o.paid_revenue, 0) as decimal(18, 2)) as paid_revenue,
    cast(case when o.valid_orders > 0 then o.gross_revenue / o.valid_orders end as decimal(18, 2))
        as average_order_value,
    coalesce(o.units_sold, 0) as units_sold,
    coalesce(o.guest_orders, 0) as guest_orders,
    coalesce(o.new_customers, 0) as new_customers,
    coalesce(o.returning_customers, 0) as returning_customers,
    coalesce(o.active_customers, 0) as active_customers,
    coalesce(p.payment_attempts, 0) as payment_attempts,
    cast(case when p.captured + p.failed > 0 then 1.0 * p.captured / (p.captured + p.failed) end as decimal(9, 6))
        as payment_success_rate,
    cast(case when o.paid_revenue > 0 then o.refunds / o.paid_revenue end as decimal(9, 6)) as refund_rate
from days
left join orders_per_day as o on days.date_day = o.date_day
left join payments_per_day as p on days.date_day = p.date_day;
