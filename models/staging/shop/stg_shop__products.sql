{{ config(unique_key='product_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the keys with a raw row loaded since the watermark.
    select product_id from {{ source('shop', 'products') }}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}

),
{% endif %}

source as (

    select * from {{ source('shop', 'products') }}
    {% if is_incremental() %}
    -- Every raw version of those keys, so the latest (and an erasure) is chosen among all of them. Keys
    -- are issued in order: the range lets the scan skip the row groups of old loads unread.
    where
        product_id in (select changed_keys.product_id from changed_keys)
        and product_id >= (select min(changed_keys.product_id) from changed_keys)
    {% endif %}

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
