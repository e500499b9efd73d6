{{ config(unique_key='customer_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the keys with a raw row loaded since the watermark.
    select customer_id from {{ source('shop', 'customers') }}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}

),
{% endif %}

source as (

    select * from {{ source('shop', 'customers') }}
    {% if is_incremental() %}
    -- Every raw version of those keys, so the latest (and an erasure) is chosen among all of them. Keys
    -- are issued in order: the range lets the scan skip the row groups of old loads unread.
    where
        customer_id in (select changed_keys.customer_id from changed_keys)
        and customer_id >= (select min(changed_keys.customer_id) from changed_keys)
    {% endif %}

),

erasures as (

    -- An erasure request is final: once any version of a customer asks for it, their personal data goes.
    select
        customer_id,
        max(case when is_deleted then 1 else 0 end) as is_erased
    from source
    group by customer_id

),

latest as (

    {{ latest_row_per_key('source', 'customer_id') }}

),

final as (

    select
        latest.customer_id,
        case when erasures.is_erased = 1 then null else lower(trim(latest.email)) end as email,
        case when erasures.is_erased = 1 then null else latest.first_name end as first_name,
        case when erasures.is_erased = 1 then null else latest.last_name end as last_name,
        case when erasures.is_erased = 1 then null else latest.phone end as phone,
        case when erasures.is_erased = 1 then null else latest.postal_code end as postal_code,
        upper(latest.country_code) as country_code,
        latest.city,
        coalesce(latest.marketing_opt_in, false) as is_marketing_opt_in,
        erasures.is_erased = 1 as is_erased,
        latest.created_at,
        latest.updated_at,
        latest._loaded_at as loaded_at
    from latest
    inner join erasures
        on latest.customer_id = erasures.customer_id

)

select * from final
