-- Raw row counts against staged keys: every distinct key in a raw table is exactly one staged row, so the
-- change feed is collapsed without losing or inventing keys. One row per entity that does not match.
{%- set feeds = [
    ('customers', source('shop', 'customers'), ref('stg_shop__customers'), 'customer_id'),
    ('products', source('shop', 'products'), ref('stg_shop__products'), 'product_id'),
    ('orders', source('shop', 'orders'), ref('stg_shop__orders'), 'order_id'),
    ('order_items', source('shop', 'order_items'), ref('stg_shop__order_items'), 'order_item_id'),
    ('payments', source('payments', 'payments'), ref('stg_payments__payments'), 'payment_id'),
] %}

with

counts as (

    {% for entity, raw_table, staged_model, key in feeds %}
    select
        '{{ entity }}' as entity,
        (select count(distinct {{ key }}) from {{ raw_table }}) as raw_keys,
        (select count(*) from {{ staged_model }}) as staged_rows
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    entity,
    raw_keys,
    staged_rows
from counts
where raw_keys <> staged_rows
