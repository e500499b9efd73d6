-- Money reconciles across the star schema: what the payments fact captured equals the paid amount the
-- orders fact shows, equals the paid revenue kpi_daily reports (reporting currency, to the cent).
-- Returns a row, and fails, when any of the three differs. Sums are compared in cents (rounded to 2
-- places): exact on every warehouse, and on an emulator that sums decimals as floating point too.
with

payments as (

    select round(coalesce(sum(amount_reporting), 0), 2) as captured
    from {{ ref('fct_payments') }}
    where is_captured

),

orders as (

    select round(coalesce(sum(paid_amount_reporting), 0), 2) as paid
    from {{ ref('fct_orders') }}

),

kpi as (

    select round(coalesce(sum(paid_revenue), 0), 2) as paid_revenue
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
        payments.captured <> orders.paid
        or orders.paid <> kpi.paid_revenue

)

select * from final
