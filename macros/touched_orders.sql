{% macro touched_orders(relation) -%}
    {#- For an incremental fact: the order_ids with any staged order, order line or payment row loaded
        after the newest `source_loaded_at` already in `relation`, less var('lookback_hours'), and those
        whose order or payments fall on a day whose exchange rate was loaded since (a late or corrected
        rate). Every row a load adds or changes is loaded after what the fact holds, so rebuilding these
        orders brings the fact to what a full refresh would build; the lookback is a margin for clock
        skew between loads. -#}
    {%- set cutoff = lookback_cutoff(relation) %}
    select order_id from {{ ref('stg_shop__orders') }} where loaded_at > {{ cutoff }}
    union
    select order_id from {{ ref('stg_shop__order_items') }} where loaded_at > {{ cutoff }}
    union
    select order_id from {{ ref('stg_payments__payments') }} where loaded_at > {{ cutoff }}
    union
    select orders.order_id
    from {{ ref('stg_shop__orders') }} as orders
    inner join {{ ref('int_fx_rates__daily') }} as rates
        on orders.currency = rates.currency and orders.ordered_date = rates.date_day
    where rates.loaded_at > {{ cutoff }}
    union
    select payments.order_id
    from {{ ref('stg_payments__payments') }} as payments
    inner join {{ ref('int_fx_rates__daily') }} as rates
        on payments.currency = rates.currency and payments.created_date = rates.date_day
    where rates.loaded_at > {{ cutoff }}
{%- endmacro %}
