{{ config(unique_key='order_item_id') }}

with

source as (

    select * from {{ source('shop', 'order_items') }}
    {{ changed_keys(source('shop', 'order_items'), 'order_item_id') }}

),

latest as (

    {{ latest_row_per_key('source', 'order_item_id') }}

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        cast(quantity * unit_price - discount_amount as decimal(18, 2)) as line_amount,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from final
