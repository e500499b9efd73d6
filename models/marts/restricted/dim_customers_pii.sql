with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

final as (

    select
        customer_id,
        email,
        {{ dbt.hash('email') }} as email_hash,
        first_name,
        last_name,
        phone,
        postal_code,
        is_erased,
        loaded_at
    from customers

)

select * from final
