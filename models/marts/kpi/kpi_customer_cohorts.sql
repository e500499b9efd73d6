with

orders as (

    select
        *,
        cast({{ dbt.date_trunc('month', 'ordered_date') }} as date) as order_month
    from {{ ref('fct_orders') }}
    -- Guest checkouts belong to no cohort: each may be a different person.
    where
        is_valid_order
        and not is_guest_order

),

customers as (

    select * from {{ ref('dim_customers') }}

),

customer_months as (

    select
        orders.customer_id,
        customers.cohort_month,
        orders.order_month,
        sum(orders.total_amount_reporting) as revenue
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    group by orders.customer_id, customers.cohort_month, orders.order_month

),

cohort_sizes as (

    select
        cohort_month,
        count(*) as cohort_customers
    from customers
    where cohort_month is not null
    group by cohort_month

),

activity as (

    select
        cohort_month,
        cast({{ dbt.datediff('cohort_month', 'order_month', 'month') }} as integer) as months_since_first_order,
        count(distinct customer_id) as active_customers,
        sum(revenue) as revenue
    from customer_months
    group by cohort_month, order_month

),

final as (

    select
        activity.cohort_month,
        activity.months_since_first_order,
        cohort_sizes.cohort_customers,
        activity.active_customers,
        cast(1.0 * activity.active_customers / cohort_sizes.cohort_customers as decimal(9, 6)) as retention_rate,
        cast(activity.revenue as decimal(18, 2)) as revenue,
        cast(
            sum(activity.revenue) over (
                partition by activity.cohort_month
                order by activity.months_since_first_order
                rows between unbounded preceding and current row
            ) / cohort_sizes.cohort_customers as decimal(18, 2)
        ) as cumulative_revenue_per_customer
    from activity
    inner join cohort_sizes
        on activity.cohort_month = cohort_sizes.cohort_month

)

select * from final
