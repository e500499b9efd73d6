{{ config(unique_key='order_item_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the keys with a raw row loaded since the watermark.
    select order_item_id from {{ source('shop', 'order_items') }}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}

),
{% endif %}

source as (

    select * from {{ source('shop', 'order_items') }}
    {% if is_incremental() %}
    -- Every raw version of those keys, so the latest (and an erasure) is chosen among all of them. Keys
    -- are issued in order: the range lets the scan skip the row groups of old loads unread.
    where
        order_item_id in (select changed_keys.order_item_id from changed_keys)
        and order_item_id >= (select min(changed_keys.order_item_id) from changed_keys)
    {% endif %}

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
