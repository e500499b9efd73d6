{{ config(unique_key='product_id') }}

with

source as (

    select * from {{ source('shop', 'products') }}
    {{ changed_keys(source('shop', 'products'), 'product_id') }}

),

latest as (

    {{ latest_row_per_key('source', 'product_id') }}

),

final as (

    select
        product_id,
        sku,
        product_name,
        coalesce(category, 'Uncategorised') as category,
        unit_price,
        upper(currency) as currency,
        is_active,
        created_at,
        updated_at,
        _loaded_at as loaded_at
    from latest

)

select * from final
