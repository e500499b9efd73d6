{{ config(dist='order_id', sort=['created_date']) }}

{#- A table rebuilt each run: reviews are a small share of orders, and their order's delivery (which may be
    exported after the review) and withdrawals change old rows. -#}

with

reviews as (

    select * from {{ ref('stg_shop__reviews') }}
    where not is_deleted

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

final as (

    select
        reviews.review_id,
        reviews.order_id,
        reviews.product_id,
        reviews.customer_id,
        cast(reviews.rating as integer) as rating,
        reviews.rating <= 2 as is_low_rating,
        reviews.created_at,
        reviews.created_date,
        reviews.answered_at,
        reviews.answered_at is not null as is_answered,
        cast(
            {{ dbt.datediff('reviews.created_at', 'reviews.answered_at', 'minute') }} / 60.0 as decimal(18, 2)
        ) as hours_to_answer,
        orders.ordered_at,
        orders.delivered_at,
        cast(
            {{ dbt.datediff('orders.ordered_at', 'orders.delivered_at', 'minute') }} / 1440.0 as decimal(18, 2)
        ) as days_to_delivery,
        {%- set promised_by = dbt.dateadd('day', var('delivery_promise_days'), 'orders.ordered_at') %}
        case
            when orders.delivered_at is null then null
            when orders.delivered_at > {{ promised_by }} then true
            else false
        end as is_late_delivery,
        reviews.updated_at,
        reviews.loaded_at as source_loaded_at
    from reviews
    left join orders
        on reviews.order_id = orders.order_id

)

select * from final
