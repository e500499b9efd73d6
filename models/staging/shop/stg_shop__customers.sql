{{ config(unique_key='customer_id') }}

with

source as (

    select * from {{ source('shop', 'customers') }}
    {{ changed_keys(source('shop', 'customers'), 'customer_id') }}

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
