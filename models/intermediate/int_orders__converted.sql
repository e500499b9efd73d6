with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

rates as (

    select * from {{ ref('int_fx_rates__daily') }}

),

final as (

    select
        orders.order_id,
        -- Guest checkouts have no customer: they all join the one guest member of dim_customers.
        coalesce(orders.customer_id, '{{ var("guest_customer_id") }}') as customer_id,
        orders.is_guest_order,
        orders.order_status,
        orders.is_valid_order,
        orders.channel,
        orders.channel_group,
        orders.currency,
        orders.subtotal_amount,
        orders.discount_amount,
        orders.shipping_amount,
        orders.tax_amount,
        orders.total_amount,
        rates.reporting_rate,
        {{ to_reporting_currency('orders.subtotal_amount', 'rates.reporting_rate') }} as subtotal_amount_reporting,
        {{ to_reporting_currency('orders.discount_amount', 'rates.reporting_rate') }} as discount_amount_reporting,
        {{ to_reporting_currency('orders.total_amount', 'rates.reporting_rate') }} as total_amount_reporting,
        orders.ordered_at,
        orders.ordered_date,
        orders.updated_at,
        orders.loaded_at,
        rates.loaded_at as rate_loaded_at
    from orders
    -- A left join: an order without a rate for its day keeps its place, and a test names the gap.
    left join rates
        on
            orders.currency = rates.currency
            and orders.ordered_date = rates.date_day

)

select * from final
