-- kpi_daily's gross revenue, summed over all days, equals the total of valid orders in fct_orders, in
-- cents (see assert_payments_reconcile_with_orders_and_kpi_daily).
with

orders as (

    select round(coalesce(sum(total_amount_reporting), 0), 2) as revenue
    from {{ ref('fct_orders') }}
    where is_valid_order

),

kpi as (

    select round(coalesce(sum(gross_revenue), 0), 2) as revenue
    from {{ ref('kpi_daily') }}

),

final as (

    select
        orders.revenue as orders_revenue,
        kpi.revenue as kpi_revenue
    from orders
    cross join kpi
    where orders.revenue <> kpi.revenue

)

select * from final
