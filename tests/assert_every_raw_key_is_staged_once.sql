-- Raw keys against staged keys: every key in a raw table is exactly one staged row, and every staged row's
-- key is in raw, so the change feed is collapsed without losing, doubling or inventing keys. One row per
-- entity that does not match. In the daily run's scope (var test_scope = recent) the keys loaded within
-- the lookback of the raw table's newest row are checked, with every staged row of those keys and every
-- staged row loaded in that window (a staged row carries its raw row's load time); otherwise all keys.
{%- set feeds = [
    ('customers', source('shop', 'customers'), ref('stg_shop__customers'), 'customer_id'),
    ('products', source('shop', 'products'), ref('stg_shop__products'), 'product_id'),
    ('orders', source('shop', 'orders'), ref('stg_shop__orders'), 'order_id'),
    ('order_items', source('shop', 'order_items'), ref('stg_shop__order_items'), 'order_item_id'),
    ('payments', source('payments', 'payments'), ref('stg_payments__payments'), 'payment_id'),
] %}

with

{% for entity, raw_table, staged_model, key in feeds %}
-- Each CTE is read once (a CTE read twice is materialised whole by some engines): at scale both sides
-- hold millions of keys.
{{ entity }}_raw_keys as (

    select distinct raw_rows.{{ key }} as key_value
    from {{ recent_rows(raw_table, '_loaded_at') }} as raw_rows

),

{{ entity }}_staged as (

    select
        {{ key }} as key_value,
        count(*) as staged_rows
    from {{ staged_model }}
    {% if var('test_scope', 'all') == 'recent' %}
    where
        loaded_at > {{ incremental_watermark('_loaded_at', raw_table) }}
        or {{ key }} in (
            select raw_rows.{{ key }}
            from {{ recent_rows(raw_table, '_loaded_at') }} as raw_rows
        )
    {% endif %}
    group by {{ key }}

),

{{ entity }}_compared as (

    select
        '{{ entity }}' as entity,
        count(case when {{ entity }}_staged.key_value is null then 1 end) as lost_keys,
        count(case when {{ entity }}_staged.staged_rows > 1 then 1 end) as doubled_keys,
        count(case when {{ entity }}_raw_keys.key_value is null then 1 end) as invented_keys
    from {{ entity }}_raw_keys
    full outer join {{ entity }}_staged
        on {{ entity }}_raw_keys.key_value = {{ entity }}_staged.key_value

),

{% endfor %}
final as (

    {% for entity, raw_table, staged_model, key in feeds %}
    select * from {{ entity }}_compared
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select *
from final
where lost_keys + doubled_keys + invented_keys > 0
