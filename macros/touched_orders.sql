{% macro touched_orders(relation) -%}
    {#- For an incremental fact: the order_ids with any staged order, order line or payment row loaded
        after the newest `source_loaded_at` already in `relation`, less var('lookback_hours'). Every row a
        load adds or changes is loaded after what the fact holds, so rebuilding these orders brings the
        fact to what a full refresh would build; the lookback is a margin for clock skew between loads. -#}
    {%- set cutoff -%}
        (select {{ dbt.dateadd('hour', -var('lookback_hours'), 'max(source_loaded_at)') }} from {{ relation }})
    {%- endset %}
    select order_id from {{ ref('stg_shop__orders') }} where loaded_at > {{ cutoff }}
    union
    select order_id from {{ ref('stg_shop__order_items') }} where loaded_at > {{ cutoff }}
    union
    select order_id from {{ ref('stg_payments__payments') }} where loaded_at > {{ cutoff }}
{%- endmacro %}


{% macro in_touched_orders(column, relation) -%}
    {#- A filter on an order_id column: the orders touched_orders(relation) returns, and, as a range a scan
        can prune on, none below the lowest of them (order ids are issued in order, so the row groups of
        old loads are skipped unread). -#}
    {{ column }} in ({{ touched_orders(relation) }})
    and {{ column }} >= (select min(touched.order_id) from ({{ touched_orders(relation) }}) as touched)
{%- endmacro %}
