{% snapshot snap_customers %}

{{
    config(
        unique_key='customer_id',
        strategy='check',
        check_cols=['country_code', 'city', 'is_marketing_opt_in', 'is_erased'],
    )
}}

-- Attribute history without personal data: names, email (even hashed), phone and postal code are never
-- snapshotted, so an erasure has nothing to remove here.
select
    customer_id,
    country_code,
    city,
    is_marketing_opt_in,
    is_erased,
    updated_at,
    loaded_at
from {{ ref('stg_shop__customers') }}
-- Only the rows loaded since the watermark are compared (all on the first run); a row left out stays
-- as it is: hard_deletes is the default, ignore.
where loaded_at > {{ incremental_watermark('loaded_at') }}

{% endsnapshot %}
