{#- A table rebuilt each run from fct_sessions: a late event that merges two sessions, or an order that
    lands after its session, changes days already reported. -#}

with

sessions as (

    select * from {{ ref('fct_sessions') }}

),

reached as (

    -- The furthest step each session reached: a later step implies the earlier ones (an order page
    -- without a logged checkout still checked out), so every step rate lies between 0 and 1.
    select
        session_date,
        channel,
        device,
        is_converted as reached_order,
        is_converted or checkouts > 0 as reached_checkout,
        is_converted or checkouts > 0 or add_to_carts > 0 as reached_add_to_cart,
        is_converted or checkouts > 0 or add_to_carts > 0 or product_views > 0 as reached_product_view,
        orders,
        revenue
    from sessions

),

counted as (

    select
        session_date as date_day,
        channel,
        device,
        count(*) as sessions,
        cast(sum(case when reached_product_view then 1 else 0 end) as bigint) as product_view_sessions,
        cast(sum(case when reached_add_to_cart then 1 else 0 end) as bigint) as add_to_cart_sessions,
        cast(sum(case when reached_checkout then 1 else 0 end) as bigint) as checkout_sessions,
        cast(sum(case when reached_order then 1 else 0 end) as bigint) as ordered_sessions,
        cast(sum(orders) as bigint) as orders,
        sum(revenue) as revenue
    from reached
    group by session_date, channel, device

),

final as (

    select
        date_day,
        channel,
        device,
        cast(sessions as bigint) as sessions,
        product_view_sessions,
        add_to_cart_sessions,
        checkout_sessions,
        ordered_sessions,
        orders,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(product_view_sessions * 1.0 / nullif(sessions, 0) as decimal(18, 4)) as product_view_rate,
        cast(add_to_cart_sessions * 1.0 / nullif(product_view_sessions, 0) as decimal(18, 4)) as add_to_cart_rate,
        cast(checkout_sessions * 1.0 / nullif(add_to_cart_sessions, 0) as decimal(18, 4)) as checkout_rate,
        cast(ordered_sessions * 1.0 / nullif(checkout_sessions, 0) as decimal(18, 4)) as order_rate,
        cast(ordered_sessions * 1.0 / nullif(sessions, 0) as decimal(18, 4)) as conversion_rate
    from counted

)

select * from final
