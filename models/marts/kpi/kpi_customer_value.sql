with

customers as (

    select * from {{ ref('dim_customers') }}

),

as_of as (

    -- Recency is measured from the last day with orders, not from today, so a rebuild of old data
    -- gives the same segments.
    select max({{ utc_date('last_ordered_at') }}) as as_of_date
    from customers

),

measured as (

    select
        customers.customer_id,
        customers.cohort_month,
        cast({{ dbt.datediff(utc_date('customers.last_ordered_at'), 'as_of.as_of_date', 'day') }} as integer)
            as recency_days,
        customers.lifetime_valid_orders as frequency,
        customers.lifetime_revenue_reporting as monetary
    from customers
    cross join as_of
    -- Guest checkouts have no value of their own: each may be a different person.
    where
        customers.lifetime_valid_orders > 0
        and not customers.is_guest

),

scored as (

    select
        *,
        cast(ntile(5) over (order by recency_days desc, customer_id asc) as integer) as recency_score,
        cast(ntile(5) over (order by frequency asc, customer_id asc) as integer) as frequency_score,
        cast(ntile(5) over (order by monetary asc, customer_id asc) as integer) as monetary_score
    from measured

),

final as (

    select
        customer_id,
        cohort_month,
        recency_days,
        frequency,
        monetary,
        recency_score,
        frequency_score,
        monetary_score,
        case
            when recency_score >= 4 and frequency_score >= 4 then 'champions'
            when recency_score >= 3 and frequency_score >= 3 then 'loyal'
            when recency_score >= 4 then 'new_or_promising'
            when recency_score = 2 or (recency_score <= 2 and frequency_score >= 3) then 'at_risk'
            else 'hibernating'
        end as rfm_segment,
        cast(monetary / frequency as decimal(18, 2)) as average_order_value,
        monetary as lifetime_value
    from scored

)

select * from final
