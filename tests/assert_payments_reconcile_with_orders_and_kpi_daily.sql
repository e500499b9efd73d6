-- Money reconciles across the star schema: what the payments fact captured equals the paid amount the
-- orders fact shows, equals the paid revenue kpi_daily reports (reporting currency, to the cent).
-- Returns a row, and fails, when any of the three differs.
with

payments as (

    select sum(amount_reporting) as captured
    from {{ ref('fct_payments') }}
    where is_captured

),

orders as (

    select sum(paid_amount_reporting) as paid
    from {{ ref('fct_orders') }}

),

kpi as (

    select sum(paid_revenue) as paid_revenue
    from {{ ref('kpi_daily') }}

),

final as (

    select
        payments.captured,
        orders.paid,
        kpi.paid_revenue
    from payments
    cross join orders
    cross join kpi
    where
        coalesce(payments.captured, 0) <> coalesce(orders.paid, 0)
        or coalesce(orders.paid, 0) <> coalesce(kpi.paid_revenue, 0)

)

select * from final
