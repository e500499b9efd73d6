with

products as (

    select * from {{ ref('stg_shop__products') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

),

reviews as (

    select * from {{ ref('stg_shop__reviews') }}
    where
        not is_deleted
        and product_id is not null

),

ratings as (

    select
        product_id,
        cast(count(*) as integer) as rating_count,
        cast(avg(rating * 1.0) as decimal(18, 2)) as average_rating
    from reviews
    group by product_id

),

unlanded as (

    -- Products an order line names before their own row has landed: kept as placeholders, so every
    -- order line has its product, and filled in once the row arrives.
    select distinct order_items.product_id
    from order_items
    left join products
        on order_items.product_id = products.product_id
    where products.product_id is null

),

products_and_placeholders as (

    select
        product_id,
        sku,
        product_name,
        category,
        unit_price,
        currency,
        is_active,
        false as is_placeholder,
        created_at,
        updated_at
    from products

    union all

    select
        product_id,
        null as sku,
        'Unknown product' as product_name,
        'Uncategorised' as category,
        null as unit_price,
        null as currency,
        null as is_active,
        true as is_placeholder,
        null as created_at,
        null as updated_at
    from unlanded

),

final as (

    select
        products_and_placeholders.*,
        coalesce(ratings.rating_count, 0) as rating_count,
        ratings.average_rating
    from products_and_placeholders
    left join ratings
        on products_and_placeholders.product_id = ratings.product_id

)

select * from final
