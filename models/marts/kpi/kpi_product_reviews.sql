{#- A table rebuilt each run: reviews are few, and a withdrawal or a late delivery export changes old days. -#}

with

reviews as (

    select * from {{ ref('fct_reviews') }}
    where product_id is not null

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where delivered_at is not null

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

delivered as (

    -- Orders delivered each day with the product in them: what the review rate is measured against.
    select
        {{ utc_date('orders.delivered_at') }} as date_day,
        order_items.product_id,
        count(distinct orders.order_id) as delivered_orders
    from orders
    inner join order_items
        on orders.order_id = order_items.order_id
    group by {{ utc_date('orders.delivered_at') }}, order_items.product_id

),

reviewed as (

    -- The median time to answer is the middle answered review's own (the lower one of an even count): an
    -- exact value on every warehouse, where an interpolated median rounds apart.
    select
        created_date as date_day,
        product_id,
        count(*) as reviews,
        sum(rating) as rating_total,
        sum(case when is_low_rating then 1 else 0 end) as low_rating_reviews,
        sum(case when is_answered then 1 else 0 end) as answered_reviews,
        percentile_disc(0.5) within group (order by hours_to_answer) as median_hours_to_answer,
        -- a review whose order's delivery is unknown is neither on time nor late
        sum(case when not is_late_delivery then 1 else 0 end) as on_time_reviews,
        sum(case when not is_late_delivery then rating else 0 end) as on_time_rating_total,
        sum(case when is_late_delivery then 1 else 0 end) as late_reviews,
        sum(case when is_late_delivery then rating else 0 end) as late_rating_total
    from reviews
    group by created_date, product_id

),

days_and_products as (

    select
        date_day,
        product_id
    from reviewed

    union

    select
        date_day,
        product_id
    from delivered

),

final as (

    select
        days_and_products.date_day,
        days_and_products.product_id,
        cast(coalesce(reviewed.reviews, 0) as bigint) as reviews,
        cast(coalesce(reviewed.rating_total, 0) as bigint) as rating_total,
        cast(reviewed.rating_total * 1.0 / nullif(reviewed.reviews, 0) as decimal(18, 2)) as average_rating,
        cast(coalesce(reviewed.low_rating_reviews, 0) as bigint) as low_rating_reviews,
        cast(reviewed.low_rating_reviews * 1.0 / nullif(reviewed.reviews, 0) as decimal(18, 4)) as low_rating_share,
        cast(coalesce(delivered.delivered_orders, 0) as bigint) as delivered_orders,
        cast(
            coalesce(reviewed.reviews, 0) * 1.0 / nullif(delivered.delivered_orders, 0) as decimal(18, 4)
        ) as review_rate,
        cast(coalesce(reviewed.answered_reviews, 0) as bigint) as answered_reviews,
        cast(reviewed.median_hours_to_answer as decimal(18, 2)) as median_hours_to_answer,
        cast(coalesce(reviewed.on_time_reviews, 0) as bigint) as on_time_reviews,
        cast(coalesce(reviewed.on_time_rating_total, 0) as bigint) as on_time_rating_total,
        cast(
            reviewed.on_time_rating_total * 1.0 / nullif(reviewed.on_time_reviews, 0) as decimal(18, 2)
        ) as on_time_average_rating,
        cast(coalesce(reviewed.late_reviews, 0) as bigint) as late_reviews,
        cast(coalesce(reviewed.late_rating_total, 0) as bigint) as late_rating_total,
        cast(reviewed.late_rating_total * 1.0 / nullif(reviewed.late_reviews, 0) as decimal(18, 2))
            as late_average_rating
    from days_and_products
    left join reviewed
        on
            days_and_products.date_day = reviewed.date_day
            and days_and_products.product_id = reviewed.product_id
    left join delivered
        on
            days_and_products.date_day = delivered.date_day
            and days_and_products.product_id = delivered.product_id

)

select * from final
