-- kpi_daily's gross revenue, summed over all days, equals the total of valid orders in fct_orders.
with

orders as (

    select sum(total_amount_reporting) as revenue
    from {{ ref('fct_orders') }}
    where is_valid_order

),

kpi as (

    select sum(gross_revenue) as revenue
    from {{ ref('kpi_daily') }}

),

final as (

    select
        orders.revenue as orders_revenue,
        kpi.revenue as kpi_revenue
    from orders
    cross join kpi
    where coalesce(orders.revenue, 0) <> coalesce(kpi.revenue, 0)

)

select * from final
