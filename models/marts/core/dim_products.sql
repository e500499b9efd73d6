with

products as (

    select * from {{ ref('stg_shop__products') }}

),

order_items as (

    select * from {{ ref('stg_shop__order_items') }}

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

final as (

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

)

select * from final
