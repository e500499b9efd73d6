{% snapshot snap_orders %}

{{
    config(
        unique_key='order_id',
        strategy='timestamp',
        updated_at='updated_at',
    )
}}

-- Order status history: one row per version, valid from the version's updated_at.
select
    order_id,
    customer_id,
    order_status,
    total_amount,
    currency,
    ordered_at,
    updated_at,
    loaded_at
from {{ ref('stg_shop__orders') }}
-- Only the rows loaded since the watermark are compared (all on the first run); a row left out stays
-- as it is: hard_deletes is the default, ignore.
where loaded_at > {{ incremental_watermark('loaded_at') }}

{% endsnapshot %}
